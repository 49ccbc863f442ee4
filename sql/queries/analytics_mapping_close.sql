-- Close the meter's open range at valid_to.
UPDATE smart_meter_mapping
SET valid = tstzrange(lower(valid), %(valid_to)s::timestamptz, '[)')
WHERE meter_id = %(meter_id)s AND upper_inf(valid) AND source = 'manual'
RETURNING meter_id, vehicle_id, lower(valid) AS valid_from, upper(valid) AS valid_to, created_at
