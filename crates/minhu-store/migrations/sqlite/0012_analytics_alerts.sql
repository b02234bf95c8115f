-- Issue 7: surge alerts (突发预警) and buck-passing warnings (推诿预警), raised once per
-- cell and window, and told through the same outbox as a ticket's steps.

-- One row per alert. `id` is what makes it one alert - its kind, cell and window
-- ("surge|A5-01|城乡建设/供水|493027": the place, the category and the surge's first
-- hour; "buck_passing|water|2026-11": the unit and the month) - so raising it again on
-- a later pass does nothing.
CREATE TABLE analytics_alerts (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    region      TEXT,
    unit        TEXT,
    category    TEXT,
    window_from BIGINT NOT NULL,
    window_to   BIGINT NOT NULL,
    -- what was seen and what is normal: a surge's count and its baseline; a unit's
    -- buck-passing index and the city's threshold
    observed    DOUBLE PRECISION NOT NULL,
    expected    DOUBLE PRECISION NOT NULL,
    raised_at   BIGINT NOT NULL
);
CREATE INDEX analytics_alerts_by_time ON analytics_alerts (raised_at);

-- The outbox also tells of alerts: a row is about a ticket's event (ticket, seq) or
-- about an alert, never both. SQLite cannot relax a NOT NULL column in place, so the
-- table is rebuilt with its rows (nothing refers to it).
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
    UNIQUE (ticket, seq, channel),
    UNIQUE (alert, channel, recipient),
    CHECK ((ticket IS NULL) <> (alert IS NULL))
);
INSERT INTO notifications_next (id, ticket, seq, channel, recipient, message, created_at,
    next_at, attempts, claimed_by, claim_until, delivered_at, failed_at, last_error)
SELECT id, ticket, seq, channel, recipient, message, created_at, next_at, attempts,
    claimed_by, claim_until, delivered_at, failed_at, last_error
FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_next RENAME TO notifications;
CREATE INDEX notifications_due ON notifications (next_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
