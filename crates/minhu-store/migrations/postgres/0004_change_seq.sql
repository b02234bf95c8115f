-- Change sequence: every write to a ticket row stamps it with the writing transaction's
-- id (top level, 64-bit, never reused). A row version a reader can see was written by
-- a transaction committed in the reader's snapshot, so its stamp is that transaction's.
-- Transactions commit out of id order: a follower (the search index) remembers which
-- ids were still running at its mark and reads their rows when they commit
-- (`Store::changed_since`), so it neither waits for the oldest running transaction in
-- the cluster nor misses a late commit.
ALTER TABLE tickets ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX tickets_by_change ON tickets (change_seq, number);

CREATE FUNCTION tickets_change_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.change_seq := pg_current_xact_id()::text::bigint;
    RETURN NEW;
END $$;
CREATE TRIGGER tickets_change_seq BEFORE INSERT OR UPDATE ON tickets
FOR EACH ROW EXECUTE FUNCTION tickets_change_seq();

-- Which store this is: a follower that kept a mark from another store (a database
-- replaced under a kept index directory) must start again instead of trusting it.
CREATE TABLE store_identity (id TEXT NOT NULL);
INSERT INTO store_identity (id) VALUES (md5(random()::text || clock_timestamp()::text));
