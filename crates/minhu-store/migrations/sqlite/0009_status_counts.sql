-- Tickets per status, kept by triggers in the transaction of every write that adds a
-- ticket or changes its status, so the city-wide counts of /tickets, /dashboard and
-- /dispatch read a few rows instead of counting a million (Store::count_by_status
-- with the whole city in scope). `shard` spreads concurrent PostgreSQL intakes over
-- many rows; SQLite has one writer and keeps shard 0.
CREATE TABLE ticket_status_counts (
    status TEXT NOT NULL,
    shard  INTEGER NOT NULL,
    n      BIGINT NOT NULL,
    PRIMARY KEY (status, shard)
);
INSERT INTO ticket_status_counts (status, shard, n)
SELECT status, 0, COUNT(*) FROM tickets GROUP BY status;

CREATE TRIGGER ticket_status_counts_insert AFTER INSERT ON tickets
BEGIN
    INSERT INTO ticket_status_counts (status, shard, n) VALUES (NEW.status, 0, 1)
    ON CONFLICT (status, shard) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER ticket_status_counts_update AFTER UPDATE OF status ON tickets
WHEN OLD.status IS NOT NEW.status
BEGIN
    UPDATE ticket_status_counts SET n = n - 1 WHERE status = OLD.status AND shard = 0;
    INSERT INTO ticket_status_counts (status, shard, n) VALUES (NEW.status, 0, 1)
    ON CONFLICT (status, shard) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER ticket_status_counts_delete AFTER DELETE ON tickets
BEGIN
    UPDATE ticket_status_counts SET n = n - 1 WHERE status = OLD.status AND shard = 0;
END;
