-- A vehicle's charging sessions that overlap [from, to), oldest first, one page of them.
-- A session belongs to the vehicle its card (idTag) belonged to at the session's start.
SELECT c.charge_point_id, c.connector_id, c.meter_id, c.transaction_id, c.id_tag, c.protocol,
       c.started_at, c.stopped_at, c.stop_reason
FROM idtag_vehicles v
JOIN charging_sessions c ON c.id_tag = v.id_tag AND v.valid @> c.started_at
WHERE v.vehicle_id = %(vehicle_id)s::text
  AND c.started_at < %(to)s::timestamptz
  AND (c.stopped_at IS NULL OR c.stopped_at > %(from)s::timestamptz)
ORDER BY c.started_at, c.charge_point_id, c.transaction_id
LIMIT %(limit)s OFFSET %(offset)s
