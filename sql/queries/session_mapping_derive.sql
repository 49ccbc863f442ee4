-- The derived mapping rows of sessions %(ids)s (their old rows cleared before): a session
-- with a start and an idTag that belonged to a vehicle at that start maps its meter to
-- that vehicle over (start, end], where end is the earliest of its stop and the next
-- session's start on the meter (open-ended while neither is known), minus every manual
-- mapping range of the meter (manual mappings win). Returns the rows inserted.
WITH s AS (
    SELECT c.id, c.meter_id, c.started_at, v.vehicle_id, least(c.stopped_at, nxt.started_at) AS ends
    FROM charging_sessions c
    JOIN idtag_vehicles v ON v.id_tag = c.id_tag AND v.valid @> c.started_at
    LEFT JOIN LATERAL (
        SELECT n.started_at
        FROM charging_sessions n
        WHERE n.meter_id = c.meter_id AND n.started_at IS NOT NULL
          AND (n.started_at, n.transaction_id) > (c.started_at, c.transaction_id)
        ORDER BY n.started_at, n.transaction_id
        LIMIT 1
    ) nxt ON true
    WHERE c.id = ANY(%(ids)s::bigint[]) AND c.started_at IS NOT NULL
),
span AS (
    SELECT id, meter_id, vehicle_id,
           CASE WHEN ends IS NULL THEN tstzrange(started_at, NULL, '(]')
                ELSE tstzrange(started_at, greatest(ends, started_at), '(]') END AS r
    FROM s
),
ins AS (
    INSERT INTO smart_meter_mapping (meter_id, vehicle_id, valid, source, session_id)
    SELECT sp.meter_id, sp.vehicle_id, piece, 'ocpp', sp.id
    FROM span sp
    CROSS JOIN LATERAL unnest(
        tstzmultirange(sp.r) - coalesce(
            (SELECT range_agg(m.valid) FROM smart_meter_mapping m
             WHERE m.meter_id = sp.meter_id AND m.source = 'manual' AND m.valid && sp.r),
            '{}'::tstzmultirange)
    ) AS piece
    WHERE NOT isempty(sp.r)
    RETURNING 1
)
SELECT count(*) FROM ins
