-- One citizen across channels (issue 21): the phone, WeChat OpenID and e-mail address a
-- citizen confirmed (by a code) to be theirs, so the console shows one history.

-- Each identity (kind: phone | wechat | email) belongs to at most one person: a random
-- id naming the group. Linking two groups moves one into the other.
CREATE TABLE citizen_links (
    kind      TEXT NOT NULL,
    value     TEXT NOT NULL,
    person    TEXT NOT NULL,
    linked_at BIGINT NOT NULL,
    PRIMARY KEY (kind, value)
);
CREATE INDEX citizen_links_by_person ON citizen_links (person);

-- A link asked for and waiting for its code: the contact that asked, on its channel,
-- the identity it asked to link, the code's digest (never the code), when it expires
-- and the tries spent. One live code per contact.
CREATE TABLE link_codes (
    channel    TEXT NOT NULL,
    contact    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    value      TEXT NOT NULL,
    code_hash  TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts   INTEGER NOT NULL,
    PRIMARY KEY (channel, contact)
);

-- Every demand a channel's contact filed (a WeChat demand carries no phone or address
-- of its own), for the linked history; seeded with the threads' latest demands.
CREATE TABLE channel_tickets (
    channel TEXT NOT NULL,
    contact TEXT NOT NULL,
    ticket  TEXT NOT NULL,
    PRIMARY KEY (channel, contact, ticket)
);
INSERT INTO channel_tickets (channel, contact, ticket)
    SELECT channel, contact, ticket FROM channel_threads WHERE ticket IS NOT NULL;
