-- Running totals in the hourly rollups: each row also holds its device's totals over all
-- its hours up to and including this one (kwh_through, samples_through and, for vehicles,
-- battery_temp_through), so that the
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
    ADD COLUMN kwh_through          numeric NOT NULL DEFAULT 0,
    ADD COLUMN samples_through      bigint  NOT NULL DEFAULT 0,
    ADD COLUMN battery_temp_through numeric NOT NULL DEFAULT 0;

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
SET kwh_through = r.kwh, samples_through = r.n, battery_temp_through = r.temp
FROM (
    SELECT vehicle_id, hour,
           sum(kwh_delivered_dc) OVER (PARTITION BY vehicle_id ORDER BY hour) AS kwh,
           sum(samples) OVER (PARTITION BY vehicle_id ORDER BY hour) AS n,
           sum(battery_temp_sum) OVER (PARTITION BY vehicle_id ORDER BY hour) AS temp
    FROM vehicle_hourly
) r
WHERE h.vehicle_id = r.vehicle_id AND h.hour = r.hour;

-- Compaction (0016) now writes a closed day's rows in hour order, the order the consumers
-- write them in: the fleet ranking reads one hour of every device (a few hundred pages in
-- this order, one page per device in device order), and a device's own reads take two
-- rows of a run of hours (its totals) instead of one per hour.
CREATE OR REPLACE FUNCTION compact_hourly_rollups(p_day date) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    lo timestamptz := p_day::timestamp AT TIME ZONE 'UTC';
    hi timestamptz := (p_day + 1)::timestamp AT TIME ZONE 'UTC';
    meters   integer;
    vehicles integer;
BEGIN
    IF hi > now() THEN
        RAISE EXCEPTION 'day % has not ended (UTC): only closed days are compacted', p_day
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('compact_hourly_rollups'), p_day - date '2000-01-01');
    IF EXISTS (SELECT FROM rollup_compactions WHERE day = p_day) THEN
        RETURN 0;
    END IF;
    WITH moved AS (
        DELETE FROM meter_hourly WHERE hour >= lo AND hour < hi RETURNING *
    )
    INSERT INTO meter_hourly SELECT * FROM moved ORDER BY hour, meter_id;
    GET DIAGNOSTICS meters = ROW_COUNT;
    WITH moved AS (
        DELETE FROM vehicle_hourly WHERE hour >= lo AND hour < hi RETURNING *
    )
    INSERT INTO vehicle_hourly SELECT * FROM moved ORDER BY hour, vehicle_id;
    GET DIAGNOSTICS vehicles = ROW_COUNT;
    INSERT INTO rollup_compactions (day, meter_rows, vehicle_rows) VALUES (p_day, meters, vehicles);
    RETURN meters + vehicles;
END
$$;
