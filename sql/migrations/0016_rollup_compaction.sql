-- Hourly rollups of a closed day rewritten in device order (the retention job, once per day).
--
-- The consumers write the hourly rows hour by hour for every device, so a device's 24 rows
-- of a day lie on 24 heap pages; every per-device read of the rollups (the performance
-- endpoint, a vehicle's series and sessions) reads a page per hour, from disk when the
-- history is larger than memory. Rewritten in (device, hour) order, a device's day is on
-- one or two pages. The rows and their values are unchanged: each is deleted and inserted
-- again in one statement, in one transaction, so a reader sees the day before or after,
-- never half of it. A consumer's upsert of a late reading into that day waits for the
-- rewrite's row lock, then finds the new row and adds to it (ON CONFLICT re-checks after
-- the wait); should the two deadlock, PostgreSQL cancels one: the consumer retries its
-- batch, the job retries the day at its next check. Late readings after the rewrite
-- update the compacted rows in place (the pages keep half their space free, 0014).
--
-- Only energy_retention (the retention job's role) may run it, through this function:
-- the job gets no right on the rollups themselves.
CREATE TABLE rollup_compactions (
    day          date        PRIMARY KEY,
    meter_rows   integer     NOT NULL,
    vehicle_rows integer     NOT NULL,
    compacted_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION compact_hourly_rollups(p_day date) RETURNS integer
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
    INSERT INTO meter_hourly SELECT * FROM moved ORDER BY meter_id, hour;
    GET DIAGNOSTICS meters = ROW_COUNT;
    WITH moved AS (
        DELETE FROM vehicle_hourly WHERE hour >= lo AND hour < hi RETURNING *
    )
    INSERT INTO vehicle_hourly SELECT * FROM moved ORDER BY vehicle_id, hour;
    GET DIAGNOSTICS vehicles = ROW_COUNT;
    INSERT INTO rollup_compactions (day, meter_rows, vehicle_rows) VALUES (p_day, meters, vehicles);
    RETURN meters + vehicles;
END
$$;

REVOKE ALL ON FUNCTION compact_hourly_rollups(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION compact_hourly_rollups(date) TO energy_retention;
GRANT SELECT ON rollup_compactions TO energy_retention;
