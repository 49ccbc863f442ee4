-- Stored fleet answers (issue 12): the fleet ranking of closed windows, computed ahead by
-- the retention job and checked against every later change before it is served.
--
-- The ranking of 10,000 vehicles costs 0.15-0.45 s of PostgreSQL, whatever the indexes:
-- it is arithmetic over every vehicle. The windows a fleet is asked about are few (the last
-- 24 h or 7 days, rounded to hours), so the job computes those that ended before the
-- horizon (an hour ago by default) and stores each with the snapshot it was computed in.
-- A change to a window's data after that is noted in fleet_change with its transaction id
-- and its hours; an answer is served only while no noted change inside its window is
-- missing from its snapshot (pg_visible_in_snapshot), so a served answer is the one the
-- live query would give now. Otherwise the API asks the live query and the job recomputes.
--
-- Who notes what: the consumers' merges note a batch whose hours start before the horizon
-- (merge_*.sql: late readings; a batch of the current hour notes nothing), and a trigger
-- notes every change of smart_meter_mapping (manual or derived from charging sessions).
-- Both read the horizon through fleet_answer_horizon_held(), which first takes a shared
-- transaction lock that the job's move of the horizon takes exclusively: the move waits for
-- every transaction that read the old horizon (a write that saw it and noted nothing has
-- committed before any answer past it is computed), and a transaction arriving meanwhile
-- waits for the move and reads the new one (the lock queue is first come, first served,
-- so the move is not starved by overlapping batches; the job gives up after 2 s).
CREATE TABLE fleet_answer_horizon (
    id      boolean     PRIMARY KEY DEFAULT true CHECK (id),
    horizon timestamptz NOT NULL DEFAULT '-infinity'
);
INSERT INTO fleet_answer_horizon DEFAULT VALUES;

CREATE TABLE fleet_change (
    xid xid8        NOT NULL DEFAULT pg_current_xact_id(),
    lo  timestamptz NOT NULL,  -- the hours changed, [lo, hi)
    hi  timestamptz NOT NULL
);

CREATE TABLE fleet_answer (
    window_start   timestamptz NOT NULL,
    window_end     timestamptz NOT NULL,
    threshold      numeric     NOT NULL,
    snap           pg_snapshot NOT NULL,   -- the snapshot the ranking was computed in
    computed_at    timestamptz NOT NULL DEFAULT now(),
    vehicles       bigint      NOT NULL,
    rated          bigint      NOT NULL,
    low_efficiency bigint      NOT NULL,
    ac_kwh         numeric     NOT NULL,
    dc_kwh         numeric     NOT NULL,
    PRIMARY KEY (window_start, window_end, threshold)
);

-- the answer's first lines (analytics_api.fleet_answers.MAX_LIMIT), worst first, with the
-- ranking query's own types
CREATE TABLE fleet_answer_line (
    window_start   timestamptz      NOT NULL,
    window_end     timestamptz      NOT NULL,
    threshold      numeric          NOT NULL,
    rank           integer          NOT NULL,
    vehicle_id     text             NOT NULL,
    ac_kwh         numeric          NOT NULL,
    ac_n           numeric          NOT NULL,
    dc_kwh         numeric          NOT NULL,
    dc_n           bigint           NOT NULL,
    mapped_seconds double precision NOT NULL,
    PRIMARY KEY (window_start, window_end, threshold, rank),
    FOREIGN KEY (window_start, window_end, threshold) REFERENCES fleet_answer ON DELETE CASCADE
);

-- The horizon, read after waiting for (and then holding off, until this transaction ends) a
-- move of it: VOLATILE, so its SELECT sees a move committed while it waited.
CREATE FUNCTION fleet_answer_horizon_held() RETURNS timestamptz
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtextextended('fleet_answer_horizon', 0));
    RETURN (SELECT horizon FROM fleet_answer_horizon);
END
$$;

-- Every change of a meter's mapping moves the energy of the vehicles it maps to: the old
-- and the new range are noted (an open range up to infinity) when they start before the
-- horizon. SECURITY DEFINER: the mapping's writers need no right on the fleet tables.
CREATE FUNCTION note_mapping_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    h timestamptz := fleet_answer_horizon_held();
    r tstzrange;
BEGIN
    FOREACH r IN ARRAY ARRAY[
        CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN OLD.valid END,
        CASE WHEN TG_OP IN ('UPDATE', 'INSERT') THEN NEW.valid END
    ] LOOP
        IF r IS NOT NULL AND NOT isempty(r) AND coalesce(lower(r) < h, h > '-infinity') THEN
            INSERT INTO fleet_change (lo, hi)
            VALUES (coalesce(lower(r), '-infinity'), coalesce(upper(r), 'infinity'));
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER smart_meter_mapping_noted
AFTER INSERT OR UPDATE OR DELETE ON smart_meter_mapping
FOR EACH ROW EXECUTE FUNCTION note_mapping_change();

REVOKE ALL ON FUNCTION note_mapping_change(), fleet_answer_horizon_held() FROM PUBLIC;

-- The consumers read the horizon (held) and note their late batches.
GRANT EXECUTE ON FUNCTION fleet_answer_horizon_held() TO energy_writer;
GRANT INSERT ON fleet_change TO energy_writer;
-- The analytics API serves the answers.
GRANT SELECT ON fleet_answer, fleet_answer_line, fleet_change, fleet_answer_horizon TO energy_reader;
-- The retention job stores them: it ranks through a reader's login (it has no right on the
-- rows itself), moves the horizon, writes the answers and prunes the changes that no stored
-- answer needs.
GRANT SELECT, UPDATE (horizon) ON fleet_answer_horizon TO energy_retention;
GRANT SELECT, DELETE ON fleet_change TO energy_retention;
GRANT SELECT, INSERT, DELETE ON fleet_answer, fleet_answer_line TO energy_retention;
