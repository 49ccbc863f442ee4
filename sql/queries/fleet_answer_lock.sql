-- One job at a time computes the stored fleet answers (a session lock, released after).
SELECT pg_try_advisory_lock(hashtextextended(%(key)s, 0))
