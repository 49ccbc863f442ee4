"""The ingest gateway: validates device telemetry and publishes it to Kafka."""
