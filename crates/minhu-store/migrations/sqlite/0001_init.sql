-- Tickets: the projection of each ticket's event log, with the columns queries filter on.
CREATE TABLE tickets (
    number       TEXT PRIMARY KEY,
    version      BIGINT NOT NULL,
    status       TEXT NOT NULL,
    channel      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    category     TEXT,
    region       TEXT,
    region_path  TEXT,
    unit         TEXT,
    title        TEXT NOT NULL,
    description  TEXT NOT NULL,
    citizen_phone TEXT,
    external_ref TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    resolve_by   BIGINT,
    state        TEXT NOT NULL
);
CREATE INDEX tickets_by_created ON tickets (created_at, number);
CREATE INDEX tickets_by_status ON tickets (status, created_at);
CREATE INDEX tickets_by_unit ON tickets (unit, created_at);
CREATE INDEX tickets_by_region ON tickets (region_path);
CREATE INDEX tickets_by_phone ON tickets (citizen_phone);
CREATE INDEX tickets_by_external_ref ON tickets (external_ref);

-- The append-only event log (留痕). The primary key forbids two events with one number.
CREATE TABLE events (
    ticket  TEXT NOT NULL REFERENCES tickets (number),
    seq     BIGINT NOT NULL,
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    type    TEXT NOT NULL,
    body    TEXT NOT NULL,
    PRIMARY KEY (ticket, seq)
);

-- A log must never be rewritten, even by hand in a SQL shell.
CREATE TRIGGER events_are_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_are_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

-- The last sequence number used for each day's ticket numbers.
CREATE TABLE ticket_counters (
    day  TEXT PRIMARY KEY,
    last BIGINT NOT NULL
);

-- Intake retries: the same key always answers with the same ticket.
CREATE TABLE idempotency_keys (
    key         TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    ticket      TEXT NOT NULL REFERENCES tickets (number),
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
    login         TEXT PRIMARY KEY,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL,
    unit          TEXT,
    password_hash TEXT NOT NULL,
    disabled      BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL
);
