-- Move a partition's stored next offset from what this consumer last saw to the new
-- value. No row comes back when another owner moved it meanwhile: the batch is stale.
INSERT INTO consumer_offsets AS o (group_id, topic, partition, next_offset, updated_at)
VALUES (%(group_id)s, %(topic)s, %(partition)s, %(next_offset)s, now())
ON CONFLICT (group_id, topic, partition) DO UPDATE
    SET next_offset = EXCLUDED.next_offset, updated_at = EXCLUDED.updated_at
    WHERE o.next_offset IS NOT DISTINCT FROM %(expected)s::bigint
RETURNING o.next_offset
