-- One page of the fleet's vehicles from the hot table (one row per vehicle). The API fills
-- the ORDER BY from a whitelist of column identifiers and directions (psycopg.sql), never
-- from request text; "seen" is the receive time of the newest reading, else the row's update time.
SELECT vehicle_id, ts AS "timestamp", soc, kwh_delivered_dc, seen
FROM (SELECT vehicle_id, ts, soc, kwh_delivered_dc, coalesce(received_at, updated_at) AS seen
      FROM vehicle_status) s
ORDER BY {order}
LIMIT %(limit)s OFFSET %(offset)s
