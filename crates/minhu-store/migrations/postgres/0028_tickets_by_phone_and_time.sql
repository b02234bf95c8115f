-- A citizen's latest demands (the ticket page's "earlier demands of this caller", the
-- phone lookup of an agent) read as the first rows of this index, newest first. With the
-- phone alone every ticket of the number was fetched and sorted to keep seven: in the
-- day benchmark at 10M tickets a number on a million of them took 100-200 s a page and
-- held both cores. It replaces the index of the phone alone, whose every use this one
-- serves.
DROP INDEX IF EXISTS tickets_by_phone;
CREATE INDEX tickets_by_phone ON tickets (citizen_phone, created_at, number);
