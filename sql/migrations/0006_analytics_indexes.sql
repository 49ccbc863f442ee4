-- The fleet-wide ranking reads one window of hourly rollups for every device; an index
-- on the hour keeps that proportional to the window, not to the history. Only the hour
-- is indexed so that the consumer's in-place rollup updates stay HOT-eligible.
CREATE INDEX IF NOT EXISTS meter_hourly_hour_idx ON meter_hourly (hour);
CREATE INDEX IF NOT EXISTS vehicle_hourly_hour_idx ON vehicle_hourly (hour);
