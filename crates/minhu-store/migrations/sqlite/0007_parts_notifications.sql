-- Issue 4: joint handling and merges in the store, and the notifications outbox.

-- The units summoned to a joint case (联办), kept equal to the ticket's parts in the
-- transaction of each event, so that a summoned unit's lists and reads include the case.
CREATE TABLE ticket_parts (
    ticket TEXT NOT NULL REFERENCES tickets (number),
    unit   TEXT NOT NULL,
    PRIMARY KEY (ticket, unit)
);
CREATE INDEX ticket_parts_by_unit ON ticket_parts (unit, ticket);

-- The outbox: one row per event and channel (the citizen's SMS, e-mail, a webhook),
-- written in the transaction of the event, so nothing is told that did not happen and
-- nothing that happened goes untold. A worker claims due rows (a lease, like timers),
-- delivers, and retries with backoff until delivered_at or failed_at is set.
CREATE TABLE notifications (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket       TEXT NOT NULL REFERENCES tickets (number),
    seq          BIGINT NOT NULL,
    channel      TEXT NOT NULL,
    -- a phone number or an e-mail address; NULL for a webhook
    recipient    TEXT,
    -- JSON: what to say (milestone, locale, subject, text, the ticket's status)
    message      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    next_at      BIGINT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    claimed_by   TEXT,
    claim_until  BIGINT,
    delivered_at BIGINT,
    -- given up after the last attempt
    failed_at    BIGINT,
    last_error   TEXT,
    UNIQUE (ticket, seq, channel)
);
CREATE INDEX notifications_due ON notifications (next_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
