-- A vehicle's hourly rollups over [from, to), in UTC buckets of the unit parameter ('hour' or 'day').
SELECT date_trunc(%(unit)s::text, hour, 'UTC') AS ts, sum(samples) AS samples,
       sum(kwh_delivered_dc) AS kwh_delivered_dc, min(soc_min) AS soc_min, max(soc_max) AS soc_max,
       sum(battery_temp_sum) / sum(samples) AS battery_temp_avg, max(battery_temp_max) AS battery_temp_max
FROM vehicle_hourly
WHERE vehicle_id = %(device_id)s AND hour >= %(from)s AND hour < %(to)s
GROUP BY 1
ORDER BY 1
LIMIT %(limit)s
