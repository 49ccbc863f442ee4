-- Remove the derived mapping rows of sessions %(ids)s (recomputed next).
DELETE FROM smart_meter_mapping
WHERE source = 'ocpp' AND session_id = ANY(%(ids)s::bigint[])
