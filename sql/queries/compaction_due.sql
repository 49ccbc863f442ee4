-- Closed UTC days, newest first, from the last %(lookback)s, not compacted yet: the days
-- that ended at least %(grace_s)s seconds ago.
SELECT d::date AS day
FROM generate_series(
    (now() AT TIME ZONE 'UTC')::date - %(lookback)s::integer,
    (now() AT TIME ZONE 'UTC')::date - 1,
    interval '1 day'
) d
WHERE (d::date + 1)::timestamp AT TIME ZONE 'UTC' <= now() - make_interval(secs => %(grace_s)s::integer)
  AND NOT EXISTS (SELECT FROM rollup_compactions c WHERE c.day = d::date)
ORDER BY d DESC
