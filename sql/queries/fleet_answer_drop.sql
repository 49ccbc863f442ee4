-- Let go of the stored answers that are no longer wanted: other thresholds, and windows not
-- in the arrays %(starts)s / %(ends)s (their lines go with them).
DELETE FROM fleet_answer a
WHERE a.threshold <> %(threshold)s::numeric
   OR (a.window_start, a.window_end) NOT IN (
       SELECT * FROM unnest(%(starts)s::timestamptz[], %(ends)s::timestamptz[]))
