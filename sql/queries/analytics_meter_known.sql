-- Whether the meter has a status, any rollup, or a mapping.
SELECT EXISTS (SELECT FROM meter_status WHERE meter_id = %(device_id)s)
    OR EXISTS (SELECT FROM meter_hourly WHERE meter_id = %(device_id)s)
    OR EXISTS (SELECT FROM smart_meter_mapping WHERE meter_id = %(device_id)s) AS known
