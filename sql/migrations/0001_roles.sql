-- Group roles for least privilege. Login users are members of exactly one of them
-- (see `energy-ingest create-login`); nothing logs in as the table owner but migrations.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'energy_writer') THEN
        CREATE ROLE energy_writer NOLOGIN;   -- consumers: append history, move status forward
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'energy_reader') THEN
        CREATE ROLE energy_reader NOLOGIN;   -- analytics API: read only
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'energy_mapper') THEN
        CREATE ROLE energy_mapper NOLOGIN;   -- mapping writes (admin scope of the API)
    END IF;
END
$$;

REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO energy_writer, energy_reader, energy_mapper;
