-- Open311 API keys: only a SHA-256 digest of each key is kept, so a copy of the
-- database does not give its reader the keys (they are random, 256 bits: no salt or
-- slow hash is needed to resist guessing).
CREATE TABLE open311_keys (
    key_hash   TEXT PRIMARY KEY,
    label      TEXT NOT NULL,
    disabled   BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

-- The knowledge base (知识库): articles agents and the assistant answer from.
-- `id` is the article's key, stable across imports, so re-importing updates in place.
CREATE TABLE kb_articles (
    id         TEXT PRIMARY KEY,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    category   TEXT,
    valid_from TEXT,
    valid_to   TEXT,
    owner_unit TEXT,
    tags       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX kb_articles_by_category ON kb_articles (category);
