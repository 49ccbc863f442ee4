-- The newest hour any rollup holds (NULL when none), one index end each.
SELECT greatest((SELECT max(hour) FROM vehicle_hourly), (SELECT max(hour) FROM meter_hourly)) AS newest
