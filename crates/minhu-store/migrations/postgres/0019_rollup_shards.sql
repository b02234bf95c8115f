-- Every ticket change adds to the rollup rows of its intake day in its own transaction,
-- and a transaction holds each row it adds to until it commits. On one day every
-- intake and action of the intake desk (unit '', region '') and of the whole city
-- (rollup_daily_total) adds to the same few rows, so concurrent writers queued on them
-- one after the other (measured: 2,000 of 3,300 sampled active statements waited on a
-- row lock of rollup_daily_total). The rows are now sharded by the writing
-- connection (`pg_backend_pid() % 16`, see minhu_store::rollups::add): writers on
-- different connections add to different rows, readers sum the shards. SQLite has one
-- writer and keeps one row per cell.
ALTER TABLE rollup_daily ADD COLUMN shard SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE rollup_daily DROP CONSTRAINT rollup_daily_pkey;
ALTER TABLE rollup_daily ADD PRIMARY KEY (day, unit, region, category, metric, shard);

ALTER TABLE rollup_monthly ADD COLUMN shard SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE rollup_monthly DROP CONSTRAINT rollup_monthly_pkey;
ALTER TABLE rollup_monthly ADD PRIMARY KEY (day, unit, region, category, metric, shard);

ALTER TABLE rollup_monthly_place ADD COLUMN shard SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE rollup_monthly_place DROP CONSTRAINT rollup_monthly_place_pkey;
ALTER TABLE rollup_monthly_place ADD PRIMARY KEY (day, unit, region, category, metric, shard);

ALTER TABLE rollup_daily_place ADD COLUMN shard SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE rollup_daily_place DROP CONSTRAINT rollup_daily_place_pkey;
ALTER TABLE rollup_daily_place ADD PRIMARY KEY (day, unit, region, category, metric, shard);

ALTER TABLE rollup_daily_total ADD COLUMN shard SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE rollup_daily_total DROP CONSTRAINT rollup_daily_total_pkey;
ALTER TABLE rollup_daily_total ADD PRIMARY KEY (day, unit, region, category, metric, shard);

ALTER TABLE rollup_daily_category ADD COLUMN shard SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE rollup_daily_category DROP CONSTRAINT rollup_daily_category_pkey;
ALTER TABLE rollup_daily_category ADD PRIMARY KEY (day, unit, region, category, metric, shard);

ALTER TABLE rollup_monthly_category ADD COLUMN shard SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE rollup_monthly_category DROP CONSTRAINT rollup_monthly_category_pkey;
ALTER TABLE rollup_monthly_category ADD PRIMARY KEY (day, unit, region, category, metric, shard);

ALTER TABLE rollup_hourly ADD COLUMN shard SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE rollup_hourly DROP CONSTRAINT rollup_hourly_pkey;
ALTER TABLE rollup_hourly ADD PRIMARY KEY (hour, region, category, shard);
