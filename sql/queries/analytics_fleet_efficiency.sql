-- Vehicles ranked by efficiency (DC / AC) over [from, to), worst first; vehicles without
-- AC energy (no ratio) come last. The API rounds from and to to whole UTC hours.
--
-- Two hourly rows per device, whatever the window's length: each hourly row holds its
-- device's running totals (migration 0017), so a run of whole hours [a, b) is (the totals
-- of its last row) - (the totals before its first row). The rows of the window's first and
-- last hour are read for every device at once (one index range each; the rollups are in
-- hour order, so a few hundred pages); a device without a row there (it started, stopped
-- or paused inside the window) gets a key lookup for that end, as does a mapping segment
-- that starts or ends at another hour. The status row holds a vehicle's newest reading:
-- a vehicle silent since before the window is not looked for. Meter readings count for
-- the vehicle their meter was mapped to at the time; raw rows are read only where a
-- mapping starts or ends inside an hour (analytics_performance.sql cuts the same way).
-- The window's hours clipped to those that hold rows at all (the first and last stored
-- hour, one index end each): a window that starts before the history or ends after it
-- still finds every device's first and last row in one range.
WITH span AS MATERIALIZED (
    SELECT greatest(%(from)s::timestamptz, (SELECT min(hour) FROM vehicle_hourly)) AS v_lo,
           least(%(to)s::timestamptz, (SELECT max(hour) FROM vehicle_hourly) + interval '1 hour') AS v_hi,
           greatest(%(from)s::timestamptz, (SELECT min(hour) FROM meter_hourly)) AS m_lo,
           least(%(to)s::timestamptz, (SELECT max(hour) FROM meter_hourly) + interval '1 hour') AS m_hi
),
-- MATERIALIZED: hash joins on these (a key lookup per device costs more than the range)
v_first AS MATERIALIZED (
    SELECT vehicle_id, kwh_through - kwh_delivered_dc AS kwh, samples_through - samples AS n
    FROM vehicle_hourly
    WHERE hour = (SELECT v_lo FROM span) AND hour < %(to)s::timestamptz
),
v_last AS MATERIALIZED (
    SELECT vehicle_id, kwh_through AS kwh, samples_through AS n
    FROM vehicle_hourly
    WHERE hour = (SELECT v_hi FROM span) - interval '1 hour' AND hour >= %(from)s::timestamptz
),
m_first AS MATERIALIZED (
    SELECT meter_id, kwh_through - kwh_consumed_ac AS kwh, samples_through - samples AS n
    FROM meter_hourly
    WHERE hour = (SELECT m_lo FROM span) AND hour < %(to)s::timestamptz
),
m_last AS MATERIALIZED (
    SELECT meter_id, kwh_through AS kwh, samples_through AS n
    FROM meter_hourly
    WHERE hour = (SELECT m_hi FROM span) - interval '1 hour' AND hour >= %(from)s::timestamptz
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
    WHERE s.ts >= %(from)s::timestamptz AND (f.vehicle_id IS NOT NULL OR pf.n IS NOT NULL)
),
seg AS MATERIALIZED (  -- each mapping's part of the window, half-open [lo, hi), and its whole hours [hs, he)
    SELECT meter_id, vehicle_id, lo, hi,
           date_trunc('hour', lo + interval '1 hour' - interval '1 microsecond', 'UTC') AS hs,
           date_trunc('hour', hi, 'UTC') AS he
    FROM (
        SELECT m.meter_id, m.vehicle_id,
               CASE WHEN lower_inc(m.valid) OR coalesce(lower(m.valid) < %(from)s::timestamptz, true)
                    THEN greatest(lower(m.valid), %(from)s::timestamptz)
                    ELSE lower(m.valid) + interval '1 microsecond' END AS lo,
               CASE WHEN upper_inc(m.valid) AND upper(m.valid) < %(to)s::timestamptz
                    THEN upper(m.valid) + interval '1 microsecond'
                    ELSE least(upper(m.valid), %(to)s::timestamptz) END AS hi
        FROM smart_meter_mapping m
        WHERE m.valid && tstzrange(%(from)s::timestamptz, %(to)s::timestamptz, '[)')
    ) r
),
-- each segment's whole hours [hs, he): the rows of the window's first and last hours where
-- the segment starts or ends there, else a key lookup of that end
ac AS (
    SELECT c.vehicle_id,
           sum(coalesce(l.kwh, pl.kwh) - coalesce(f.kwh, pf.kwh)) AS kwh,
           sum(coalesce(l.n, pl.n) - coalesce(f.n, pf.n)) AS n,
           sum(date_part('epoch', c.hi - c.lo)) AS seconds
    FROM seg c
    CROSS JOIN span
    -- the segment's first stored hour is the window's when nothing is stored between them
    LEFT JOIN m_first f ON f.meter_id = c.meter_id AND c.hs <= span.m_lo AND span.m_lo < c.he
    LEFT JOIN m_last l ON l.meter_id = c.meter_id AND c.he >= span.m_hi AND c.hs < span.m_hi
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
    WHERE c.lo < c.hi
    GROUP BY c.vehicle_id
),
edges AS (  -- raw rows only where a segment starts or ends inside an hour
    SELECT c.vehicle_id, sum(x.kwh) AS kwh, sum(x.n) AS n
    FROM seg c
    CROSS JOIN LATERAL (
        SELECT sum(t.kwh_consumed_ac) AS kwh, count(*) AS n
        FROM meter_telemetry t
        WHERE t.meter_id = c.meter_id AND t.ts >= c.lo AND t.ts < c.hi
          AND (t.ts < c.hs OR t.ts >= greatest(c.he, c.hs))
          AND t.ts >= %(from)s::timestamptz AND t.ts < %(to)s::timestamptz
    ) x
    WHERE c.lo < c.hi AND (c.lo < c.hs OR greatest(c.he, c.hs) < c.hi)
    GROUP BY c.vehicle_id
),
ranked AS (  -- every vehicle with a reading or a mapped meter in the window
    SELECT vehicle_id,
           coalesce(ac.kwh, 0) + coalesce(e.kwh, 0) AS ac_kwh, coalesce(ac.n, 0) + coalesce(e.n, 0) AS ac_n,
           coalesce(dc.kwh, 0) AS dc_kwh, coalesce(dc.n, 0) AS dc_n,
           coalesce(ac.seconds, 0) AS mapped_seconds
    FROM dc FULL JOIN ac USING (vehicle_id) LEFT JOIN edges e USING (vehicle_id)
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
