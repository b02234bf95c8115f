-- PostgreSQL's 0019 shards the rollup rows by writing connection, because concurrent
-- writers queued on the hot rows of one day. SQLite has a single writer: nothing
-- queues, and its rollup rows stay one per cell. Kept so both backends count the same
-- migrations.
SELECT 1;
