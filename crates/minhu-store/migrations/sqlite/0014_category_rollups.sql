-- Copies of rollup_daily by category alone (minhu_store::rollups::CUBES), by day and
-- by month: the monthly topic ranks a month's categories, and a category's trend reads
-- its days, without scanning every unit and place of the period (at ten million
-- tickets a year the full daily table holds about 26 million rows). Same columns as
-- rollup_daily (unit and region hold ''); kept in every change's transaction by the
-- same code, and filled here from rollup_daily for stores that already count.
CREATE TABLE rollup_daily_category (
    day      TEXT NOT NULL,
    unit     TEXT NOT NULL,      -- always ''
    region   TEXT NOT NULL,      -- always ''
    category TEXT NOT NULL,
    metric   TEXT NOT NULL,
    n        BIGINT NOT NULL,
    PRIMARY KEY (day, unit, region, category, metric)
);

CREATE TABLE rollup_monthly_category (
    day      TEXT NOT NULL,      -- the first day of the month
    unit     TEXT NOT NULL,      -- always ''
    region   TEXT NOT NULL,      -- always ''
    category TEXT NOT NULL,
    metric   TEXT NOT NULL,
    n        BIGINT NOT NULL,
    PRIMARY KEY (day, unit, region, category, metric)
);

INSERT INTO rollup_daily_category (day, unit, region, category, metric, n)
SELECT day, '', '', category, metric, CAST(SUM(n) AS BIGINT)
FROM rollup_daily GROUP BY day, category, metric;

INSERT INTO rollup_monthly_category (day, unit, region, category, metric, n)
SELECT substr(day, 1, 7) || '-01', '', '', category, metric, CAST(SUM(n) AS BIGINT)
FROM rollup_daily GROUP BY substr(day, 1, 7), category, metric;
