-- The channel adapters' memory (issue 21).

-- Where each contact of a channel stands: a WeChat OpenID, an SMS sender's phone or an
-- e-mail address, with the demand it last filed or added to (its follow-ups go there)
-- and a message held while the citizen is asked "new or existing?" (JSON).
CREATE TABLE channel_threads (
    channel    TEXT NOT NULL,
    contact    TEXT NOT NULL,
    ticket     TEXT,
    pending    TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (channel, contact)
);
CREATE INDEX channel_threads_by_ticket ON channel_threads (ticket);

-- The platform's message ids handled lately, each claimed by one INSERT before the
-- message is acted on, so a platform's retries (WeChat sends a message up to three
-- times) never act twice. Swept after a day.
CREATE TABLE channel_messages (
    channel    TEXT NOT NULL,
    message    TEXT NOT NULL,
    claimed_at BIGINT NOT NULL,
    PRIMARY KEY (channel, message)
);
CREATE INDEX channel_messages_by_time ON channel_messages (claimed_at);
