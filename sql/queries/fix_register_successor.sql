-- A stored register row's derived energy, corrected after its predecessor arrived late
-- (merge_meter_register.sql returns the rows; the rollups already took the difference).
-- Bound values: planned for the one partition of that day, an index lookup.
UPDATE meter_telemetry
SET kwh_consumed_ac = %(kwh)s
WHERE meter_id = %(meter_id)s AND ts = %(ts)s AND kwh_register_ac IS NOT NULL
