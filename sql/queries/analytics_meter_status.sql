SELECT meter_id, ts AS "timestamp", kwh_consumed_ac, kwh_register_ac, voltage, received_at, updated_at
FROM meter_status
WHERE meter_id = %(meter_id)s
