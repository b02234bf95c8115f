-- Tickets per status, kept by triggers in the transaction of every write that adds a
-- ticket or changes its status, so the city-wide counts of /tickets, /dashboard and
-- /dispatch read a few rows instead of counting a million (Store::count_by_status
-- with the whole city in scope). A transaction holds its counter row until it
-- commits, so the rows are sharded by the number's last two digits: concurrent
-- intakes of one status spread over 100 rows instead of queueing on one.
CREATE TABLE ticket_status_counts (
    status TEXT NOT NULL,
    shard  INTEGER NOT NULL,
    n      BIGINT NOT NULL,
    PRIMARY KEY (status, shard)
);
INSERT INTO ticket_status_counts (status, shard, n)
SELECT status, right(number, 2)::integer, COUNT(*) FROM tickets GROUP BY 1, 2;

CREATE FUNCTION ticket_status_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE ticket_status_counts SET n = n - 1
        WHERE status = OLD.status AND shard = right(OLD.number, 2)::integer;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO ticket_status_counts (status, shard, n)
        VALUES (NEW.status, right(NEW.number, 2)::integer, 1)
        ON CONFLICT (status, shard) DO UPDATE SET n = ticket_status_counts.n + 1;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER ticket_status_counts_insert_delete AFTER INSERT OR DELETE ON tickets
FOR EACH ROW EXECUTE FUNCTION ticket_status_counts();
CREATE TRIGGER ticket_status_counts_update AFTER UPDATE OF status ON tickets
FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
EXECUTE FUNCTION ticket_status_counts();
