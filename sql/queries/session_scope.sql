-- The sessions whose derived mapping may change when the sessions %(ids)s changed: on
-- each of their meters, every session from the one before the earliest changed start on
-- (a session without a stop of its own ends where the next one on its meter starts).
WITH touched AS (
    SELECT meter_id, min(started_at) AS lo
    FROM charging_sessions
    WHERE id = ANY(%(ids)s::bigint[]) AND started_at IS NOT NULL
    GROUP BY meter_id
)
SELECT c.id
FROM touched t
CROSS JOIN LATERAL (
    SELECT max(p.started_at) AS prev
    FROM charging_sessions p
    WHERE p.meter_id = t.meter_id AND p.started_at < t.lo
) b
JOIN charging_sessions c ON c.meter_id = t.meter_id AND c.started_at >= coalesce(b.prev, t.lo)
ORDER BY c.id
