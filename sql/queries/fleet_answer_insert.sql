-- A window's answer, as ranked in the reader's snapshot given (its lines are copied in next).
INSERT INTO fleet_answer
    (window_start, window_end, threshold, snap, vehicles, rated, low_efficiency, ac_kwh, dc_kwh)
VALUES (%(from)s::timestamptz, %(to)s::timestamptz, %(threshold)s::numeric, %(snap)s::pg_snapshot,
        %(vehicles)s, %(rated)s, %(low)s, %(ac_kwh)s, %(dc_kwh)s)
RETURNING threshold
