-- Serialise changes of one meter's mapping until the end of the transaction (this also
-- covers a meter's first mapping, when there is no row to lock yet).
SELECT pg_advisory_xact_lock(hashtextextended('smart_meter_mapping:' || %(meter_id)s::text, 0))
