CREATE TEMP TABLE IF NOT EXISTS stage_meter (
    meter_id        text,
    ts              timestamptz,
    kwh_consumed_ac double precision,
    kwh_register_ac double precision,   -- a register reading (kwh_consumed_ac NULL): merge_meter_register
    voltage         double precision,
    received_at     timestamptz,
    kafka_partition integer,
    kafka_offset    bigint
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_vehicle (
    vehicle_id       text,
    ts               timestamptz,
    soc              double precision,
    kwh_delivered_dc double precision,
    battery_temp     double precision,
    received_at      timestamptz,
    kafka_partition  integer,
    kafka_offset     bigint
) ON COMMIT DELETE ROWS;
