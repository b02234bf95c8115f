-- A place's tickets of a time window (routing's duplicate check: the same place within
-- the last days) read as a range of this index, the time checked in the index itself:
-- with the place alone, a street's tickets of a whole year's history were fetched to
-- keep a few days' (PostgreSQL chose the time index instead and read every ticket of
-- those days, 250-600 ms at 10M tickets). It replaces the index of the place alone,
-- whose every use this one serves.
DROP INDEX IF EXISTS tickets_by_region;
CREATE INDEX tickets_by_region ON tickets (region_path, created_at);
