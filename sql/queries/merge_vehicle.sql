-- See merge_meter.sql: the same steps for vehicles.
WITH ins AS (
    INSERT INTO vehicle_telemetry AS t
        (vehicle_id, ts, soc, kwh_delivered_dc, battery_temp, received_at, kafka_partition, kafka_offset)
    SELECT vehicle_id, ts, soc, kwh_delivered_dc::numeric, battery_temp::numeric, received_at,
           kafka_partition, kafka_offset
    FROM stage_vehicle
    ORDER BY kafka_partition, kafka_offset
    ON CONFLICT (vehicle_id, ts) DO NOTHING
    RETURNING t.vehicle_id, t.ts, t.soc, t.kwh_delivered_dc, t.battery_temp, t.received_at
),
status AS (
    INSERT INTO vehicle_status AS s
        (vehicle_id, ts, soc, kwh_delivered_dc, battery_temp, received_at, updated_at)
    SELECT DISTINCT ON (vehicle_id) vehicle_id, ts, soc, kwh_delivered_dc, battery_temp,
           received_at, now()
    FROM ins
    ORDER BY vehicle_id, ts DESC
    ON CONFLICT (vehicle_id) DO UPDATE
        SET ts = EXCLUDED.ts,
            soc = EXCLUDED.soc,
            kwh_delivered_dc = EXCLUDED.kwh_delivered_dc,
            battery_temp = EXCLUDED.battery_temp,
            received_at = EXCLUDED.received_at,
            updated_at = EXCLUDED.updated_at
        WHERE s.ts < EXCLUDED.ts
),
rollup AS (
    INSERT INTO vehicle_hourly AS h
        (vehicle_id, hour, kwh_delivered_dc, battery_temp_sum, battery_temp_max, soc_min,
         soc_max, samples)
    SELECT vehicle_id, date_trunc('hour', ts, 'UTC'), sum(kwh_delivered_dc), sum(battery_temp),
           max(battery_temp), min(soc), max(soc), count(*)
    FROM ins
    GROUP BY 1, 2
    ON CONFLICT (vehicle_id, hour) DO UPDATE
        SET kwh_delivered_dc = h.kwh_delivered_dc + EXCLUDED.kwh_delivered_dc,
            battery_temp_sum = h.battery_temp_sum + EXCLUDED.battery_temp_sum,
            battery_temp_max = greatest(h.battery_temp_max, EXCLUDED.battery_temp_max),
            soc_min = least(h.soc_min, EXCLUDED.soc_min),
            soc_max = greatest(h.soc_max, EXCLUDED.soc_max),
            samples = h.samples + EXCLUDED.samples
),
daily AS (
    INSERT INTO vehicle_daily AS d
        (vehicle_id, day, kwh_delivered_dc, battery_temp_sum, battery_temp_max, soc_min,
         soc_max, samples)
    SELECT vehicle_id, date_trunc('day', ts, 'UTC'), sum(kwh_delivered_dc), sum(battery_temp),
           max(battery_temp), min(soc), max(soc), count(*)
    FROM ins
    GROUP BY 1, 2
    ON CONFLICT (vehicle_id, day) DO UPDATE
        SET kwh_delivered_dc = d.kwh_delivered_dc + EXCLUDED.kwh_delivered_dc,
            battery_temp_sum = d.battery_temp_sum + EXCLUDED.battery_temp_sum,
            battery_temp_max = greatest(d.battery_temp_max, EXCLUDED.battery_temp_max),
            soc_min = least(d.soc_min, EXCLUDED.soc_min),
            soc_max = greatest(d.soc_max, EXCLUDED.soc_max),
            samples = d.samples + EXCLUDED.samples
)
SELECT count(*) FROM ins
