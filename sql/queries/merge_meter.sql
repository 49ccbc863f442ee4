-- From the staged batch: insert new readings into history (a retry or replay of a
-- stored reading is skipped; within the batch the lowest offset wins), then move the
-- status forward and add to the hourly and daily rollups using only the rows actually
-- inserted, so that nothing is counted twice. Returns the number of rows inserted.
-- Interval readings only: register readings (kwh_consumed_ac NULL in the stage) are
-- merge_meter_register.sql's, run only for a batch that has any. A NULL voltage (not
-- measured) is counted in voltage_missing and left out of the voltage aggregates.
WITH ins AS (
    INSERT INTO meter_telemetry AS t
        (meter_id, ts, kwh_consumed_ac, voltage, received_at, kafka_partition, kafka_offset)
    SELECT meter_id, ts, kwh_consumed_ac::numeric, voltage, received_at, kafka_partition, kafka_offset
    FROM stage_meter
    WHERE kwh_consumed_ac IS NOT NULL
    ORDER BY kafka_partition, kafka_offset
    ON CONFLICT (meter_id, ts) DO NOTHING
    RETURNING t.meter_id, t.ts, t.kwh_consumed_ac, t.voltage, t.received_at
),
status AS (
    INSERT INTO meter_status AS s (meter_id, ts, kwh_consumed_ac, voltage, received_at, updated_at)
    SELECT DISTINCT ON (meter_id) meter_id, ts, kwh_consumed_ac, voltage, received_at, now()
    FROM ins
    ORDER BY meter_id, ts DESC
    ON CONFLICT (meter_id) DO UPDATE
        SET ts = EXCLUDED.ts,
            kwh_consumed_ac = EXCLUDED.kwh_consumed_ac,
            kwh_register_ac = NULL,
            voltage = EXCLUDED.voltage,
            received_at = EXCLUDED.received_at,
            updated_at = EXCLUDED.updated_at
        WHERE s.ts < EXCLUDED.ts
),
rollup AS (
    INSERT INTO meter_hourly AS h
        (meter_id, hour, kwh_consumed_ac, voltage_min, voltage_max, voltage_sum, samples, voltage_missing)
    SELECT meter_id, date_trunc('hour', ts, 'UTC'), sum(kwh_consumed_ac), min(voltage),
           max(voltage), coalesce(sum(voltage), 0), count(*), count(*) - count(voltage)
    FROM ins
    GROUP BY 1, 2
    ON CONFLICT (meter_id, hour) DO UPDATE
        SET kwh_consumed_ac = h.kwh_consumed_ac + EXCLUDED.kwh_consumed_ac,
            voltage_min = least(h.voltage_min, EXCLUDED.voltage_min),
            voltage_max = greatest(h.voltage_max, EXCLUDED.voltage_max),
            voltage_sum = h.voltage_sum + EXCLUDED.voltage_sum,
            samples = h.samples + EXCLUDED.samples,
            voltage_missing = h.voltage_missing + EXCLUDED.voltage_missing
),
daily AS (
    INSERT INTO meter_daily AS d
        (meter_id, day, kwh_consumed_ac, voltage_min, voltage_max, voltage_sum, samples, voltage_missing)
    SELECT meter_id, date_trunc('day', ts, 'UTC'), sum(kwh_consumed_ac), min(voltage),
           max(voltage), coalesce(sum(voltage), 0), count(*), count(*) - count(voltage)
    FROM ins
    GROUP BY 1, 2
    ON CONFLICT (meter_id, day) DO UPDATE
        SET kwh_consumed_ac = d.kwh_consumed_ac + EXCLUDED.kwh_consumed_ac,
            voltage_min = least(d.voltage_min, EXCLUDED.voltage_min),
            voltage_max = greatest(d.voltage_max, EXCLUDED.voltage_max),
            voltage_sum = d.voltage_sum + EXCLUDED.voltage_sum,
            samples = d.samples + EXCLUDED.samples,
            voltage_missing = d.voltage_missing + EXCLUDED.voltage_missing
)
SELECT count(*) FROM ins
