-- Pre-aggregated counts for dashboards (minhu_core::rollup). Kept exact in the
-- transaction of every ticket change: the store adds what the change makes the ticket
-- count for, minus what it counted for before. Empty strings stand for "none".
CREATE TABLE rollup_daily (
    day      TEXT NOT NULL,      -- yyyy-mm-dd: the tickets' intake day, city time
    unit     TEXT NOT NULL,      -- the unit credited with the step ('' for intake)
    region   TEXT NOT NULL,
    category TEXT NOT NULL,
    metric   TEXT NOT NULL,      -- minhu_core::rollup::Metric code
    n        BIGINT NOT NULL,
    PRIMARY KEY (day, unit, region, category, metric)
);

-- Demands received per hour, place and category: trends and surge baselines.
CREATE TABLE rollup_hourly (
    hour     BIGINT NOT NULL,    -- whole hours since the Unix epoch (UTC)
    region   TEXT NOT NULL,
    category TEXT NOT NULL,
    n        BIGINT NOT NULL,
    PRIMARY KEY (hour, region, category)
);
