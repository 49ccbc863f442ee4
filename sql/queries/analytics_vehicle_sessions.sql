-- A vehicle's charging sessions that overlap [from, to), oldest first, one page of them,
-- each with its energy over its own span (start, stop] (stop = now while open): AC from
-- the connector's meter, DC from the vehicle. A session belongs to the vehicle its card
-- (idTag) belonged to at the session's start. Each span is cut like the performance
-- query's segments: whole UTC hours from the hourly rollups, the partial first and last
-- hours from the raw rows through the (device id, ts) primary key.
WITH s AS (
    SELECT c.charge_point_id, c.connector_id, c.meter_id, c.transaction_id, c.id_tag, c.protocol,
           c.started_at, c.stopped_at, c.stop_reason
    FROM idtag_vehicles v
    JOIN charging_sessions c ON c.id_tag = v.id_tag AND v.valid @> c.started_at
    WHERE v.vehicle_id = %(vehicle_id)s::text
      AND c.started_at < %(to)s::timestamptz
      AND (c.stopped_at IS NULL OR c.stopped_at > %(from)s::timestamptz)
    ORDER BY c.started_at, c.charge_point_id, c.transaction_id
    LIMIT %(limit)s OFFSET %(offset)s
),
span AS (
    -- (start, stop] as the half-open [start + 1 us, stop + 1 us): timestamps are in microseconds
    SELECT s.*,
           s.started_at + interval '1 microsecond' AS lo,
           greatest(coalesce(s.stopped_at, %(now)s::timestamptz), s.started_at) + interval '1 microsecond' AS hi
    FROM s
),
cut AS (
    SELECT span.*,
           date_trunc('hour', lo + interval '1 hour' - interval '1 microsecond', 'UTC') AS hs,
           date_trunc('hour', hi, 'UTC') AS he
    FROM span
)
SELECT cut.charge_point_id, cut.connector_id, cut.meter_id, cut.transaction_id, cut.id_tag,
       cut.protocol, cut.started_at, cut.stopped_at, cut.stop_reason,
       ac.kwh AS ac_kwh, ac.n AS meter_samples, dc.kwh AS dc_kwh, dc.n AS vehicle_samples
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
        UNION ALL
        SELECT sum(t.kwh_consumed_ac), count(*)
        FROM meter_telemetry t
        WHERE t.meter_id = cut.meter_id AND t.ts >= greatest(cut.he, cut.hs) AND t.ts < cut.hi
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
        UNION ALL
        SELECT sum(t.kwh_delivered_dc), count(*)
        FROM vehicle_telemetry t
        WHERE t.vehicle_id = %(vehicle_id)s::text AND t.ts >= greatest(cut.he, cut.hs) AND t.ts < cut.hi
    ) x
) dc
ORDER BY cut.started_at, cut.charge_point_id, cut.transaction_id
