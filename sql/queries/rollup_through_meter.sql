-- A late hour of a batch (merge_meter.sql, merge_meter_register.sql returned it): its
-- energy and samples added to the running totals of the meter's later hourly rows
-- (migration 0017). Bound values: a range of the primary key.
UPDATE meter_hourly
SET kwh_through = kwh_through + %(kwh)s, samples_through = samples_through + %(samples)s
WHERE meter_id = %(device_id)s AND hour > %(hour)s
