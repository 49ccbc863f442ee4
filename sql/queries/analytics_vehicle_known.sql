-- Whether the vehicle has a status, any rollup, or a mapped meter.
SELECT EXISTS (SELECT FROM vehicle_status WHERE vehicle_id = %(device_id)s)
    OR EXISTS (SELECT FROM vehicle_hourly WHERE vehicle_id = %(device_id)s)
    OR EXISTS (SELECT FROM smart_meter_mapping WHERE vehicle_id = %(device_id)s) AS known
