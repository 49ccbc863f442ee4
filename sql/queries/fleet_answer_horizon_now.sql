-- The horizon in force, not moved (NULL before its first move).
SELECT nullif(horizon, '-infinity') FROM fleet_answer_horizon
