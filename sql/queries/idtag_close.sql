-- Close the card's open range at valid_to.
UPDATE idtag_vehicles
SET valid = tstzrange(lower(valid), %(valid_to)s::timestamptz, '[)')
WHERE id_tag = %(id_tag)s AND upper_inf(valid)
RETURNING id_tag, vehicle_id, lower(valid) AS valid_from, upper(valid) AS valid_to, created_at
