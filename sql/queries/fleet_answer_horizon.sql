-- Move the stored fleet answers' horizon forward to %(horizon)s, in a transaction that has
-- taken the horizon's lock exclusively (fleet_answer_horizon_lock.sql). Returns it.
UPDATE fleet_answer_horizon
SET horizon = %(horizon)s::timestamptz
WHERE horizon < %(horizon)s::timestamptz
RETURNING horizon
