-- A late hour of a batch (merge_vehicle.sql returned it): added to the running totals of
-- the vehicle's later hourly rows (rollup_through_meter.sql).
UPDATE vehicle_hourly
SET kwh_through = kwh_through + %(kwh)s, samples_through = samples_through + %(samples)s,
    battery_temp_through = battery_temp_through + %(temp)s
WHERE vehicle_id = %(device_id)s AND hour > %(hour)s
