-- Forget the noted changes that no stored answer misses (every answer computed from now on
-- sees them): what is left are late changes whose answers are still to be recomputed.
DELETE FROM fleet_change c
WHERE NOT EXISTS (
    SELECT 1 FROM fleet_answer a
    WHERE c.lo < a.window_end AND c.hi > a.window_start AND NOT pg_visible_in_snapshot(c.xid, a.snap)
)
