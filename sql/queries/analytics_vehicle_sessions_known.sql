-- Whether the vehicle is known: a status, any rollup, a mapped meter or a registered card.
SELECT EXISTS (SELECT FROM vehicle_status WHERE vehicle_id = %(device_id)s)
    OR EXISTS (SELECT FROM vehicle_hourly WHERE vehicle_id = %(device_id)s)
    OR EXISTS (SELECT FROM smart_meter_mapping WHERE vehicle_id = %(device_id)s)
    OR EXISTS (SELECT FROM idtag_vehicles WHERE vehicle_id = %(device_id)s) AS known
