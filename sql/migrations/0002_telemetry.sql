-- Cold history: append-only, range-partitioned by UTC day of the reading time.
-- Energies are numeric so that sums (and rollups) are exact decimal arithmetic.
CREATE TABLE meter_telemetry (
    meter_id        text             NOT NULL,
    ts              timestamptz      NOT NULL,
    kwh_consumed_ac numeric          NOT NULL CHECK (kwh_consumed_ac >= 0),
    voltage         double precision NOT NULL,
    received_at     timestamptz,
    kafka_partition integer,
    kafka_offset    bigint,
    PRIMARY KEY (meter_id, ts)
) PARTITION BY RANGE (ts);

CREATE TABLE vehicle_telemetry (
    vehicle_id       text             NOT NULL,
    ts               timestamptz      NOT NULL,
    soc              double precision NOT NULL CHECK (soc BETWEEN 0 AND 100),
    kwh_delivered_dc numeric          NOT NULL CHECK (kwh_delivered_dc >= 0),
    battery_temp     numeric          NOT NULL,
    received_at      timestamptz,
    kafka_partition  integer,
    kafka_offset     bigint,
    PRIMARY KEY (vehicle_id, ts)
) PARTITION BY RANGE (ts);

-- Hot status: one row per device, the newest reading by reading time.
CREATE TABLE meter_status (
    meter_id        text             PRIMARY KEY,
    ts              timestamptz      NOT NULL,
    kwh_consumed_ac numeric          NOT NULL,
    voltage         double precision NOT NULL,
    received_at     timestamptz,
    updated_at      timestamptz      NOT NULL DEFAULT now()
);

CREATE TABLE vehicle_status (
    vehicle_id       text             PRIMARY KEY,
    ts               timestamptz      NOT NULL,
    soc              double precision NOT NULL,
    kwh_delivered_dc numeric          NOT NULL,
    battery_temp     numeric          NOT NULL,
    received_at      timestamptz,
    updated_at       timestamptz      NOT NULL DEFAULT now()
);

-- Hourly rollups, maintained from the rows each batch actually inserted.
CREATE TABLE meter_hourly (
    meter_id        text             NOT NULL,
    hour            timestamptz      NOT NULL,
    kwh_consumed_ac numeric          NOT NULL,
    voltage_min     double precision NOT NULL,
    voltage_max     double precision NOT NULL,
    voltage_sum     double precision NOT NULL,
    samples         integer          NOT NULL,
    PRIMARY KEY (meter_id, hour)
);

CREATE TABLE vehicle_hourly (
    vehicle_id       text             NOT NULL,
    hour             timestamptz      NOT NULL,
    kwh_delivered_dc numeric          NOT NULL,
    battery_temp_sum numeric          NOT NULL,
    battery_temp_max numeric          NOT NULL,
    soc_min          double precision NOT NULL,
    soc_max          double precision NOT NULL,
    samples          integer          NOT NULL,
    PRIMARY KEY (vehicle_id, hour)
);

-- Next Kafka offset per (group, topic, partition), written with the data it covers.
CREATE TABLE consumer_offsets (
    group_id    text        NOT NULL,
    topic       text        NOT NULL,
    partition   integer     NOT NULL,
    next_offset bigint      NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, topic, partition)
);

-- Messages that could not be decoded or validated, kept with their raw bytes.
CREATE TABLE ingest_rejects (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic        text        NOT NULL,
    partition    integer     NOT NULL,
    kafka_offset bigint      NOT NULL,
    key          bytea,
    raw          bytea       NOT NULL,
    reason       text        NOT NULL,
    detail       text,
    rejected_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (topic, partition, kafka_offset)
);
CREATE INDEX ingest_rejects_reason_idx ON ingest_rejects (reason, rejected_at);
