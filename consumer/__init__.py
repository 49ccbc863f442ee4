"""Consumer workers: drain Kafka partitions in batches into PostgreSQL, effectively once."""
