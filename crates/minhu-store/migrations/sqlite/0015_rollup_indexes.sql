-- Reads that narrow a long period to a few categories or places. The monthly topic
-- reads its topics' units from rollup_monthly (category IN ..., one month), and a
-- district's or a street's trend reads its regions' days from rollup_daily_place (region
-- IN ..., up to a year): keyed by day first, both scanned every unit and place of the
-- period (at ten million tickets a year, 180,000 rows a month and 1.7 million a year).
CREATE INDEX rollup_monthly_by_category ON rollup_monthly (category, day);
CREATE INDEX rollup_daily_place_by_region ON rollup_daily_place (region, day);
