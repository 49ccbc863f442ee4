-- Move each partition's stored next offset from what this consumer last saw to the new
-- value, all of a batch's partitions in one statement. A partition comes back when its
-- offset moved (or was stored for the first time); one that does not was moved by another
-- owner meanwhile: the batch is stale. Under READ COMMITTED the UPDATE waits for a
-- concurrent writer of the same row and re-checks next_offset = expected on its new
-- version; two first inserts of one partition meet in the unique index, and the later one
-- inserts nothing.
WITH given AS (
    SELECT *
    FROM unnest(%(topics)s::text[], %(partitions)s::integer[], %(next_offsets)s::bigint[],
                %(expected)s::bigint[]) AS g (topic, partition, next_offset, expected)
),
moved AS (
    UPDATE consumer_offsets AS o
    SET next_offset = g.next_offset, updated_at = now()
    FROM given AS g
    WHERE o.group_id = %(group_id)s AND o.topic = g.topic AND o.partition = g.partition
      AND o.next_offset = g.expected
    RETURNING o.topic, o.partition
),
added AS (
    INSERT INTO consumer_offsets (group_id, topic, partition, next_offset, updated_at)
    SELECT %(group_id)s, topic, partition, next_offset, now()
    FROM given
    ON CONFLICT (group_id, topic, partition) DO NOTHING
    RETURNING topic, partition
)
SELECT topic, partition FROM moved
UNION ALL
SELECT topic, partition FROM added
