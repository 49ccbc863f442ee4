-- The energy of each span [lo, hi) (a session's (start, stop] shifted by a microsecond):
-- AC from its meter, DC from the vehicle. Each span is cut like the performance query's
-- segments: whole UTC hours from the hourly rollups, the partial first and last hours
-- from the raw rows through the (device id, ts) primary key; the constant bounds
-- [lo_min, hi_max) let the planner keep only the day partitions the spans touch.
WITH span AS (
    SELECT *
    FROM unnest(%(idx)s::int[], %(meter_ids)s::text[], %(lo)s::timestamptz[], %(hi)s::timestamptz[])
        AS u(i, meter_id, lo, hi)
),
cut AS (
    SELECT span.*,
           date_trunc('hour', lo + interval '1 hour' - interval '1 microsecond', 'UTC') AS hs,
           date_trunc('hour', hi, 'UTC') AS he
    FROM span
)
SELECT cut.i, ac.kwh AS ac_kwh, ac.n AS meter_samples, dc.kwh AS dc_kwh, dc.n AS vehicle_samples
FROM cut
CROSS JOIN LATERAL (
    SELECT coalesce(sum(x.kwh), 0) AS kwh, coalesce(sum(x.n), 0) AS n
    FROM (
        SELECT sum(h.kwh_consumed_ac) AS kwh, sum(h.samples) AS n
        FROM meter_hourly h
        WHERE cut.hs < cut.he AND h.meter_id = cut.meter_id AND h.hour >= cut.hs AND h.hour < cut.he
        UNION ALL
        SELECT sum(t.kwh_consumed_ac), count(*)
        FROM meter_telemetry t
        WHERE t.meter_id = cut.meter_id AND t.ts >= cut.lo AND t.ts < least(cut.hs, cut.hi)
          AND t.ts >= %(lo_min)s::timestamptz AND t.ts < %(hi_max)s::timestamptz
        UNION ALL
        SELECT sum(t.kwh_consumed_ac), count(*)
        FROM meter_telemetry t
        WHERE t.meter_id = cut.meter_id AND t.ts >= greatest(cut.he, cut.hs) AND t.ts < cut.hi
          AND t.ts >= %(lo_min)s::timestamptz AND t.ts < %(hi_max)s::timestamptz
    ) x
) ac
CROSS JOIN LATERAL (
    SELECT coalesce(sum(x.kwh), 0) AS kwh, coalesce(sum(x.n), 0) AS n
    FROM (
        SELECT sum(h.kwh_delivered_dc) AS kwh, sum(h.samples) AS n
        FROM vehicle_hourly h
        WHERE cut.hs < cut.he AND h.vehicle_id = %(vehicle_id)s::text AND h.hour >= cut.hs AND h.hour < cut.he
        UNION ALL
        SELECT sum(t.kwh_delivered_dc), count(*)
        FROM vehicle_telemetry t
        WHERE t.vehicle_id = %(vehicle_id)s::text AND t.ts >= cut.lo AND t.ts < least(cut.hs, cut.hi)
          AND t.ts >= %(lo_min)s::timestamptz AND t.ts < %(hi_max)s::timestamptz
        UNION ALL
        SELECT sum(t.kwh_delivered_dc), count(*)
        FROM vehicle_telemetry t
        WHERE t.vehicle_id = %(vehicle_id)s::text AND t.ts >= greatest(cut.he, cut.hs) AND t.ts < cut.hi
          AND t.ts >= %(lo_min)s::timestamptz AND t.ts < %(hi_max)s::timestamptz
    ) x
) dc
ORDER BY cut.i
