-- See merge_meter.sql: the same steps for vehicles.
WITH ins AS (
    INSERT INTO vehicle_telemetry AS t
        (vehicle_id, ts, soc, kwh_delivered_dc, battery_temp, received_at, kafka_partition, kafka_offset)
    SELECT vehicle_id, ts, soc, kwh_delivered_dc::numeric, battery_temp::numeric, received_at,
           kafka_partition, kafka_offset
    FROM stage_vehicle
    ORDER BY kafka_partition, kafka_offset
    ON CONFLICT (vehicle_id, ts) DO NOTHING
    RETURNING t.vehicle_id, t.ts, t.soc, t.kwh_delivered_dc, t.battery_temp, t.received_at
),
status AS (
    INSERT INTO vehicle_status AS s
        (vehicle_id, ts, soc, kwh_delivered_dc, battery_temp, received_at, updated_at)
    SELECT DISTINCT ON (vehicle_id) vehicle_id, ts, soc, kwh_delivered_dc, battery_temp,
           received_at, now()
    FROM ins
    ORDER BY vehicle_id, ts DESC
    ON CONFLICT (vehicle_id) DO UPDATE
        SET ts = EXCLUDED.ts,
            soc = EXCLUDED.soc,
            kwh_delivered_dc = EXCLUDED.kwh_delivered_dc,
            battery_temp = EXCLUDED.battery_temp,
            received_at = EXCLUDED.received_at,
            updated_at = EXCLUDED.updated_at
        WHERE s.ts < EXCLUDED.ts
),
-- the batch's hours of each vehicle and the running totals before each (merge_meter.sql)
hours AS (
    SELECT g.*,
           l.hour > g.hour AS late,
           CASE WHEN l.hour IS NULL THEN 0
                WHEN l.hour < g.hour THEN l.kwh_through
                WHEN l.hour = g.hour THEN l.kwh_through - l.kwh_delivered_dc
                ELSE coalesce(p.kwh_through - CASE WHEN p.hour = g.hour THEN p.kwh_delivered_dc ELSE 0 END,
                              q.kwh_through - q.kwh_delivered_dc)
           END AS kwh_before,
           CASE WHEN l.hour IS NULL THEN 0
                WHEN l.hour < g.hour THEN l.samples_through
                WHEN l.hour = g.hour THEN l.samples_through - l.samples
                ELSE coalesce(p.samples_through - CASE WHEN p.hour = g.hour THEN p.samples ELSE 0 END,
                              q.samples_through - q.samples)
           END AS samples_before,
           CASE WHEN l.hour IS NULL THEN 0
                WHEN l.hour < g.hour THEN l.battery_temp_through
                WHEN l.hour = g.hour THEN l.battery_temp_through - l.battery_temp_sum
                ELSE coalesce(p.battery_temp_through - CASE WHEN p.hour = g.hour THEN p.battery_temp_sum ELSE 0 END,
                              q.battery_temp_through - q.battery_temp_sum)
           END AS temp_before
    FROM (
        SELECT vehicle_id, date_trunc('hour', ts, 'UTC') AS hour, sum(kwh_delivered_dc) AS kwh,
               sum(battery_temp) AS battery_temp_sum, max(battery_temp) AS battery_temp_max,
               min(soc) AS soc_min, max(soc) AS soc_max, count(*) AS n
        FROM ins
        GROUP BY 1, 2
    ) g
    LEFT JOIN LATERAL (
        SELECT hour, kwh_delivered_dc, samples, battery_temp_sum, kwh_through, samples_through,
               battery_temp_through
        FROM vehicle_hourly WHERE vehicle_id = g.vehicle_id ORDER BY hour DESC LIMIT 1
    ) l ON true
    LEFT JOIN LATERAL (
        SELECT hour, kwh_delivered_dc, samples, battery_temp_sum, kwh_through, samples_through,
               battery_temp_through
        FROM vehicle_hourly WHERE l.hour > g.hour AND vehicle_id = g.vehicle_id AND hour <= g.hour
        ORDER BY hour DESC LIMIT 1
    ) p ON true
    LEFT JOIN LATERAL (
        SELECT kwh_delivered_dc, samples, battery_temp_sum, kwh_through, samples_through, battery_temp_through
        FROM vehicle_hourly
        WHERE l.hour > g.hour AND p.hour IS NULL AND vehicle_id = g.vehicle_id AND hour > g.hour
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
    INSERT INTO vehicle_hourly AS h
        (vehicle_id, hour, kwh_delivered_dc, battery_temp_sum, battery_temp_max, soc_min,
         soc_max, samples, kwh_through, samples_through, battery_temp_through)
    SELECT vehicle_id, hour, kwh, battery_temp_sum, battery_temp_max, soc_min, soc_max, n,
           kwh_before + kwh + coalesce(sum(kwh) FILTER (WHERE late IS NOT TRUE) OVER earlier, 0),
           samples_before + n + coalesce(sum(n) FILTER (WHERE late IS NOT TRUE) OVER earlier, 0),
           temp_before + battery_temp_sum
               + coalesce(sum(battery_temp_sum) FILTER (WHERE late IS NOT TRUE) OVER earlier, 0)
    FROM hours
    WINDOW earlier AS (PARTITION BY vehicle_id ORDER BY hour ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
    ON CONFLICT (vehicle_id, hour) DO UPDATE
        SET kwh_delivered_dc = h.kwh_delivered_dc + EXCLUDED.kwh_delivered_dc,
            battery_temp_sum = h.battery_temp_sum + EXCLUDED.battery_temp_sum,
            battery_temp_max = greatest(h.battery_temp_max, EXCLUDED.battery_temp_max),
            soc_min = least(h.soc_min, EXCLUDED.soc_min),
            soc_max = greatest(h.soc_max, EXCLUDED.soc_max),
            samples = h.samples + EXCLUDED.samples,
            kwh_through = EXCLUDED.kwh_through + h.kwh_delivered_dc,
            samples_through = EXCLUDED.samples_through + h.samples,
            battery_temp_through = EXCLUDED.battery_temp_through + h.battery_temp_sum
)
-- as merge_meter.sql: the number inserted, then the late hours (rollup_through_vehicle.sql)
SELECT count(*) AS inserted, NULL::text AS vehicle_id, NULL::timestamptz AS hour,
       NULL::numeric AS kwh, NULL::bigint AS samples, NULL::numeric AS temp
FROM ins
UNION ALL
SELECT NULL, vehicle_id, hour, kwh, n, battery_temp_sum FROM hours WHERE late
