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
-- about an alert, never both.
ALTER TABLE notifications ALTER COLUMN ticket DROP NOT NULL;
ALTER TABLE notifications ADD COLUMN alert TEXT REFERENCES analytics_alerts (id);
ALTER TABLE notifications ADD CONSTRAINT notifications_alert_channel
    UNIQUE (alert, channel, recipient);
ALTER TABLE notifications ADD CONSTRAINT notifications_about_one
    CHECK ((ticket IS NULL) <> (alert IS NULL));
