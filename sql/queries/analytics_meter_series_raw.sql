-- A meter's raw readings in one-minute buckets over [from, to) (primary-key range scan).
SELECT date_trunc('minute', ts, 'UTC') AS ts, count(*) AS samples,
       sum(kwh_consumed_ac) AS kwh_consumed_ac, min(voltage) AS voltage_min,
       max(voltage) AS voltage_max, avg(voltage) AS voltage_avg
FROM meter_telemetry
WHERE meter_id = %(device_id)s AND ts >= %(from)s AND ts < %(to)s
GROUP BY 1
ORDER BY 1
LIMIT %(limit)s
