-- A meter's hourly rollups over [from, to), in UTC buckets of the unit parameter ('hour' or 'day').
-- The average voltage is over the readings that had one (voltage_missing: those without).
SELECT date_trunc(%(unit)s::text, hour, 'UTC') AS ts, sum(samples) AS samples,
       sum(kwh_consumed_ac) AS kwh_consumed_ac, min(voltage_min) AS voltage_min,
       max(voltage_max) AS voltage_max, sum(voltage_sum) / nullif(sum(samples - voltage_missing), 0) AS voltage_avg
FROM meter_hourly
WHERE meter_id = %(device_id)s AND hour >= %(from)s AND hour < %(to)s
GROUP BY 1
ORDER BY 1
LIMIT %(limit)s
