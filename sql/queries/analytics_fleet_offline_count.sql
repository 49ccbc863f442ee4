-- How many meters and vehicles have been silent since %(before)s (see analytics_fleet_offline).
SELECT (SELECT count(*) FROM meter_status WHERE coalesce(received_at, updated_at) < %(before)s) AS meters,
       (SELECT count(*) FROM vehicle_status WHERE coalesce(received_at, updated_at) < %(before)s) AS vehicles
