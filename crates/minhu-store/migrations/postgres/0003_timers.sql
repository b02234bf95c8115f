-- The due-time index of ticket timers (warnings, overdue, escalation, callback). Kept
-- equal to the core's `timer::pending` in the same transaction as each event; a worker
-- claims due rows (claimed_by, claim_until: a lease, so a crashed worker's rows return)
-- and marks each fired in the transaction of its event.
CREATE TABLE timers (
    ticket      TEXT NOT NULL REFERENCES tickets (number),
    kind        TEXT NOT NULL,
    due_at      BIGINT NOT NULL,
    claimed_by  TEXT,
    claim_until BIGINT,
    fired_at    BIGINT,
    -- 'fired', or 'void' when the ticket had moved on by the time it was due
    outcome     TEXT,
    PRIMARY KEY (ticket, kind, due_at)
);
CREATE INDEX timers_due ON timers (due_at) WHERE fired_at IS NULL;

-- The ticket's most severe alert (warning, overdue, escalated, callback_due), for ?flag=.
ALTER TABLE tickets ADD COLUMN alert TEXT;
CREATE INDEX tickets_by_alert ON tickets (alert, created_at);
