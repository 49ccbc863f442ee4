INSERT INTO ingest_rejects (topic, partition, kafka_offset, key, raw, reason, detail)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (topic, partition, kafka_offset) DO NOTHING
