-- Accounts, sessions, API tokens, the audit log and citizens' follow codes (issue 5).

-- An account's scope: its unit (and the units under it) or its region subtree.
ALTER TABLE users ADD COLUMN region TEXT;
-- Lockout: failed logins in a row, and until when the account refuses logins.
ALTER TABLE users ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until BIGINT;

-- Browser sessions, of officials (subject user:<login>) and of citizens following a
-- ticket (subject citizen:<number>). Only a hash of the cookie's secret is kept.
CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_subject ON sessions (subject);

-- API clients. The token itself is shown once; only its SHA-256 is kept.
CREATE TABLE api_tokens (
    token_hash  TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    permissions TEXT NOT NULL,
    unit        TEXT,
    region      TEXT,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT,
    revoked     BIGINT NOT NULL DEFAULT 0
);

-- Every action, login, permission change and reveal of personal data (留痕).
CREATE TABLE audit_log (
    seq    BIGSERIAL PRIMARY KEY,
    at     BIGINT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT NOT NULL,
    client TEXT
);
CREATE INDEX audit_by_at ON audit_log (at);
CREATE INDEX audit_by_actor ON audit_log (actor, at);
CREATE INDEX audit_by_target ON audit_log (target, at);

CREATE FUNCTION audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
CREATE TRIGGER audit_is_append_only BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_is_append_only();

-- One-time codes that let a citizen follow a ticket (hashed, short-lived, few tries).
CREATE TABLE follow_codes (
    ticket     TEXT PRIMARY KEY REFERENCES tickets (number),
    code_hash  TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts   BIGINT NOT NULL DEFAULT 0
);
