-- A meter's mapping ranges, newest first (an unbounded start is the oldest).
SELECT meter_id, vehicle_id, lower(valid) AS valid_from, upper(valid) AS valid_to, created_at
FROM smart_meter_mapping
WHERE meter_id = %(meter_id)s
ORDER BY lower(valid) DESC NULLS LAST
