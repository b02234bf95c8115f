-- The knowledge base's article life cycle and its revision counter (issue 8).
-- `status`: draft (being written), published (suggested and answered from), retired
-- (kept for the record, never suggested). Articles stored before this were all live.
ALTER TABLE kb_articles ADD COLUMN status TEXT NOT NULL DEFAULT 'published';

-- One row counting every change to kb_articles, bumped in the writing transaction: the
-- knowledge base's search index (small, held in memory) is rebuilt when it moves, so a
-- `minhu kb import` run by another process is seen by a running server at its next query.
CREATE TABLE kb_revision (
    id       BIGINT PRIMARY KEY,
    revision BIGINT NOT NULL
);
INSERT INTO kb_revision (id, revision) VALUES (1, 0);
