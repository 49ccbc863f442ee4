-- ensure_day_partitions, safe when replicas race for the same new day.
-- 0004 re-checked to_regclass() after taking an advisory lock, but an advisory lock does
-- not make the session accept catalog invalidations, so the check could still miss the
-- partition another replica had just committed, and CREATE TABLE failed with
-- duplicate_table. Now a partition that exists by the time we create it is success.
CREATE OR REPLACE FUNCTION ensure_day_partitions(days date[]) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
SET TimeZone = 'UTC'
AS $$
DECLARE
    d       date;
    parent  text;
    child   text;
    created integer := 0;
BEGIN
    FOREACH d IN ARRAY days LOOP
        FOREACH parent IN ARRAY ARRAY['meter_telemetry', 'vehicle_telemetry'] LOOP
            child := parent || '_' || to_char(d, 'YYYYMMDD');
            CONTINUE WHEN to_regclass(child) IS NOT NULL;
            PERFORM pg_advisory_xact_lock(hashtext(child));
            BEGIN
                EXECUTE format(
                    'CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                    child, parent, d::timestamptz, (d + 1)::timestamptz
                );
                created := created + 1;
            EXCEPTION WHEN duplicate_table OR unique_violation THEN
                NULL;  -- another replica created it first
            END;
        END LOOP;
    END LOOP;
    RETURN created;
END
$$;
