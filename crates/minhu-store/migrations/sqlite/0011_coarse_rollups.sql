-- Coarser copies of rollup_daily (minhu_store::rollups::CUBES), so that a dashboard
-- reads the smallest table that has the columns it groups or narrows by. Same columns
-- as rollup_daily; a column a table does not keep holds '', and in a monthly table
-- `day` is the first day of the month. Kept in the transaction of every change by the
-- same code as rollup_daily, and filled here from it for stores that already count.
CREATE TABLE rollup_monthly (
    day      TEXT NOT NULL,
    unit     TEXT NOT NULL,
    region   TEXT NOT NULL,
    category TEXT NOT NULL,
    metric   TEXT NOT NULL,
    n        BIGINT NOT NULL,
    PRIMARY KEY (day, unit, region, category, metric)
);

CREATE TABLE rollup_monthly_place (
    day      TEXT NOT NULL,
    unit     TEXT NOT NULL,
    region   TEXT NOT NULL,
    category TEXT NOT NULL,      -- always ''
    metric   TEXT NOT NULL,
    n        BIGINT NOT NULL,
    PRIMARY KEY (day, unit, region, category, metric)
);

CREATE TABLE rollup_daily_place (
    day      TEXT NOT NULL,
    unit     TEXT NOT NULL,
    region   TEXT NOT NULL,
    category TEXT NOT NULL,      -- always ''
    metric   TEXT NOT NULL,
    n        BIGINT NOT NULL,
    PRIMARY KEY (day, unit, region, category, metric)
);

CREATE TABLE rollup_daily_total (
    day      TEXT NOT NULL,
    unit     TEXT NOT NULL,      -- always ''
    region   TEXT NOT NULL,      -- always ''
    category TEXT NOT NULL,      -- always ''
    metric   TEXT NOT NULL,
    n        BIGINT NOT NULL,
    PRIMARY KEY (day, unit, region, category, metric)
);

INSERT INTO rollup_monthly (day, unit, region, category, metric, n)
SELECT substr(day, 1, 7) || '-01', unit, region, category, metric, CAST(SUM(n) AS BIGINT)
FROM rollup_daily GROUP BY substr(day, 1, 7), unit, region, category, metric;

INSERT INTO rollup_monthly_place (day, unit, region, category, metric, n)
SELECT substr(day, 1, 7) || '-01', unit, region, '', metric, CAST(SUM(n) AS BIGINT)
FROM rollup_daily GROUP BY substr(day, 1, 7), unit, region, metric;

INSERT INTO rollup_daily_place (day, unit, region, category, metric, n)
SELECT day, unit, region, '', metric, CAST(SUM(n) AS BIGINT)
FROM rollup_daily GROUP BY day, unit, region, metric;

INSERT INTO rollup_daily_total (day, unit, region, category, metric, n)
SELECT day, '', '', '', metric, CAST(SUM(n) AS BIGINT)
FROM rollup_daily GROUP BY day, metric;
