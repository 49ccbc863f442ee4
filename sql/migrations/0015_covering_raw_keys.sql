-- The raw tables' primary keys carry the columns the analytics read at a window's edges,
-- so those reads are index-only scans. A window's partial hours are read from the raw
-- rows of one device (analytics_performance.sql; the fleet ranking and the sessions where
-- a mapping starts or ends inside an hour), and a device's rows of an hour lie on as many
-- heap pages as it has readings (every device's readings arrive interleaved): about 120
-- page reads per performance request, from disk when the history is larger than memory.
-- In the key, they are a leaf page or two per edge. Index-only scans need the visibility
-- map: a day's partition gets it from autovacuum once it is no longer written to (the
-- current day's rows are read from the heap as before).
--
-- INCLUDE columns are not key columns: the key, its uniqueness and ON CONFLICT (meter_id,
-- ts) are unchanged. Rebuilding a key rewrites the index of every partition under an
-- exclusive lock on the table: stop the consumers first (README.md, Operating it); it took
-- 2 min 34 s for 14 day partitions of 14.4 M readings each on two cores
-- (docs/analytics-benchmark.md).
SET LOCAL maintenance_work_mem = '256MB';

ALTER TABLE meter_telemetry DROP CONSTRAINT meter_telemetry_pkey;
ALTER TABLE meter_telemetry ADD CONSTRAINT meter_telemetry_pkey
    PRIMARY KEY (meter_id, ts) INCLUDE (kwh_consumed_ac);

ALTER TABLE vehicle_telemetry DROP CONSTRAINT vehicle_telemetry_pkey;
ALTER TABLE vehicle_telemetry ADD CONSTRAINT vehicle_telemetry_pkey
    PRIMARY KEY (vehicle_id, ts) INCLUDE (kwh_delivered_dc, battery_temp);
