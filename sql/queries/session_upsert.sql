-- One session event into its (charge point, transaction) row. Any order of the same
-- events gives the same row: the earliest start and stop win (the stop's reason with
-- it), the idTag of the best-ranked event is kept (started 1 < updated 2 < ended 3, then
-- the smaller text), ``events`` is the set of steps seen (started 1, updated 2, ended 4).
INSERT INTO charging_sessions AS s
    (charge_point_id, transaction_id, connector_id, meter_id, protocol, id_tag, id_tag_rank,
     started_at, stopped_at, stop_reason, events)
VALUES (%(charge_point_id)s, %(transaction_id)s, %(connector_id)s, %(meter_id)s, %(protocol)s,
        %(id_tag)s, %(id_tag_rank)s, %(started_at)s, %(stopped_at)s, %(stop_reason)s, %(events)s)
ON CONFLICT (charge_point_id, transaction_id) DO UPDATE SET
    id_tag = CASE
        WHEN EXCLUDED.id_tag IS NOT NULL
             AND (s.id_tag IS NULL OR (EXCLUDED.id_tag_rank, EXCLUDED.id_tag) < (s.id_tag_rank, s.id_tag))
        THEN EXCLUDED.id_tag ELSE s.id_tag END,
    id_tag_rank = CASE
        WHEN EXCLUDED.id_tag IS NOT NULL
             AND (s.id_tag IS NULL OR (EXCLUDED.id_tag_rank, EXCLUDED.id_tag) < (s.id_tag_rank, s.id_tag))
        THEN EXCLUDED.id_tag_rank ELSE s.id_tag_rank END,
    started_at = least(s.started_at, EXCLUDED.started_at),
    stopped_at = least(s.stopped_at, EXCLUDED.stopped_at),
    stop_reason = CASE
        WHEN EXCLUDED.stopped_at IS NULL THEN s.stop_reason
        WHEN s.stopped_at IS NULL OR EXCLUDED.stopped_at < s.stopped_at THEN EXCLUDED.stop_reason
        WHEN EXCLUDED.stopped_at = s.stopped_at THEN least(s.stop_reason, EXCLUDED.stop_reason)
        ELSE s.stop_reason END,
    events = s.events | EXCLUDED.events,
    updated_at = now()
RETURNING id, meter_id
