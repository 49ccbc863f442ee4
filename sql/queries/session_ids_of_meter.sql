-- The sessions of a meter (their derived mapping rows are recomputed around a manual change).
SELECT id FROM charging_sessions WHERE meter_id = %(meter_id)s ORDER BY id
