-- Counters that limit guessing, each moved by one atomic statement (issue 17), and
-- each API token's own request rate.

-- Sign-in tries per login and client address. Logins are counted whether or not an
-- account has them, so refusals cannot tell which logins exist. `outcome` is what the
-- last claim decided (0 allowed, 1 refused as locked, 2 refused and locked now),
-- written by the same statement and read back with RETURNING.
CREATE TABLE login_tries (
    login        TEXT NOT NULL,
    address      TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    tries        BIGINT NOT NULL,
    locked_until BIGINT,
    outcome      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (login, address)
);
CREATE INDEX login_tries_by_window ON login_tries (window_start);

-- Sign-in tries per login from every address: past the ceiling within the window the
-- login is delayed from everywhere, each delay twice the last (up to a maximum).
-- `failures` and `delays` since the last sign-in are told at the next one;
-- `told_failures` and `told_delays` carry them out of the statement that resets them.
CREATE TABLE login_ceilings (
    login         TEXT PRIMARY KEY,
    window_start  BIGINT NOT NULL,
    tries         BIGINT NOT NULL,
    delayed_until BIGINT,
    next_delay_ms BIGINT NOT NULL,
    failures      BIGINT NOT NULL DEFAULT 0,
    delays        BIGINT NOT NULL DEFAULT 0,
    outcome       BIGINT NOT NULL DEFAULT 0,
    told_failures BIGINT NOT NULL DEFAULT 0,
    told_delays   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX login_ceilings_by_window ON login_ceilings (window_start);

-- Follow codes sent per ticket and per phone (a digest, never the number) and day:
-- capped, so the code form cannot be used to flood a phone with SMS.
CREATE TABLE follow_code_sends (
    subject TEXT NOT NULL,
    day     TEXT NOT NULL,
    sent    BIGINT NOT NULL,
    PRIMARY KEY (subject, day)
);

-- Requests per minute a token may make; NULL: the default rate.
ALTER TABLE api_tokens ADD COLUMN rate_per_min BIGINT;
