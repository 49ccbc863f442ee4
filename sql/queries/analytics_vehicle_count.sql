-- How many vehicles have a status row (the size of the GET /v1/vehicles listing).
SELECT count(*) AS total FROM vehicle_status
