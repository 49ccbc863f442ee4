-- Vehicles ranked by efficiency (DC / AC) over [from, to), worst first; vehicles without
-- AC energy (no ratio) come last. The API rounds from and to to whole UTC hours, so the
-- vehicle side comes from the hourly rollups alone. Meter readings count for the vehicle
-- their meter was mapped to at the time: the whole hours inside each mapping range come
-- from the rollups, and raw rows are read only where a mapping starts or ends inside an
-- hour (see analytics_performance.sql for the same decomposition). A window that holds a
-- whole UTC day is ranked by analytics_fleet_efficiency_days.sql instead (the API chooses).
WITH win AS (
    SELECT tstzrange(%(from)s::timestamptz, %(to)s::timestamptz, '[)') AS w
),
dc AS (
    SELECT vehicle_id, sum(kwh_delivered_dc) AS kwh, sum(samples) AS n
    FROM vehicle_hourly
    WHERE hour >= %(from)s::timestamptz AND hour < %(to)s::timestamptz
    GROUP BY vehicle_id
),
half_open AS (
    SELECT meter_id, vehicle_id,
           CASE WHEN lower_inc(r) THEN lower(r) ELSE lower(r) + interval '1 microsecond' END AS lo,
           CASE WHEN upper_inc(r) THEN upper(r) + interval '1 microsecond' ELSE upper(r) END AS hi
    FROM (
        SELECT m.meter_id, m.vehicle_id, m.valid * win.w AS r
        FROM smart_meter_mapping m, win
        WHERE m.valid && win.w
    ) seg
),
cut AS (
    SELECT meter_id, vehicle_id, lo, hi,
           date_trunc('hour', lo + interval '1 hour' - interval '1 microsecond', 'UTC') AS hs,
           date_trunc('hour', hi, 'UTC') AS he
    FROM half_open
    WHERE lo < hi
),
ac_hours AS (
    SELECT c.vehicle_id, sum(h.kwh_consumed_ac) AS kwh, sum(h.samples) AS n
    FROM cut c
    JOIN meter_hourly h ON h.meter_id = c.meter_id AND h.hour >= c.hs AND h.hour < c.he
    WHERE h.hour >= %(from)s::timestamptz AND h.hour < %(to)s::timestamptz
    GROUP BY c.vehicle_id
),
edge AS (
    SELECT meter_id, vehicle_id, lo AS e_lo, least(hs, hi) AS e_hi FROM cut WHERE lo < least(hs, hi)
    UNION ALL
    SELECT meter_id, vehicle_id, greatest(he, hs), hi FROM cut WHERE greatest(he, hs) < hi
),
ac_edges AS (
    SELECT e.vehicle_id, sum(x.kwh) AS kwh, sum(x.n) AS n
    FROM edge e,
    LATERAL (
        SELECT sum(t.kwh_consumed_ac) AS kwh, count(*) AS n
        FROM meter_telemetry t
        WHERE t.meter_id = e.meter_id AND t.ts >= e.e_lo AND t.ts < e.e_hi
          AND t.ts >= %(from)s::timestamptz AND t.ts < %(to)s::timestamptz
    ) x
    GROUP BY e.vehicle_id
),
mapped AS (
    SELECT vehicle_id, sum(extract(epoch FROM hi - lo)) AS seconds
    FROM cut
    GROUP BY vehicle_id
),
ranked AS (
    SELECT ids.vehicle_id,
           coalesce(ah.kwh, 0) + coalesce(ae.kwh, 0) AS ac_kwh,
           coalesce(ah.n, 0) + coalesce(ae.n, 0) AS ac_n,
           coalesce(dc.kwh, 0) AS dc_kwh,
           coalesce(dc.n, 0) AS dc_n,
           coalesce(mapped.seconds, 0) AS mapped_seconds
    FROM (SELECT vehicle_id FROM dc UNION SELECT vehicle_id FROM mapped) ids
    LEFT JOIN dc USING (vehicle_id)
    LEFT JOIN ac_hours ah USING (vehicle_id)
    LEFT JOIN ac_edges ae USING (vehicle_id)
    LEFT JOIN mapped USING (vehicle_id)
)
-- each line also carries the fleet's totals over all its vehicles (GET /v1/fleet/energy)
SELECT vehicle_id, ac_kwh, ac_n, dc_kwh, dc_n, mapped_seconds,
       count(*) OVER () AS total,
       sum(ac_kwh) OVER () AS fleet_ac_kwh,
       sum(dc_kwh) OVER () AS fleet_dc_kwh,
       count(*) FILTER (WHERE ac_kwh > 0) OVER () AS fleet_rated,
       count(*) FILTER (WHERE ac_kwh > 0 AND dc_kwh / ac_kwh < %(threshold)s::numeric) OVER () AS fleet_low
FROM ranked
ORDER BY CASE WHEN ac_kwh > 0 THEN dc_kwh / ac_kwh END ASC NULLS LAST, vehicle_id
LIMIT %(limit)s
