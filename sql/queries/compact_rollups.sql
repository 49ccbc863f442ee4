-- One closed UTC day's hourly rollups rewritten in hour order (migrations 0016, 0017);
-- 0 when that day was compacted before.
SELECT compact_hourly_rollups(%(day)s::date)
