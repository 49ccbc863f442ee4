-- From the staged batch: insert new readings into history (a retry or replay of a
-- stored reading is skipped; within the batch the lowest offset wins), then move the
-- status forward and add to the hourly rollups using only the rows actually
-- inserted, so that nothing is counted twice; each hourly row also keeps the meter's running
-- totals (kwh_through, samples_through: migration 0017).
-- Interval readings only: register readings (kwh_consumed_ac NULL in the stage) are
-- merge_meter_register.sql's, run only for a batch that has any. A NULL voltage (not
-- measured) is counted in voltage_missing and left out of the voltage aggregates.
WITH ins AS (
    INSERT INTO meter_telemetry AS t
        (meter_id, ts, kwh_consumed_ac, voltage, received_at, kafka_partition, kafka_offset)
    SELECT meter_id, ts, kwh_consumed_ac::numeric, voltage, received_at, kafka_partition, kafka_offset
    FROM stage_meter
    WHERE kwh_consumed_ac IS NOT NULL
    ORDER BY kafka_partition, kafka_offset
    ON CONFLICT (meter_id, ts) DO NOTHING
    RETURNING t.meter_id, t.ts, t.kwh_consumed_ac, t.voltage, t.received_at
),
status AS (
    INSERT INTO meter_status AS s (meter_id, ts, kwh_consumed_ac, voltage, received_at, updated_at)
    SELECT DISTINCT ON (meter_id) meter_id, ts, kwh_consumed_ac, voltage, received_at, now()
    FROM ins
    ORDER BY meter_id, ts DESC
    ON CONFLICT (meter_id) DO UPDATE
        SET ts = EXCLUDED.ts,
            kwh_consumed_ac = EXCLUDED.kwh_consumed_ac,
            kwh_register_ac = NULL,
            voltage = EXCLUDED.voltage,
            received_at = EXCLUDED.received_at,
            updated_at = EXCLUDED.updated_at
        WHERE s.ts < EXCLUDED.ts
),
-- The batch's hours of each meter, and the running totals of the meter's stored hours
-- before each (migration 0017): from the meter's last stored row, one index lookup; only
-- for an hour before that row (a late reading) the stored row at or before it, or, when
-- there is none, the first after it. A late hour's row gets the stored totals before it;
-- a later hour's row adds the batch's earlier hours after the meter's last stored one.
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
        SELECT meter_id, date_trunc('hour', ts, 'UTC') AS hour, sum(kwh_consumed_ac) AS kwh,
               min(voltage) AS voltage_min, max(voltage) AS voltage_max,
               coalesce(sum(voltage), 0) AS voltage_sum, count(*) AS n,
               count(*) - count(voltage) AS voltage_missing
        FROM ins
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
-- one row with the number of rows inserted (meter_id NULL), then one per late hour: its
-- energy and samples are added to the meter's later rows by rollup_through_meter.sql
SELECT count(*) AS inserted, NULL::text AS meter_id, NULL::timestamptz AS hour,
       NULL::numeric AS kwh, NULL::bigint AS samples
FROM ins
UNION ALL
SELECT NULL, meter_id, hour, kwh, n FROM hours WHERE late
