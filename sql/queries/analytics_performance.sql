-- One vehicle's energy balance over the half-open window [from, to), exact and fast.
--
-- Each stream is cut into segments: the window itself for the vehicle, and for each
-- meter mapped to the vehicle the intersection of its mapping range with the window
-- (so a meter reading counts for the vehicle it was mapped to at that reading's time).
-- A segment [lo, hi) splits into the whole UTC hours [hs, he) inside it, read from the
-- hourly rollups' running totals (migration 0017: the last row of the run minus what came
-- before its first, two rows whatever the run's length), and its partial first and last
-- hours [lo, hs) and [he, hi). A partial
-- piece [a, b) of hour h is read from the raw rows through the (device id, ts) primary key
-- when it is at most half of its hour, else as the hour's rollup minus the raw rows of the
-- rest of the hour, [h, a) and [b, h + 1 h): every sum here (energy, temperature, samples)
-- subtracts exactly, and no more than half an hour of raw rows is read per piece (the raw
-- rows of a device are on a page each, so these are the query's page reads). History is
-- never scanned.
WITH win AS (
    SELECT tstzrange(%(from)s::timestamptz, %(to)s::timestamptz, '[)') AS w
),
seg AS (
    SELECT 'vehicle'::text AS kind, %(vehicle_id)s::text AS device_id, win.w AS r
    FROM win
    UNION ALL
    SELECT 'meter', m.meter_id, m.valid * win.w
    FROM smart_meter_mapping m, win
    WHERE m.vehicle_id = %(vehicle_id)s::text AND m.valid && win.w
),
half_open AS (
    -- timestamps have microsecond resolution, so any range has an exact [lo, hi) form
    SELECT kind, device_id,
           CASE WHEN lower_inc(r) THEN lower(r) ELSE lower(r) + interval '1 microsecond' END AS lo,
           CASE WHEN upper_inc(r) THEN upper(r) + interval '1 microsecond' ELSE upper(r) END AS hi
    FROM seg
),
cut AS (
    SELECT kind, device_id, lo, hi,
           date_trunc('hour', lo + interval '1 hour' - interval '1 microsecond', 'UTC') AS hs,
           date_trunc('hour', hi, 'UTC') AS he
    FROM half_open
    WHERE lo < hi
),
edge AS (
    SELECT kind, device_id, a, b, date_trunc('hour', a, 'UTC') AS h
    FROM (
        SELECT kind, device_id, lo AS a, least(hs, hi) AS b FROM cut WHERE lo < least(hs, hi)
        UNION ALL
        SELECT kind, device_id, greatest(he, hs), hi FROM cut WHERE greatest(he, hs) < hi
    ) e
),
edge_way AS (
    -- read the piece itself, or its hour minus the rest: whichever reads less
    SELECT kind, device_id, a, b, h, h + interval '1 hour' AS h_end,
           b - a > (a - h) + (h + interval '1 hour' - b) AS by_rest
    FROM edge
),
piece AS (
    SELECT kind, device_id, true AS whole, 1 AS sign, hs AS p_lo, he AS p_hi FROM cut WHERE hs < he
    UNION ALL
    SELECT kind, device_id, false, 1, a, b FROM edge_way WHERE NOT by_rest
    UNION ALL
    SELECT kind, device_id, true, 1, h, h_end FROM edge_way WHERE by_rest
    UNION ALL
    SELECT kind, device_id, false, -1, h, a FROM edge_way WHERE by_rest AND h < a
    UNION ALL
    SELECT kind, device_id, false, -1, b, h_end FROM edge_way WHERE by_rest AND b < h_end
),
vehicle_sum AS (
    SELECT coalesce(sum(p.sign * x.kwh), 0) AS kwh, coalesce(sum(p.sign * x.temp), 0) AS temp,
           coalesce(sum(p.sign * x.n), 0) AS n
    FROM piece p,
    LATERAL (
        SELECT l.kwh_through - f.kwh_before AS kwh, l.battery_temp_through - f.temp_before AS temp,
               l.samples_through - f.samples_before AS n
        FROM (
            SELECT h.kwh_through - h.kwh_delivered_dc AS kwh_before,
                   h.battery_temp_through - h.battery_temp_sum AS temp_before,
                   h.samples_through - h.samples AS samples_before
            FROM vehicle_hourly h
            WHERE p.whole AND h.vehicle_id = p.device_id AND h.hour >= p.p_lo AND h.hour < p.p_hi
            ORDER BY h.hour
            LIMIT 1
        ) f,
        LATERAL (
            SELECT h.kwh_through, h.battery_temp_through, h.samples_through
            FROM vehicle_hourly h
            WHERE h.vehicle_id = p.device_id AND h.hour >= p.p_lo AND h.hour < p.p_hi
            ORDER BY h.hour DESC
            LIMIT 1
        ) l
        UNION ALL
        SELECT sum(t.kwh_delivered_dc), sum(t.battery_temp), count(*)
        FROM vehicle_telemetry t
        WHERE NOT p.whole AND t.vehicle_id = p.device_id AND t.ts >= p.p_lo AND t.ts < p.p_hi
          AND t.ts >= date_trunc('hour', %(from)s::timestamptz, 'UTC')
          AND t.ts < date_trunc('hour', %(to)s::timestamptz, 'UTC') + interval '1 hour'
    ) x
    WHERE p.kind = 'vehicle'
),
meter_sum AS (
    SELECT coalesce(sum(p.sign * x.kwh), 0) AS kwh, coalesce(sum(p.sign * x.n), 0) AS n
    FROM piece p,
    LATERAL (
        SELECT l.kwh_through - f.kwh_before AS kwh, l.samples_through - f.samples_before AS n
        FROM (
            SELECT h.kwh_through - h.kwh_consumed_ac AS kwh_before, h.samples_through - h.samples AS samples_before
            FROM meter_hourly h
            WHERE p.whole AND h.meter_id = p.device_id AND h.hour >= p.p_lo AND h.hour < p.p_hi
            ORDER BY h.hour
            LIMIT 1
        ) f,
        LATERAL (
            SELECT h.kwh_through, h.samples_through
            FROM meter_hourly h
            WHERE h.meter_id = p.device_id AND h.hour >= p.p_lo AND h.hour < p.p_hi
            ORDER BY h.hour DESC
            LIMIT 1
        ) l
        UNION ALL
        SELECT sum(t.kwh_consumed_ac), count(*)
        FROM meter_telemetry t
        WHERE NOT p.whole AND t.meter_id = p.device_id AND t.ts >= p.p_lo AND t.ts < p.p_hi
          AND t.ts >= date_trunc('hour', %(from)s::timestamptz, 'UTC')
          AND t.ts < date_trunc('hour', %(to)s::timestamptz, 'UTC') + interval '1 hour'
    ) x
    WHERE p.kind = 'meter'
),
mapped AS (
    SELECT coalesce(array_agg(DISTINCT device_id ORDER BY device_id), '{}') AS meter_ids,
           coalesce(sum(extract(epoch FROM hi - lo)), 0) AS seconds
    FROM cut
    WHERE kind = 'meter'
)
SELECT
    EXISTS (SELECT FROM vehicle_status WHERE vehicle_id = %(vehicle_id)s::text)
        OR EXISTS (SELECT FROM vehicle_hourly WHERE vehicle_id = %(vehicle_id)s::text)
        OR EXISTS (SELECT FROM smart_meter_mapping WHERE vehicle_id = %(vehicle_id)s::text) AS known,
    v.kwh AS dc_kwh, v.temp AS temp_sum, v.n AS vehicle_samples,
    m.kwh AS ac_kwh, m.n AS meter_samples,
    mapped.meter_ids, mapped.seconds AS mapped_seconds
FROM vehicle_sum v, meter_sum m, mapped
