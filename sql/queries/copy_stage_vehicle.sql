COPY stage_vehicle (vehicle_id, ts, soc, kwh_delivered_dc, battery_temp, received_at, kafka_partition, kafka_offset)
FROM STDIN (FORMAT BINARY)
