-- Open the card's range [valid_from, infinity); a NULL valid_from means since always.
INSERT INTO idtag_vehicles (id_tag, vehicle_id, valid)
VALUES (%(id_tag)s, %(vehicle_id)s, tstzrange(%(valid_from)s::timestamptz, NULL, '[)'))
RETURNING id_tag, vehicle_id, lower(valid) AS valid_from, upper(valid) AS valid_to, created_at
