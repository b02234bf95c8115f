-- Issue 18: the columns the dispatch queue and the supervisors' and leaders' work lists
-- sort and filter on, kept from the ticket's state with its other projection columns.
-- tier: the handling tier's code (the queue runs most urgent tier first);
-- returned_from: the unit whose return waits for the dispatchers' decision;
-- extension_pending: 1 while an extension request waits for a supervisor;
-- review_on: a long-term (挂账) ticket's review date as yyyymmdd;
-- dispute_count: returns the dispatchers refused (推诿 disputes).
ALTER TABLE tickets ADD COLUMN tier TEXT;
ALTER TABLE tickets ADD COLUMN returned_from TEXT;
ALTER TABLE tickets ADD COLUMN extension_pending BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN review_on BIGINT;
ALTER TABLE tickets ADD COLUMN dispute_count BIGINT NOT NULL DEFAULT 0;

UPDATE tickets SET
    tier = json_extract(state, '$.tier'),
    returned_from = json_extract(state, '$.returned_from'),
    extension_pending = CASE WHEN json_extract(state, '$.extension') IS NULL THEN 0 ELSE 1 END,
    review_on = CAST(REPLACE(json_extract(state, '$.long_term.review_on'), '-', '') AS INTEGER),
    dispute_count = COALESCE(json_extract(state, '$.dispute_count'), 0);

CREATE INDEX tickets_by_tier ON tickets (status, tier, created_at);
CREATE INDEX tickets_awaiting_extension ON tickets (resolve_by) WHERE extension_pending = 1;
CREATE INDEX tickets_by_review ON tickets (review_on) WHERE review_on IS NOT NULL;
CREATE INDEX tickets_disputed ON tickets (created_at) WHERE dispute_count > 0;

-- An overdue or escalated ticket is told to the unit's leader and the supervisors of its
-- place (notify.toml's officials): one event, one channel, several recipients. The
-- outbox's key of a ticket's rows gains the recipient (a webhook's none counts as one).
-- SQLite cannot drop a table's UNIQUE constraint, so the table is rebuilt with its rows,
-- their ids and its next id (webhooks carry the id as X-Minhu-Delivery).
CREATE TABLE notifications_next (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket       TEXT REFERENCES tickets (number),
    seq          BIGINT NOT NULL,
    alert        TEXT REFERENCES analytics_alerts (id),
    channel      TEXT NOT NULL,
    recipient    TEXT,
    message      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    next_at      BIGINT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    claimed_by   TEXT,
    claim_until  BIGINT,
    delivered_at BIGINT,
    failed_at    BIGINT,
    last_error   TEXT,
    UNIQUE (alert, channel, recipient),
    CHECK ((ticket IS NULL) <> (alert IS NULL))
);
INSERT INTO notifications_next (id, ticket, seq, alert, channel, recipient, message,
    created_at, next_at, attempts, claimed_by, claim_until, delivered_at, failed_at,
    last_error)
SELECT id, ticket, seq, alert, channel, recipient, message, created_at, next_at, attempts,
    claimed_by, claim_until, delivered_at, failed_at, last_error
FROM notifications;
DELETE FROM sqlite_sequence WHERE name = 'notifications_next';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'notifications_next', seq FROM sqlite_sequence WHERE name = 'notifications';
DROP TABLE notifications;
ALTER TABLE notifications_next RENAME TO notifications;
CREATE INDEX notifications_due ON notifications (next_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE UNIQUE INDEX notifications_once ON notifications (ticket, seq, channel, COALESCE(recipient, ''));
