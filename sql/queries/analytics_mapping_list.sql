-- A meter's mapping ranges, newest first (an unbounded start is the oldest): manual ones
-- and those derived from OCPP sessions (source 'ocpp', with the session's transaction).
SELECT m.meter_id, m.vehicle_id, lower(m.valid) AS valid_from, upper(m.valid) AS valid_to,
       m.created_at, m.source, c.transaction_id
FROM smart_meter_mapping m
LEFT JOIN charging_sessions c ON c.id = m.session_id
WHERE m.meter_id = %(meter_id)s
ORDER BY lower(m.valid) DESC NULLS LAST
