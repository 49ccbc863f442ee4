-- Day partitions, created on demand by consumers through a SECURITY DEFINER function
-- (creating a partition needs ownership of the parent, which writers do not have).
CREATE FUNCTION ensure_day_partitions(days date[]) RETURNS integer
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
            CONTINUE WHEN to_regclass(child) IS NOT NULL;
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                child, parent, d::timestamptz, (d + 1)::timestamptz
            );
            created := created + 1;
        END LOOP;
    END LOOP;
    RETURN created;
END
$$;

-- Drops whole days strictly before `cutoff` from both history tables. Rollups are kept.
CREATE FUNCTION drop_day_partitions_before(cutoff date) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    r       record;
    dropped integer := 0;
BEGIN
    FOR r IN
        SELECT c.relname
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname IN ('meter_telemetry', 'vehicle_telemetry')
          AND c.relname ~ '_[0-9]{8}$'
          AND to_date(right(c.relname, 8), 'YYYYMMDD') < cutoff
    LOOP
        EXECUTE format('DROP TABLE %I', r.relname);
        dropped := dropped + 1;
    END LOOP;
    RETURN dropped;
END
$$;

REVOKE ALL ON FUNCTION ensure_day_partitions(date[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION drop_day_partitions_before(date) FROM PUBLIC;
