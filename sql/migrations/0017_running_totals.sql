-- Running totals in the hourly rollups: each row also holds its device's totals over all
-- its hours up to and including this one (kwh_through, samples_through), so that the
-- energy of any run of whole hours [a, b) is a difference of two rows of the device:
-- through(last row before b) - (through - own value)(first row at or after a). The fleet
-- ranking then reads two rows per device whatever the window's length, instead of one
-- per device and hour (docs/analytics-benchmark.md, "Running totals").
--
-- Only differences between two rows of one device mean something (the origin is the
-- device's first stored hour). The consumer keeps the invariant in each batch's
-- transaction (merge_meter.sql, merge_meter_register.sql, merge_vehicle.sql): a row's
-- through = the through of the device's previous row + its own value. A batch that adds
-- to an hour before the device's last stored hour (a late reading, or the earlier hour of
-- a batch that spans two) also adds to every later row of the device (rollup_through_*.sql).
-- Those are additions, like the rollups' own: they commute, and a device's batches are
-- serialised by its partition's stored offset (store_offset.sql) and, for registers, by
-- its advisory lock.
ALTER TABLE meter_hourly
    ADD COLUMN kwh_through     numeric NOT NULL DEFAULT 0,
    ADD COLUMN samples_through bigint  NOT NULL DEFAULT 0;
ALTER TABLE vehicle_hourly
    ADD COLUMN kwh_through     numeric NOT NULL DEFAULT 0,
    ADD COLUMN samples_through bigint  NOT NULL DEFAULT 0;

-- Backfill. The SHARE locks make a consumer that writes meanwhile wait for this
-- transaction; consumers older than this migration do not keep the totals: stop them,
-- migrate, then start the new ones (README.md, Operating it).
LOCK TABLE meter_hourly, vehicle_hourly IN SHARE MODE;

UPDATE meter_hourly h
SET kwh_through = r.kwh, samples_through = r.n
FROM (
    SELECT meter_id, hour,
           sum(kwh_consumed_ac) OVER (PARTITION BY meter_id ORDER BY hour) AS kwh,
           sum(samples) OVER (PARTITION BY meter_id ORDER BY hour) AS n
    FROM meter_hourly
) r
WHERE h.meter_id = r.meter_id AND h.hour = r.hour;

UPDATE vehicle_hourly h
SET kwh_through = r.kwh, samples_through = r.n
FROM (
    SELECT vehicle_id, hour,
           sum(kwh_delivered_dc) OVER (PARTITION BY vehicle_id ORDER BY hour) AS kwh,
           sum(samples) OVER (PARTITION BY vehicle_id ORDER BY hour) AS n
    FROM vehicle_hourly
) r
WHERE h.vehicle_id = r.vehicle_id AND h.hour = r.hour;
