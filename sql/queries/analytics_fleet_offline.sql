-- Devices from which nothing has been received since %(before)s, newest silence first.
-- "Received" is the gateway's receive time of the newest reading, else the status row's
-- update time. Reads only the hot tables (one row per device), never history.
SELECT kind, device_id, ts, seen
FROM (
    SELECT 'meter' AS kind, meter_id AS device_id, ts, coalesce(received_at, updated_at) AS seen
    FROM meter_status
    WHERE %(kind)s::text IS DISTINCT FROM 'vehicle'
    UNION ALL
    SELECT 'vehicle', vehicle_id, ts, coalesce(received_at, updated_at)
    FROM vehicle_status
    WHERE %(kind)s::text IS DISTINCT FROM 'meter'
) d
WHERE seen < %(before)s
ORDER BY seen DESC, kind, device_id
LIMIT %(limit)s OFFSET %(offset)s
