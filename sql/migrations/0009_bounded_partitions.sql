-- Bounded history partitions. Until now every distinct UTC day got a partition per table,
-- so readings spread over years (weekly from 1990: ~3,000 partitions from one request)
-- made the partition count, and the locks one transaction takes, grow without bound.
--
-- Now, per history table, a day d is covered by:
--   * its day partition <table>_YYYYMMDD if d's month is among the `day_months` months up
--     to the current one (UTC), or if d's month already has a day partition (a month that
--     has days keeps getting days: ranges never overlap);
--   * otherwise one month partition <table>_YYYYMM for the whole month.
-- So the count is at most (days of the recent months ever seen) + (older months seen):
-- 20 years of backfill cost 240 partitions per table, not 7,300.
--
-- ensure_day_partitions(days, day_months, max_new) creates at most `max_new` partitions and
-- returns how many it created: the caller repeats (each call its own short transaction)
-- until it returns fewer, so no transaction holds the locks of more than `max_new`.
-- Creations within one month of one table are serialised by an advisory lock, and the
-- re-check after it reads pg_class with a fresh snapshot (to_regclass's cache can miss
-- what another session just committed).

CREATE FUNCTION ensure_history_partitions(days date[], recent date, max_new integer) RETURNS integer
LANGUAGE plpgsql
SET search_path = public, pg_temp
SET TimeZone = 'UTC'
AS $$
DECLARE
    d          date;
    m          date;
    parent     text;
    day_name   text;
    month_name text;
    by_day     boolean;
    created    integer := 0;
BEGIN
    FOR d IN SELECT DISTINCT x FROM unnest(days) AS x WHERE x IS NOT NULL ORDER BY x LOOP
        m := date_trunc('month', d)::date;
        FOREACH parent IN ARRAY ARRAY['meter_telemetry', 'vehicle_telemetry'] LOOP
            day_name := parent || '_' || to_char(d, 'YYYYMMDD');
            month_name := parent || '_' || to_char(d, 'YYYYMM');
            CONTINUE WHEN to_regclass(day_name) IS NOT NULL OR to_regclass(month_name) IS NOT NULL;
            IF created >= max_new THEN
                RETURN created;  -- more to do: the caller calls again in a new transaction
            END IF;
            PERFORM pg_advisory_xact_lock(hashtext(month_name));
            CONTINUE WHEN EXISTS (
                SELECT 1 FROM pg_class
                WHERE relnamespace = 'public'::regnamespace AND relname IN (day_name, month_name)
            );
            by_day := m >= recent OR EXISTS (
                SELECT 1 FROM pg_class
                WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'
                  AND length(relname) = length(month_name) + 2
                  AND left(relname, length(month_name)) = month_name
            );
            BEGIN
                IF by_day THEN
                    EXECUTE format(
                        'CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                        day_name, parent, d::timestamptz, (d + 1)::timestamptz
                    );
                ELSE
                    EXECUTE format(
                        'CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                        month_name, parent, m::timestamptz, (m + interval '1 month')::timestamptz
                    );
                END IF;
                created := created + 1;
            EXCEPTION WHEN duplicate_table OR unique_violation THEN
                NULL;  -- another session created it first
            END;
        END LOOP;
    END LOOP;
    RETURN created;
END
$$;

-- The consumers' entry point: day partitions for `day_months` months up to the current one.
CREATE FUNCTION ensure_day_partitions(days date[], day_months integer, max_new integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
SET TimeZone = 'UTC'
AS $$
BEGIN
    IF day_months IS NULL OR day_months NOT BETWEEN 1 AND 24 OR max_new IS NULL OR max_new NOT BETWEEN 1 AND 64 THEN
        RAISE EXCEPTION 'ensure_day_partitions: day_months must be 1..24 and max_new 1..64'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN ensure_history_partitions(
        days, (date_trunc('month', current_date) - make_interval(months => day_months - 1))::date, max_new
    );
END
$$;

-- The one-argument form (operators, benchmarks preparing days of data): a day partition for
-- every day, except where a month partition already covers it. Owner only from now on:
-- consumers use the bounded form above.
CREATE OR REPLACE FUNCTION ensure_day_partitions(days date[]) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
SET TimeZone = 'UTC'
AS $$
BEGIN
    RETURN ensure_history_partitions(days, '-infinity'::date, 2147483647);
END
$$;

-- Retention drops whole partitions strictly before `cutoff`: a day partition whose day is
-- before it, a month partition whose whole month is (one straddling the cutoff is kept
-- until the month has passed; the consumer rejects its readings before the horizon).
CREATE OR REPLACE FUNCTION drop_day_partitions_before(cutoff date) RETURNS integer
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
          AND (
              (c.relname ~ '_[0-9]{8}$' AND to_date(right(c.relname, 8), 'YYYYMMDD') < cutoff)
              OR (c.relname ~ '_[0-9]{6}$'
                  AND (to_date(right(c.relname, 6), 'YYYYMM') + interval '1 month')::date <= cutoff)
          )
        ORDER BY c.relname
    LOOP
        EXECUTE format('DROP TABLE %I', r.relname);
        dropped := dropped + 1;
    END LOOP;
    RETURN dropped;
END
$$;

REVOKE ALL ON FUNCTION ensure_history_partitions(date[], date, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION ensure_day_partitions(date[], integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ensure_day_partitions(date[], integer, integer) TO energy_writer;
REVOKE EXECUTE ON FUNCTION ensure_day_partitions(date[]) FROM energy_writer;
