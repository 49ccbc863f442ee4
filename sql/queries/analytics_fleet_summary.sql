-- The fleet right now, from the hot tables (one row per device, so the cost is bounded
-- by the fleet's size, not its history). A device is reporting when a reading reached
-- it within the stale window (by receive time, else the status row's update time); a vehicle is
-- charging when it is reporting and its newest reading, taken since then, delivered energy.
-- Offline: nothing received since %(offline_before)s (GET /v1/fleet/offline lists them).
WITH v AS (
    SELECT count(*) AS total,
           count(*) FILTER (WHERE seen >= %(since)s) AS reporting,
           count(*) FILTER (WHERE seen < %(offline_before)s) AS offline,
           count(*) FILTER (WHERE seen >= %(since)s AND ts >= %(since)s AND kwh_delivered_dc > 0) AS charging,
           avg(soc) FILTER (WHERE seen >= %(since)s) AS mean_soc
    FROM (SELECT coalesce(received_at, updated_at) AS seen, ts, soc, kwh_delivered_dc FROM vehicle_status) s
),
m AS (
    SELECT count(*) AS total,
           count(*) FILTER (WHERE seen >= %(since)s) AS reporting,
           count(*) FILTER (WHERE seen < %(offline_before)s) AS offline
    FROM (SELECT coalesce(received_at, updated_at) AS seen FROM meter_status) s
)
SELECT v.total AS vehicles_total, v.reporting AS vehicles_reporting, v.charging AS vehicles_charging,
       v.offline AS vehicles_offline, v.mean_soc,
       m.total AS meters_total, m.reporting AS meters_reporting, m.offline AS meters_offline
FROM v, m
