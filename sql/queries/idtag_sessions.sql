-- The sessions started with a card and their meters (whose mappings a registration changes).
SELECT id, meter_id FROM charging_sessions WHERE id_tag = %(id_tag)s ORDER BY id
