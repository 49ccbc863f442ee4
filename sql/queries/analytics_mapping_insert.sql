-- Open the range [valid_from, infinity); a NULL valid_from means since always.
INSERT INTO smart_meter_mapping (meter_id, vehicle_id, valid)
VALUES (%(meter_id)s, %(vehicle_id)s, tstzrange(%(valid_from)s::timestamptz, NULL, '[)'))
RETURNING meter_id, vehicle_id, lower(valid) AS valid_from, upper(valid) AS valid_to, created_at
