GRANT SELECT, INSERT ON meter_telemetry, vehicle_telemetry TO energy_writer;
GRANT SELECT, INSERT, UPDATE ON meter_status, vehicle_status TO energy_writer;
GRANT SELECT, INSERT, UPDATE ON meter_hourly, vehicle_hourly TO energy_writer;
GRANT SELECT, INSERT, UPDATE ON consumer_offsets TO energy_writer;
GRANT SELECT, INSERT ON ingest_rejects TO energy_writer;
GRANT EXECUTE ON FUNCTION ensure_day_partitions(date[]) TO energy_writer;
GRANT EXECUTE ON FUNCTION drop_day_partitions_before(date) TO energy_writer;

GRANT SELECT ON meter_telemetry, vehicle_telemetry, meter_status, vehicle_status,
    meter_hourly, vehicle_hourly, smart_meter_mapping, consumer_offsets, ingest_rejects
    TO energy_reader, energy_mapper;
GRANT INSERT, UPDATE ON smart_meter_mapping TO energy_mapper;
