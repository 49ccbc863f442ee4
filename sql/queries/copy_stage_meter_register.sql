COPY stage_meter (meter_id, ts, kwh_register_ac, voltage, received_at, kafka_partition, kafka_offset)
FROM STDIN (FORMAT BINARY)
