-- OCPP charging sessions, the cards (idTags) that belong to vehicles, and the meter
-- mappings that sessions derive (docs/sessions.md has the rules).
--
-- charging_sessions: one row per (charge point, transaction), built from the session
-- events of telemetry.session.v1 by the consumer. Events may come in any order and more
-- than once; each column is merged so that any order gives the same row: the earliest
-- start and the earliest stop win, the idTag of the best-ranked event (started 1,
-- updated 2, ended 3; ties: the smaller text) is kept.
CREATE TABLE charging_sessions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    charge_point_id text        NOT NULL,
    transaction_id  text        NOT NULL,
    connector_id    integer     NOT NULL,
    meter_id        text        NOT NULL,
    protocol        text        NOT NULL,
    id_tag          text,
    id_tag_rank     smallint,
    started_at      timestamptz,
    stopped_at      timestamptz,
    stop_reason     text,
    events          integer     NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (charge_point_id, transaction_id)
);
CREATE INDEX charging_sessions_meter_idx ON charging_sessions (meter_id, started_at, transaction_id);
CREATE INDEX charging_sessions_idtag_idx ON charging_sessions (id_tag, started_at);

-- Which vehicle a card belongs to, over time (admin-written, like the meter mapping):
-- the first registration covers all time (so sessions stored before it are mapped too);
-- a change closes the open range at the time of the change and opens a new one.
CREATE TABLE idtag_vehicles (
    id_tag     text        NOT NULL,
    vehicle_id text        NOT NULL,
    valid      tstzrange   NOT NULL CHECK (NOT isempty(valid)),
    created_at timestamptz NOT NULL DEFAULT now(),
    EXCLUDE USING gist (id_tag WITH =, valid WITH &&)
);
CREATE INDEX idtag_vehicles_vehicle_idx ON idtag_vehicles (vehicle_id, id_tag);

-- A mapping row is an admin's ('manual') or derived from one session ('ocpp'). Session
-- rows are always recomputed from their session and never overlap a manual row (the
-- exclusion constraint of 0003 still holds for all rows).
ALTER TABLE smart_meter_mapping
    ADD COLUMN source text NOT NULL DEFAULT 'manual' CHECK (source IN ('manual', 'ocpp')),
    ADD COLUMN session_id bigint REFERENCES charging_sessions (id) ON DELETE CASCADE,
    ADD CONSTRAINT smart_meter_mapping_session_check CHECK ((source = 'ocpp') = (session_id IS NOT NULL));
CREATE INDEX smart_meter_mapping_session_idx ON smart_meter_mapping (session_id) WHERE session_id IS NOT NULL;

-- Least privilege, by row: the consumer may add and remove session-derived rows only;
-- the mapper (admin routes) writes manual rows and recomputes session rows around them.
ALTER TABLE smart_meter_mapping ENABLE ROW LEVEL SECURITY;
CREATE POLICY mapping_read ON smart_meter_mapping FOR SELECT USING (true);
CREATE POLICY mapping_admin ON smart_meter_mapping FOR ALL TO energy_mapper USING (true) WITH CHECK (true);
CREATE POLICY mapping_sessions_insert ON smart_meter_mapping FOR INSERT TO energy_writer
    WITH CHECK (source = 'ocpp');
CREATE POLICY mapping_sessions_delete ON smart_meter_mapping FOR DELETE TO energy_writer
    USING (source = 'ocpp');

GRANT SELECT, INSERT, DELETE ON smart_meter_mapping TO energy_writer;
GRANT DELETE ON smart_meter_mapping TO energy_mapper;
GRANT SELECT, INSERT, UPDATE ON charging_sessions TO energy_writer;
GRANT SELECT ON idtag_vehicles TO energy_writer;
GRANT SELECT ON charging_sessions, idtag_vehicles TO energy_reader, energy_mapper;
GRANT INSERT, UPDATE ON idtag_vehicles TO energy_mapper;
