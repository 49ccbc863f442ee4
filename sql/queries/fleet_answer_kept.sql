-- The stored answers of threshold %(threshold)s, each with whether a change noted inside its
-- window is missing from its snapshot (then it is recomputed).
SELECT a.window_start, a.window_end,
       EXISTS (
           SELECT 1 FROM fleet_change c
           WHERE c.lo < a.window_end AND c.hi > a.window_start AND NOT pg_visible_in_snapshot(c.xid, a.snap)
       ) AS stale
FROM fleet_answer a
WHERE a.threshold = %(threshold)s::numeric
