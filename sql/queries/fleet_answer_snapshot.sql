-- The snapshot of this repeatable-read transaction (its first statement takes it) and the
-- horizon it sees: a standby that has not replayed the horizon's move yet is not ranked on.
SELECT pg_current_snapshot()::text AS snap,
       (SELECT nullif(horizon, '-infinity') FROM fleet_answer_horizon) AS horizon
