-- The stored fleet answer of [from, to) (migration 0019), served only while no change noted
-- inside its window is missing from the snapshot it was computed in: then it is what the
-- ranking query (analytics_fleet_efficiency.sql) would answer now, with the same columns.
-- One line with NULLs when it ranks no vehicle; no row when there is none to serve.
WITH a AS MATERIALIZED (  -- checked once, not per line
    SELECT a.*
    FROM fleet_answer a
    WHERE a.window_start = %(from)s::timestamptz AND a.window_end = %(to)s::timestamptz
      AND a.threshold = %(threshold)s::numeric
      AND NOT EXISTS (
          SELECT 1 FROM fleet_change c
          WHERE c.lo < a.window_end AND c.hi > a.window_start AND NOT pg_visible_in_snapshot(c.xid, a.snap)
      )
)
SELECT l.vehicle_id, l.ac_kwh, l.ac_n, l.dc_kwh, l.dc_n, l.mapped_seconds,
       a.vehicles AS total, a.ac_kwh AS fleet_ac_kwh, a.dc_kwh AS fleet_dc_kwh,
       a.rated AS fleet_rated, a.low_efficiency AS fleet_low
FROM a
LEFT JOIN fleet_answer_line l USING (window_start, window_end, threshold)
ORDER BY l.rank
LIMIT %(limit)s
