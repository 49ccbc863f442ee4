-- One closed UTC day's hourly rollups rewritten in device order (migration 0016); 0 when
-- that day was compacted before.
SELECT compact_hourly_rollups(%(day)s::date)
