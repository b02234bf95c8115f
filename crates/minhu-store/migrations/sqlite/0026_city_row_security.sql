-- PostgreSQL's 0026 adds row-level security between a province's cities (a role and
-- policies). SQLite has neither roles nor policies: there the store's queries are the
-- only wall (`city = ? OR city_from = ?` for a city's readers). Kept so both backends
-- count the same migrations.
SELECT 1;
