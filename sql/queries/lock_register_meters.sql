-- Before merge_meter_register.sql, in a statement of its own: a transaction-scoped advisory
-- lock per meter of the staged register readings, taken in meter order (no deadlock between
-- two batches). Two transactions that hold readings of one meter (two consumers while a
-- rebalance overlaps, or the meter's key moved to another partition when partitions were
-- added) then merge one after the other, and the second's merge statement, which starts
-- after it got the locks, sees the first's rows: the chain is never computed from a stale
-- snapshot. Interval readings are additive and need no lock.
SELECT count(pg_advisory_xact_lock(hashtextextended(meter_id, 13)))
FROM (
    SELECT DISTINCT meter_id FROM stage_meter WHERE kwh_register_ac IS NOT NULL ORDER BY meter_id
) m
