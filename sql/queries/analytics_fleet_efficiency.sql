-- Vehicles ranked by efficiency (DC / AC) over [from, to), worst first; vehicles without
-- AC energy (no ratio) come last. The API rounds from and to to whole UTC hours.
--
-- Two hourly rows per device and stream, whatever the window's length: each hourly row
-- holds its device's running totals (migration 0017), so a run of whole hours [a, b) is
-- (totals of the last row before b) - (totals before the first row at or after a). The
-- rows of the window's first and last hour are read for every device at once (one index
-- range each); a device without a row in one of them (it started, stopped or paused inside
-- the window) gets a key lookup for that end, as does a mapping that starts or ends at
-- another hour. Meter readings count for the vehicle their meter was mapped to at the
-- time; raw rows are read only where a mapping starts or ends inside an hour (see
-- analytics_performance.sql for the same decomposition).
WITH win AS (
    SELECT tstzrange(%(from)s::timestamptz, %(to)s::timestamptz, '[)') AS w
),
v_first AS (  -- totals before the window's first hour, of the vehicles with a row there
    SELECT vehicle_id, kwh_through - kwh_delivered_dc AS kwh, samples_through - samples AS n
    FROM vehicle_hourly
    WHERE hour = %(from)s::timestamptz
),
v_last AS (  -- totals up to the end of the window's last hour
    SELECT vehicle_id, kwh_through AS kwh, samples_through AS n
    FROM vehicle_hourly
    WHERE hour = %(to)s::timestamptz - interval '1 hour'
),
dc AS (
    SELECT s.vehicle_id, coalesce(l.kwh, pl.kwh) - coalesce(f.kwh, pf.kwh) AS kwh,
           coalesce(l.n, pl.n) - coalesce(f.n, pf.n) AS n
    FROM vehicle_status s
    LEFT JOIN v_first f USING (vehicle_id)
    LEFT JOIN v_last l USING (vehicle_id)
    LEFT JOIN LATERAL (
        SELECT h.kwh_through - h.kwh_delivered_dc AS kwh, h.samples_through - h.samples AS n
        FROM vehicle_hourly h
        WHERE f.vehicle_id IS NULL AND h.vehicle_id = s.vehicle_id
          AND h.hour >= %(from)s::timestamptz AND h.hour < %(to)s::timestamptz
        ORDER BY h.hour
        LIMIT 1
    ) pf ON true
    LEFT JOIN LATERAL (
        SELECT h.kwh_through AS kwh, h.samples_through AS n
        FROM vehicle_hourly h
        WHERE l.vehicle_id IS NULL AND (f.vehicle_id IS NOT NULL OR pf.n IS NOT NULL)
          AND h.vehicle_id = s.vehicle_id
          AND h.hour >= %(from)s::timestamptz AND h.hour < %(to)s::timestamptz
        ORDER BY h.hour DESC
        LIMIT 1
    ) pl ON true
    -- the status row holds the vehicle's newest reading: none since from, no row to look for
    WHERE s.ts >= %(from)s::timestamptz AND (f.vehicle_id IS NOT NULL OR pf.n IS NOT NULL)
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
m_first AS (
    SELECT meter_id, kwh_through - kwh_consumed_ac AS kwh, samples_through - samples AS n
    FROM meter_hourly
    WHERE hour = %(from)s::timestamptz
),
m_last AS (
    SELECT meter_id, kwh_through AS kwh, samples_through AS n
    FROM meter_hourly
    WHERE hour = %(to)s::timestamptz - interval '1 hour'
),
-- each mapping segment's whole hours [hs, he): the window's first and last hours' rows
-- where the segment starts or ends there, else a key lookup of that end
ac_hours AS (
    SELECT c.vehicle_id,
           sum(coalesce(l.kwh, pl.kwh) - coalesce(f.kwh, pf.kwh)) AS kwh,
           sum(coalesce(l.n, pl.n) - coalesce(f.n, pf.n)) AS n
    FROM cut c
    LEFT JOIN m_first f ON f.meter_id = c.meter_id AND c.hs = %(from)s::timestamptz
    LEFT JOIN m_last l ON l.meter_id = c.meter_id AND c.he = %(to)s::timestamptz
    LEFT JOIN LATERAL (
        SELECT h.kwh_through - h.kwh_consumed_ac AS kwh, h.samples_through - h.samples AS n
        FROM meter_hourly h
        WHERE f.meter_id IS NULL AND h.meter_id = c.meter_id AND h.hour >= c.hs AND h.hour < c.he
        ORDER BY h.hour
        LIMIT 1
    ) pf ON true
    LEFT JOIN LATERAL (
        SELECT h.kwh_through AS kwh, h.samples_through AS n
        FROM meter_hourly h
        WHERE l.meter_id IS NULL AND (f.meter_id IS NOT NULL OR pf.n IS NOT NULL)
          AND h.meter_id = c.meter_id AND h.hour >= c.hs AND h.hour < c.he
        ORDER BY h.hour DESC
        LIMIT 1
    ) pl ON true
    WHERE c.hs < c.he AND (f.meter_id IS NOT NULL OR pf.n IS NOT NULL)
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
