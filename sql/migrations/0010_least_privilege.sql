-- Least privilege: each role may do only its job.
-- Retention gets a role of its own (`energy-ingest retention` logs in as a member): the
-- consumer's role may no longer drop history, so consumer credentials cannot wipe it.
-- The analytics roles lose the consumer's bookkeeping (offsets, rejected raw bytes),
-- which no route reads. Only grants here; 0009 defines the partition functions.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'energy_retention') THEN
        CREATE ROLE energy_retention NOLOGIN;   -- retention job: drop old history days
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO energy_retention;
REVOKE ALL ON FUNCTION drop_day_partitions_before(date) FROM PUBLIC, energy_writer;
GRANT EXECUTE ON FUNCTION drop_day_partitions_before(date) TO energy_retention;

REVOKE ALL ON consumer_offsets, ingest_rejects FROM energy_reader, energy_mapper;
