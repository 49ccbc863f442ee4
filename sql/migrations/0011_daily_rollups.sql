-- Daily rollups: the same aggregates as the hourly ones, per device and UTC day
-- (date_trunc('day', ts, 'UTC')). The consumer adds to them in the same statement, from
-- the same inserted rows, as to the hourly rollups (merge_meter.sql, merge_vehicle.sql),
-- so each stored reading is counted exactly once in each. The fleet ranking reads whole
-- days from here, whole hours from the hourly rollups, raw rows only at the edges.
--
-- A day's row is updated by every batch during that day (like a status row), then rests:
-- half of each page is kept free for HOT updates. Only `day` is indexed besides the key
-- (the ranking reads one day for every device), and it never changes on update.
CREATE TABLE IF NOT EXISTS meter_daily (
    meter_id        text             NOT NULL,
    day             timestamptz      NOT NULL,
    kwh_consumed_ac numeric          NOT NULL,
    voltage_min     double precision NOT NULL,
    voltage_max     double precision NOT NULL,
    voltage_sum     double precision NOT NULL,
    samples         integer          NOT NULL,
    PRIMARY KEY (meter_id, day)
) WITH (fillfactor = 50);

CREATE TABLE IF NOT EXISTS vehicle_daily (
    vehicle_id       text             NOT NULL,
    day              timestamptz      NOT NULL,
    kwh_delivered_dc numeric          NOT NULL,
    battery_temp_sum numeric          NOT NULL,
    battery_temp_max numeric          NOT NULL,
    soc_min          double precision NOT NULL,
    soc_max          double precision NOT NULL,
    samples          integer          NOT NULL,
    PRIMARY KEY (vehicle_id, day)
) WITH (fillfactor = 50);

CREATE INDEX IF NOT EXISTS meter_daily_day_idx ON meter_daily (day);
CREATE INDEX IF NOT EXISTS vehicle_daily_day_idx ON vehicle_daily (day);

GRANT SELECT, INSERT, UPDATE ON meter_daily, vehicle_daily TO energy_writer;
GRANT SELECT ON meter_daily, vehicle_daily TO energy_reader, energy_mapper;

-- Backfill from the hourly rollups (the sums of a day's hours are the day's sums). The
-- SHARE locks make a consumer that writes meanwhile wait for this transaction, so no
-- hourly row changes between the snapshot read here and the commit. Consumers older than
-- this migration do not maintain the daily rollups: stop them, migrate, then start the
-- new ones (README.md, Operating it).
LOCK TABLE meter_hourly, vehicle_hourly IN SHARE MODE;

INSERT INTO meter_daily (meter_id, day, kwh_consumed_ac, voltage_min, voltage_max, voltage_sum, samples)
SELECT meter_id, date_trunc('day', hour, 'UTC'), sum(kwh_consumed_ac), min(voltage_min),
       max(voltage_max), sum(voltage_sum), sum(samples)
FROM meter_hourly
GROUP BY 1, 2
ON CONFLICT (meter_id, day) DO NOTHING;

INSERT INTO vehicle_daily
    (vehicle_id, day, kwh_delivered_dc, battery_temp_sum, battery_temp_max, soc_min, soc_max, samples)
SELECT vehicle_id, date_trunc('day', hour, 'UTC'), sum(kwh_delivered_dc), sum(battery_temp_sum),
       max(battery_temp_max), min(soc_min), max(soc_max), sum(samples)
FROM vehicle_hourly
GROUP BY 1, 2
ON CONFLICT (vehicle_id, day) DO NOTHING;
