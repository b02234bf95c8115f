-- Change sequence: every write to a ticket row gives it the next number, so followers
-- (the search index) can ask "what changed since N" and never miss a change. SQLite has
-- one writer, so max + 1 inside the writing transaction is unique and in commit order.
ALTER TABLE tickets ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
UPDATE tickets SET change_seq = rowid;
CREATE INDEX tickets_by_change ON tickets (change_seq, number);

CREATE TRIGGER tickets_change_seq_insert AFTER INSERT ON tickets
BEGIN
    UPDATE tickets SET change_seq = (SELECT COALESCE(MAX(change_seq), 0) + 1 FROM tickets)
    WHERE number = NEW.number;
END;

-- Keyed on `state` (the whole ticket), not `version`: erasing an identity rewrites the
-- ticket's text without a new version, and the index must forget the erased words.
-- The trigger's own update does not touch state, so it does not fire itself again.
CREATE TRIGGER tickets_change_seq_update AFTER UPDATE OF state ON tickets
BEGIN
    UPDATE tickets SET change_seq = (SELECT COALESCE(MAX(change_seq), 0) + 1 FROM tickets)
    WHERE number = NEW.number;
END;

-- Which store this is: a follower that kept a mark from another store (a database
-- replaced under a kept index directory) must start again instead of trusting it.
CREATE TABLE store_identity (id TEXT NOT NULL);
INSERT INTO store_identity (id) VALUES (lower(hex(randomblob(16))));
