-- analytics_fleet_efficiency.sql for a window that holds at least one whole UTC day (the
-- API chooses; without one, that query's plan is cheaper): the same ranking, exact.
-- Vehicles ranked by efficiency (DC / AC) over [from, to), worst first; vehicles without
-- AC energy (no ratio) come last. The API rounds from and to to whole UTC hours, so the
-- vehicle side comes from the rollups alone: whole UTC days [ds, de) inside the window from
-- the daily rollups, the hours before and after them from the hourly ones. Meter readings
-- count for the vehicle their meter was mapped to at the time: each mapping range inside
-- the window splits the same way into whole days, whole hours and, only where a mapping
-- starts or ends inside an hour, raw rows (see analytics_performance.sql for the hours).
WITH win AS (
    SELECT tstzrange(%(from)s::timestamptz, %(to)s::timestamptz, '[)') AS w,
           date_trunc('day', %(from)s::timestamptz + interval '1 day' - interval '1 microsecond', 'UTC') AS ds,
           date_trunc('day', %(to)s::timestamptz, 'UTC') AS de
),
dc AS (
    SELECT vehicle_id, sum(kwh) AS kwh, sum(n) AS n
    FROM (
        SELECT d.vehicle_id, d.kwh_delivered_dc AS kwh, d.samples AS n
        FROM vehicle_daily d, win
        WHERE d.day >= win.ds AND d.day < win.de
        UNION ALL
        SELECT h.vehicle_id, h.kwh_delivered_dc, h.samples
        FROM vehicle_hourly h, win
        WHERE h.hour >= %(from)s::timestamptz AND h.hour < least(win.ds, %(to)s::timestamptz)
        UNION ALL
        SELECT h.vehicle_id, h.kwh_delivered_dc, h.samples
        FROM vehicle_hourly h, win
        WHERE h.hour >= greatest(win.de, win.ds) AND h.hour < %(to)s::timestamptz
    ) x
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
-- a segment's whole hours [hs, he): its whole days [sd, ed), the hours around them
cut_days AS (
    SELECT meter_id, vehicle_id, hs, he,
           date_trunc('day', hs + interval '1 day' - interval '1 microsecond', 'UTC') AS sd,
           date_trunc('day', he, 'UTC') AS ed
    FROM cut
    WHERE hs < he
),
hour_piece AS (
    SELECT meter_id, vehicle_id, hs AS p_lo, least(sd, he) AS p_hi FROM cut_days WHERE hs < least(sd, he)
    UNION ALL
    SELECT meter_id, vehicle_id, greatest(ed, sd), he FROM cut_days WHERE greatest(ed, sd) < he
),
ac_whole AS (
    SELECT c.vehicle_id, d.kwh_consumed_ac AS kwh, d.samples AS n
    FROM cut_days c
    JOIN meter_daily d ON d.meter_id = c.meter_id AND d.day >= c.sd AND d.day < c.ed
    CROSS JOIN win
    WHERE c.sd < c.ed AND d.day >= win.ds AND d.day < win.de
    UNION ALL
    -- hours before and after the window's whole days (no segment has a whole day there):
    -- each segment's hours there, both bounds in the index condition
    SELECT c.vehicle_id, h.kwh_consumed_ac, h.samples
    FROM cut c
    CROSS JOIN win
    JOIN meter_hourly h ON h.meter_id = c.meter_id
        AND h.hour >= c.hs AND h.hour < least(c.he, win.ds)
    WHERE h.hour >= %(from)s::timestamptz AND h.hour < least(win.ds, %(to)s::timestamptz)
    UNION ALL
    SELECT c.vehicle_id, h.kwh_consumed_ac, h.samples
    FROM cut c
    CROSS JOIN win
    JOIN meter_hourly h ON h.meter_id = c.meter_id
        AND h.hour >= greatest(c.hs, win.de, win.ds) AND h.hour < c.he
    WHERE h.hour >= greatest(win.de, win.ds) AND h.hour < %(to)s::timestamptz
    UNION ALL
    -- hours inside the window's whole days: only segments cut there (a re-mapping), by key
    SELECT p.vehicle_id, x.kwh, x.n
    FROM hour_piece p
    CROSS JOIN win
    CROSS JOIN LATERAL (
        SELECT sum(h.kwh_consumed_ac) AS kwh, sum(h.samples) AS n
        FROM meter_hourly h
        WHERE h.meter_id = p.meter_id
          AND h.hour >= greatest(p.p_lo, win.ds) AND h.hour < least(p.p_hi, win.de)
    ) x
    WHERE greatest(p.p_lo, win.ds) < least(p.p_hi, win.de)
),
ac_hours AS (
    SELECT vehicle_id, sum(kwh) AS kwh, sum(n) AS n
    FROM ac_whole
    GROUP BY vehicle_id
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
