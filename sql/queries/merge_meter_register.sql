-- Register readings of the staged batch (docs/registers.md); runs only when the batch has
-- any, after merge_meter.sql. A register row stores its register value and, as
-- kwh_consumed_ac, its derived interval energy: reg - prev if reg >= prev, else reg (a
-- reset), where prev is the meter's previous register reading by reading time; 0 for
-- the first. New rows are the staged ones not stored yet (a replay is skipped; within the
-- batch the lowest offset wins). Each new row's stored neighbours (the last register row
-- before it, the first after it) join the new rows in one chain per meter: the chain's
-- order gives every new row its predecessor, and every stored successor of a new row its
-- new predecessor. The status and rollups take the inserted rows plus the successors'
-- differences here; the successors' own rows (the only update of history) are corrected
-- by fix_register_successor.sql, one row per statement, in the same transaction (a join
-- UPDATE of the partitioned table is planned as a hash join over every partition: the
-- planner cannot cost the run-time pruning of a nested loop). Returns one row with the
-- number of rows inserted (fix NULL), then one row per successor to correct (fix
-- 'successor') and one per late hour whose energy the meter's later hourly rows' running
-- totals take (fix 'through', rollup_through_meter.sql).
WITH new AS (
    SELECT DISTINCT ON (s.meter_id, s.ts)
           s.meter_id, s.ts, s.kwh_register_ac::numeric AS reg, s.voltage, s.received_at,
           s.kafka_partition, s.kafka_offset
    FROM stage_meter s
    -- LATERAL + LIMIT: a nested loop of key lookups, each pruned at run time to its day's
    -- partition (NOT EXISTS was planned as a hash anti-join over every partition).
    LEFT JOIN LATERAL (
        SELECT true AS hit FROM meter_telemetry t WHERE t.meter_id = s.meter_id AND t.ts = s.ts LIMIT 1
    ) stored ON true
    WHERE s.kwh_register_ac IS NOT NULL AND stored.hit IS NULL
    ORDER BY s.meter_id, s.ts, s.kafka_partition, s.kafka_offset
),
neighbours AS (
    -- Each lookup is a nested loop of index scans pruned at run time to the partitions its
    -- range can touch: first the day before (or after) the reading, and only when that has
    -- no register row, the rest of history (UNION ALL + LIMIT 1 stops at the first branch
    -- that finds one), so a meter reporting within a day costs one or two partitions.
    SELECT DISTINCT ON (meter_id, ts) meter_id, ts, reg, old_kwh, successor, voltage, received_at
    FROM (
        SELECT p.meter_id, p.ts, p.kwh_register_ac AS reg, p.kwh_consumed_ac AS old_kwh, false AS successor,
               p.voltage, p.received_at
        FROM new n
        CROSS JOIN LATERAL (
            (SELECT t.meter_id, t.ts, t.kwh_register_ac, t.kwh_consumed_ac, t.voltage, t.received_at
             FROM meter_telemetry t
             WHERE t.meter_id = n.meter_id AND t.ts < n.ts AND t.ts >= n.ts - interval '1 day'
               AND t.kwh_register_ac IS NOT NULL
             ORDER BY t.ts DESC
             LIMIT 1)
            UNION ALL
            (SELECT t.meter_id, t.ts, t.kwh_register_ac, t.kwh_consumed_ac, t.voltage, t.received_at
             FROM meter_telemetry t
             WHERE t.meter_id = n.meter_id AND t.ts < n.ts - interval '1 day' AND t.kwh_register_ac IS NOT NULL
             ORDER BY t.ts DESC
             LIMIT 1)
            LIMIT 1
        ) p
        UNION ALL
        SELECT q.meter_id, q.ts, q.kwh_register_ac, q.kwh_consumed_ac, true, q.voltage, q.received_at
        FROM new n
        CROSS JOIN LATERAL (
            (SELECT t.meter_id, t.ts, t.kwh_register_ac, t.kwh_consumed_ac, t.voltage, t.received_at
             FROM meter_telemetry t
             WHERE t.meter_id = n.meter_id AND t.ts > n.ts AND t.ts <= n.ts + interval '1 day'
               AND t.kwh_register_ac IS NOT NULL
             ORDER BY t.ts
             LIMIT 1)
            UNION ALL
            (SELECT t.meter_id, t.ts, t.kwh_register_ac, t.kwh_consumed_ac, t.voltage, t.received_at
             FROM meter_telemetry t
             WHERE t.meter_id = n.meter_id AND t.ts > n.ts + interval '1 day' AND t.kwh_register_ac IS NOT NULL
             ORDER BY t.ts
             LIMIT 1)
            LIMIT 1
        ) q
    ) found
    ORDER BY meter_id, ts, successor DESC
),
chain AS (
    SELECT c.*, lag(c.reg) OVER (PARTITION BY c.meter_id ORDER BY c.ts) AS prev
    FROM (
        SELECT meter_id, ts, reg, NULL::numeric AS old_kwh, true AS is_new, false AS successor,
               voltage, received_at, kafka_partition, kafka_offset
        FROM new
        UNION ALL
        SELECT meter_id, ts, reg, old_kwh, false, successor, voltage, received_at, NULL, NULL
        FROM neighbours
    ) c
),
derived AS (
    SELECT meter_id, ts, reg, old_kwh, is_new, voltage, received_at, kafka_partition, kafka_offset,
           CASE WHEN prev IS NULL THEN 0 WHEN reg >= prev THEN reg - prev ELSE reg END AS kwh
    FROM chain
    WHERE is_new OR successor
),
ins AS (
    INSERT INTO meter_telemetry AS t
        (meter_id, ts, kwh_consumed_ac, kwh_register_ac, voltage, received_at, kafka_partition, kafka_offset)
    SELECT meter_id, ts, kwh, reg, voltage, received_at, kafka_partition, kafka_offset
    FROM derived
    WHERE is_new
    ON CONFLICT (meter_id, ts) DO NOTHING
    RETURNING t.meter_id, t.ts, t.kwh_consumed_ac, t.kwh_register_ac, t.voltage, t.received_at
),
upd AS (  -- stored successors whose derived energy changes (rewritten by fix_register_successor)
    SELECT meter_id, ts, kwh AS kwh_consumed_ac, reg AS kwh_register_ac, voltage, received_at,
           kwh - old_kwh AS delta
    FROM derived
    WHERE NOT is_new AND kwh <> old_kwh
),
status AS (
    INSERT INTO meter_status AS s
        (meter_id, ts, kwh_consumed_ac, kwh_register_ac, voltage, received_at, updated_at)
    SELECT DISTINCT ON (meter_id) meter_id, ts, kwh_consumed_ac, kwh_register_ac, voltage, received_at, now()
    FROM (
        SELECT meter_id, ts, kwh_consumed_ac, kwh_register_ac, voltage, received_at FROM ins
        UNION ALL
        SELECT meter_id, ts, kwh_consumed_ac, kwh_register_ac, voltage, received_at FROM upd
    ) changed
    ORDER BY meter_id, ts DESC
    ON CONFLICT (meter_id) DO UPDATE
        SET ts = EXCLUDED.ts,
            kwh_consumed_ac = EXCLUDED.kwh_consumed_ac,
            kwh_register_ac = EXCLUDED.kwh_register_ac,
            voltage = EXCLUDED.voltage,
            received_at = EXCLUDED.received_at,
            updated_at = EXCLUDED.updated_at
        WHERE s.ts <= EXCLUDED.ts  -- equal: the status row is a corrected successor
),
contrib AS (
    SELECT meter_id, ts, kwh_consumed_ac AS kwh, voltage, 1 AS n FROM ins
    UNION ALL
    SELECT meter_id, ts, delta, NULL, 0 FROM upd
),
-- the running totals of each hour (merge_meter.sql)
hours AS (
    SELECT g.*,
           l.hour > g.hour AS late,
           CASE WHEN l.hour IS NULL THEN 0
                WHEN l.hour < g.hour THEN l.kwh_through
                WHEN l.hour = g.hour THEN l.kwh_through - l.kwh_consumed_ac
                ELSE coalesce(p.kwh_through - CASE WHEN p.hour = g.hour THEN p.kwh_consumed_ac ELSE 0 END,
                              q.kwh_through - q.kwh_consumed_ac)
           END AS kwh_before,
           CASE WHEN l.hour IS NULL THEN 0
                WHEN l.hour < g.hour THEN l.samples_through
                WHEN l.hour = g.hour THEN l.samples_through - l.samples
                ELSE coalesce(p.samples_through - CASE WHEN p.hour = g.hour THEN p.samples ELSE 0 END,
                              q.samples_through - q.samples)
           END AS samples_before
    FROM (
        SELECT meter_id, date_trunc('hour', ts, 'UTC') AS hour, sum(kwh) AS kwh,
               min(voltage) AS voltage_min, max(voltage) AS voltage_max,
               coalesce(sum(voltage), 0) AS voltage_sum, sum(n) AS n,
               sum(n) - count(voltage) AS voltage_missing
        FROM contrib
        GROUP BY 1, 2
    ) g
    LEFT JOIN LATERAL (
        SELECT hour, kwh_consumed_ac, samples, kwh_through, samples_through
        FROM meter_hourly WHERE meter_id = g.meter_id ORDER BY hour DESC LIMIT 1
    ) l ON true
    LEFT JOIN LATERAL (
        SELECT hour, kwh_consumed_ac, samples, kwh_through, samples_through
        FROM meter_hourly WHERE l.hour > g.hour AND meter_id = g.meter_id AND hour <= g.hour
        ORDER BY hour DESC LIMIT 1
    ) p ON true
    LEFT JOIN LATERAL (
        SELECT kwh_consumed_ac, samples, kwh_through, samples_through
        FROM meter_hourly WHERE l.hour > g.hour AND p.hour IS NULL AND meter_id = g.meter_id AND hour > g.hour
        ORDER BY hour LIMIT 1
    ) q ON true
),
-- hours before the stored fleet answers' horizon are noted (migration 0019); the horizon
-- is held where it is until the batch commits, so it cannot pass its hours unnoted
noted AS (
    INSERT INTO fleet_change (lo, hi)
    SELECT min(hour), max(hour) + interval '1 hour' FROM hours
    HAVING min(hour) < fleet_answer_horizon_held()
),
rollup AS (
    INSERT INTO meter_hourly AS h
        (meter_id, hour, kwh_consumed_ac, voltage_min, voltage_max, voltage_sum, samples, voltage_missing,
         kwh_through, samples_through)
    SELECT meter_id, hour, kwh, voltage_min, voltage_max, voltage_sum, n, voltage_missing,
           kwh_before + kwh + coalesce(sum(kwh) FILTER (WHERE late IS NOT TRUE) OVER earlier, 0),
           samples_before + n + coalesce(sum(n) FILTER (WHERE late IS NOT TRUE) OVER earlier, 0)
    FROM hours
    WINDOW earlier AS (PARTITION BY meter_id ORDER BY hour ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
    ON CONFLICT (meter_id, hour) DO UPDATE
        SET kwh_consumed_ac = h.kwh_consumed_ac + EXCLUDED.kwh_consumed_ac,
            voltage_min = least(h.voltage_min, EXCLUDED.voltage_min),
            voltage_max = greatest(h.voltage_max, EXCLUDED.voltage_max),
            voltage_sum = h.voltage_sum + EXCLUDED.voltage_sum,
            samples = h.samples + EXCLUDED.samples,
            voltage_missing = h.voltage_missing + EXCLUDED.voltage_missing,
            -- EXCLUDED's totals are those before this hour plus the batch's: add the row's own
            kwh_through = EXCLUDED.kwh_through + h.kwh_consumed_ac,
            samples_through = EXCLUDED.samples_through + h.samples
)
SELECT count(*) AS inserted, NULL::text AS fix, NULL::text AS meter_id, NULL::timestamptz AS ts,
       NULL::numeric AS kwh, NULL::bigint AS samples
FROM ins
UNION ALL
SELECT NULL, 'successor', meter_id, ts, kwh_consumed_ac, NULL FROM upd
UNION ALL
SELECT NULL, 'through', meter_id, hour, kwh, n FROM hours WHERE late
