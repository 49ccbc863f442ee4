-- Move the stored fleet answers' horizon forward to %(horizon)s (never back); waits for
-- every transaction that holds the row FOR SHARE (a consumer's batch, a mapping change).
UPDATE fleet_answer_horizon
SET horizon = greatest(horizon, %(horizon)s::timestamptz)
RETURNING horizon
