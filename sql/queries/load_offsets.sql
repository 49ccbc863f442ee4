SELECT topic, partition, next_offset
FROM consumer_offsets
WHERE group_id = %(group_id)s AND topic = ANY(%(topics)s)
