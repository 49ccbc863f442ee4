-- The horizon's lock, exclusively, until the end of the transaction: waits for every
-- transaction that read the horizon through fleet_answer_horizon_held() (migration 0019).
SELECT pg_advisory_xact_lock(hashtextextended('fleet_answer_horizon', 0))
