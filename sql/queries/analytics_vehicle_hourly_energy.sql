-- A vehicle's energy per UTC hour over [from, to) (whole hours, rounded by the API): DC and
-- SoC range from its hourly rollups; AC from each meter mapped to it, per hour: the meter's
-- hourly rollup when the mapping covers the whole hour, else its raw rows inside the mapping
-- (a meter counts for the vehicle it was mapped to at each reading's time).
WITH hours AS (
    SELECT h FROM generate_series(%(from)s::timestamptz, %(to)s::timestamptz - interval '1 hour',
                                  interval '1 hour') AS h
),
seg AS (
    SELECT meter_id,
           CASE WHEN lower_inc(r) THEN lower(r) ELSE lower(r) + interval '1 microsecond' END AS lo,
           CASE WHEN upper_inc(r) THEN upper(r) + interval '1 microsecond' ELSE upper(r) END AS hi
    FROM (
        SELECT m.meter_id, m.valid * tstzrange(%(from)s::timestamptz, %(to)s::timestamptz, '[)') AS r
        FROM smart_meter_mapping m
        WHERE m.vehicle_id = %(vehicle_id)s::text
          AND m.valid && tstzrange(%(from)s::timestamptz, %(to)s::timestamptz, '[)')
    ) clipped
),
piece AS (
    SELECT hours.h, seg.meter_id, seg.lo <= hours.h AND seg.hi >= hours.h + interval '1 hour' AS whole,
           greatest(seg.lo, hours.h) AS p_lo, least(seg.hi, hours.h + interval '1 hour') AS p_hi
    FROM hours JOIN seg ON seg.lo < hours.h + interval '1 hour' AND seg.hi > hours.h
),
ac AS (
    SELECT p.h, sum(x.kwh) AS kwh
    FROM piece p,
    LATERAL (
        SELECT mh.kwh_consumed_ac AS kwh
        FROM meter_hourly mh
        WHERE p.whole AND mh.meter_id = p.meter_id AND mh.hour = p.h
        UNION ALL
        SELECT sum(t.kwh_consumed_ac)
        FROM meter_telemetry t
        WHERE NOT p.whole AND t.meter_id = p.meter_id AND t.ts >= p.p_lo AND t.ts < p.p_hi
          AND t.ts >= %(from)s::timestamptz AND t.ts < %(to)s::timestamptz
    ) x
    GROUP BY p.h
)
SELECT hours.h AS ts,
       coalesce(ac.kwh, 0) AS kwh_consumed_ac,
       coalesce(vh.kwh_delivered_dc, 0) AS kwh_delivered_dc,
       vh.soc_min, vh.soc_max
FROM hours
LEFT JOIN ac ON ac.h = hours.h
LEFT JOIN vehicle_hourly vh ON vh.vehicle_id = %(vehicle_id)s::text AND vh.hour = hours.h
ORDER BY hours.h
