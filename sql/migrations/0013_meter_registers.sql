-- Cumulative registers (docs/registers.md). A meter reading carries either the interval's
-- energy or the meter's lifetime register. A register row stores its register value in
-- kwh_register_ac and, in kwh_consumed_ac, its derived interval energy: the increase
-- over the meter's previous register reading in reading-time order (a decrease is a
-- reset: the register value itself; the first reading: 0). Everything that reads meter
-- energy (rollups, performance, fleet, series, sessions) keeps reading kwh_consumed_ac.
--
-- The cold history stays append-only except for that one derived column of a register
-- row whose predecessor arrived late: the merge corrects it (and the rollups by the
-- difference) in the batch's transaction, so the consumer may update that column only.
--
-- Voltage becomes optional (OCPP chargers often send none): NULL, never invented. The
-- rollups count the readings without voltage (voltage_missing, default 0: the rows of
-- before, and of a consumer of before during a rolling upgrade, all had one), so the
-- average voltage is voltage_sum / (samples - voltage_missing); min and max are NULL for
-- an hour or day without any voltage. Every change here is metadata only (no rewrite).
ALTER TABLE meter_telemetry ADD COLUMN IF NOT EXISTS kwh_register_ac numeric;
ALTER TABLE meter_telemetry ALTER COLUMN voltage DROP NOT NULL;

ALTER TABLE meter_status ADD COLUMN IF NOT EXISTS kwh_register_ac numeric;
ALTER TABLE meter_status ALTER COLUMN voltage DROP NOT NULL;

ALTER TABLE meter_hourly
    ALTER COLUMN voltage_min DROP NOT NULL,
    ALTER COLUMN voltage_max DROP NOT NULL,
    ADD COLUMN IF NOT EXISTS voltage_missing integer NOT NULL DEFAULT 0;
ALTER TABLE meter_daily
    ALTER COLUMN voltage_min DROP NOT NULL,
    ALTER COLUMN voltage_max DROP NOT NULL,
    ADD COLUMN IF NOT EXISTS voltage_missing integer NOT NULL DEFAULT 0;

GRANT UPDATE (kwh_consumed_ac) ON meter_telemetry TO energy_writer;
