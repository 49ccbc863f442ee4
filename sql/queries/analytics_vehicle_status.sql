SELECT vehicle_id, ts AS "timestamp", soc, kwh_delivered_dc, battery_temp, received_at, updated_at
FROM vehicle_status
WHERE vehicle_id = %(vehicle_id)s
