-- A card's vehicle ranges, newest first (an unbounded start is the oldest).
SELECT id_tag, vehicle_id, lower(valid) AS valid_from, upper(valid) AS valid_to, created_at
FROM idtag_vehicles
WHERE id_tag = %(id_tag)s
ORDER BY lower(valid) DESC NULLS LAST
