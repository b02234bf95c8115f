-- The per-status counts of 0009 were added to once per new ticket, by a row trigger
-- (a whole upsert run through the trigger's own executor for every row), and in the
-- shard named by the ticket number's last two digits, so a group of 16 intakes written
-- in one statement made 16 upserts on 16 rows. New tickets are now counted once per
-- statement, grouped by status, in the writing connection's own shard: a group of
-- intakes makes one upsert per status it holds, and concurrent writers still meet on
-- no row. Readers sum the shards, so which shard holds a count does not matter; the
-- update and delete triggers of 0009 keep taking from the number's shard, which may
-- then go below zero while the sum stays right.
CREATE FUNCTION ticket_status_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ticket_status_counts (status, shard, n)
    SELECT status, pg_backend_pid() % 100, COUNT(*) FROM inserted GROUP BY status ORDER BY status
    ON CONFLICT (status, shard) DO UPDATE SET n = ticket_status_counts.n + excluded.n;
    RETURN NULL;
END $$;

DROP TRIGGER ticket_status_counts_insert_delete ON tickets;
CREATE TRIGGER ticket_status_counts_insert AFTER INSERT ON tickets
REFERENCING NEW TABLE AS inserted
FOR EACH STATEMENT EXECUTE FUNCTION ticket_status_counts_inserted();
CREATE TRIGGER ticket_status_counts_delete AFTER DELETE ON tickets
FOR EACH ROW EXECUTE FUNCTION ticket_status_counts();
