-- Serialise a card's registration with the sessions that use it, until the end of the
-- transaction (a session stored while its card is registered is mapped by one of them).
SELECT pg_advisory_xact_lock(hashtextextended('idtag_vehicles:' || %(id_tag)s::text, 0))
