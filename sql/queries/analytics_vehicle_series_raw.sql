-- A vehicle's raw readings in one-minute buckets over [from, to) (primary-key range scan).
SELECT date_trunc('minute', ts, 'UTC') AS ts, count(*) AS samples,
       sum(kwh_delivered_dc) AS kwh_delivered_dc, min(soc) AS soc_min, max(soc) AS soc_max,
       sum(battery_temp) / count(*) AS battery_temp_avg, max(battery_temp) AS battery_temp_max
FROM vehicle_telemetry
WHERE vehicle_id = %(device_id)s AND ts >= %(from)s AND ts < %(to)s
GROUP BY 1
ORDER BY 1
LIMIT %(limit)s
