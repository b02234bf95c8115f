-- PostgreSQL's 0025 counts new tickets per status once per statement instead of once
-- per row. SQLite's row triggers run in the writer's own process and cost little; kept
-- so both backends count the same migrations.
SELECT 1;
