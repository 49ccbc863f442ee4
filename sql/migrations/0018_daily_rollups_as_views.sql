-- The daily rollups become views over the hourly ones. Nothing in the product reads them
-- since the fleet ranking reads the hourly rollups' running totals (migration 0017), and
-- keeping them cost every batch one more upsert per device and day (bench.merge_cost:
-- docs/performance.md, "Daily rollups as views"). A day's sums are the sums of its hours,
-- so the views hold exactly what the tables held, and SQL written against them (an
-- analyst's, the tests') keeps working. Only the readers may select from them.
--
-- Consumers older than this migration write into the tables: stop them, migrate, then
-- start the new ones (README.md, Operating it).
DROP TABLE meter_daily, vehicle_daily;

CREATE VIEW meter_daily AS
SELECT meter_id, date_trunc('day', hour, 'UTC') AS day,
       sum(kwh_consumed_ac) AS kwh_consumed_ac, min(voltage_min) AS voltage_min,
       max(voltage_max) AS voltage_max, sum(voltage_sum) AS voltage_sum,
       sum(samples) AS samples, sum(voltage_missing) AS voltage_missing
FROM meter_hourly
GROUP BY meter_id, date_trunc('day', hour, 'UTC');

CREATE VIEW vehicle_daily AS
SELECT vehicle_id, date_trunc('day', hour, 'UTC') AS day,
       sum(kwh_delivered_dc) AS kwh_delivered_dc, sum(battery_temp_sum) AS battery_temp_sum,
       max(battery_temp_max) AS battery_temp_max, min(soc_min) AS soc_min,
       max(soc_max) AS soc_max, sum(samples) AS samples
FROM vehicle_hourly
GROUP BY vehicle_id, date_trunc('day', hour, 'UTC');

GRANT SELECT ON meter_daily, vehicle_daily TO energy_reader, energy_mapper;
