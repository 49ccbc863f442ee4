-- A window's stored answer let go (its lines with it), before it is stored again.
DELETE FROM fleet_answer
WHERE window_start = %(from)s::timestamptz AND window_end = %(to)s::timestamptz
  AND threshold = %(threshold)s::numeric
