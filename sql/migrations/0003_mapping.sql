-- Which vehicle a meter feeds, over time. Ranges are [from, to); an unbounded lower end
-- means "since always", an unbounded upper end "until further notice". A meter can
-- feed only one vehicle at any instant.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE smart_meter_mapping (
    meter_id   text      NOT NULL,
    vehicle_id text      NOT NULL,
    valid      tstzrange NOT NULL CHECK (NOT isempty(valid)),
    created_at timestamptz NOT NULL DEFAULT now(),
    EXCLUDE USING gist (meter_id WITH =, valid WITH &&)
);
CREATE INDEX smart_meter_mapping_vehicle_idx ON smart_meter_mapping USING gist (vehicle_id, valid);
