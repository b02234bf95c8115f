-- Row-level security: the second wall between a province's cities (the first is the
-- `city = ? OR city_from = ?` condition the store puts in every query of a city-scoped
-- reader). The store reads for a `Scope::City` reader in a transaction that takes the
-- role `minhu_city_reader` (`set_config('role', ...)`, local to the transaction) and
-- names the city in `minhu.city`; under that role a query sees only that city's
-- tickets (and those it handed over, 转办) and their events, parts and timers, whatever
-- its own WHERE clause forgot. Every other table is out of its reach altogether (no
-- grant). The superuser and the tables' owner - the account minhu connects as - are
-- not subject to the policies (RLS is enabled, not forced), so writes, the workers and
-- the city centre's reads are as before.
--
-- Roles belong to the whole cluster and several databases may be migrated at once (the
-- tests create one per test; two nodes start together): the role is created only when
-- missing, and a concurrent creation is caught. An account that may not create roles
-- gets a warning and no wall (the store then reads with its queries' conditions only,
-- and says so at start); a superuser can create the role by hand beforehand:
--   CREATE ROLE minhu_city_reader NOLOGIN; GRANT minhu_city_reader TO <minhu's account>;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'minhu_city_reader') THEN
        BEGIN
            CREATE ROLE minhu_city_reader NOLOGIN;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN NULL;
            WHEN insufficient_privilege THEN
                RAISE WARNING 'minhu: cannot create the role minhu_city_reader (%): '
                    'no row-level security between cities', SQLERRM;
                RETURN;
        END;
    END IF;
    -- The account minhu connects as takes the role for a city's reads; a superuser
    -- may take any role already.
    IF NOT pg_has_role(current_user, 'minhu_city_reader', 'MEMBER') THEN
        BEGIN
            GRANT minhu_city_reader TO CURRENT_USER;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN NULL;
            WHEN insufficient_privilege THEN
                RAISE WARNING 'minhu: cannot grant minhu_city_reader to % (%): '
                    'no row-level security between cities', current_user, SQLERRM;
        END;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO minhu_city_reader', current_schema());
    GRANT SELECT ON tickets, events, ticket_parts, timers TO minhu_city_reader;

    -- Wrapped in COALESCE so that the planner does not count the city twice: the
    -- store's query has its own `city = $1 OR city_from = $2`, and two such conditions
    -- estimated as independent made a city's list look 13 times smaller than it is
    -- (in the demo province), planned as "read all of the city's tickets, then sort"
    -- instead of walking the list's index (9 ms instead of 1.5 ms at 20,000 tickets,
    -- growing with the city). An expression the planner cannot see into counts as
    -- half the rows, which leaves a list's plan as it is without the wall. The query's
    -- own condition still uses the city indexes.
    ALTER TABLE tickets ENABLE ROW LEVEL SECURITY;
    CREATE POLICY city_reads ON tickets FOR SELECT TO minhu_city_reader
        USING (COALESCE(city = current_setting('minhu.city', true)
                        OR city_from = current_setting('minhu.city', true), false));
    -- The rows of a ticket: visible when the ticket is (the subquery is under the
    -- tickets policy itself).
    ALTER TABLE events ENABLE ROW LEVEL SECURITY;
    CREATE POLICY city_reads ON events FOR SELECT TO minhu_city_reader
        USING (EXISTS (SELECT 1 FROM tickets t WHERE t.number = events.ticket));
    ALTER TABLE ticket_parts ENABLE ROW LEVEL SECURITY;
    CREATE POLICY city_reads ON ticket_parts FOR SELECT TO minhu_city_reader
        USING (EXISTS (SELECT 1 FROM tickets t WHERE t.number = ticket_parts.ticket));
    ALTER TABLE timers ENABLE ROW LEVEL SECURITY;
    CREATE POLICY city_reads ON timers FOR SELECT TO minhu_city_reader
        USING (EXISTS (SELECT 1 FROM tickets t WHERE t.number = timers.ticket));
END
$$;
