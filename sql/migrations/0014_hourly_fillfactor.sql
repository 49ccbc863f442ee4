-- The hourly rollups get the daily rollups' fillfactor, 50 (was 80, migration 0008): a
-- row is rewritten by every batch that carries a reading of its device and hour, up to
-- one per minute during the hour. At 80, only 52-64 % of those updates were HOT in the
-- merge benchmark (each of the others writes a new index entry and leaves a dead row on a
-- new page), at 50 about 100 % are; the table was smaller too (50 pages at 50, 80 at 80,
-- after eight batches of 2,000 devices). PostgreSQL CPU per reading of the merge: about
-- 20 -> 18 us at 20,000 devices per batch (docs/performance.md, "Consumer and merge, this
-- round"). Applies to pages written from now on.
ALTER TABLE meter_hourly SET (fillfactor = 50);
ALTER TABLE vehicle_hourly SET (fillfactor = 50);
