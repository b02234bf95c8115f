-- Since 0025 new tickets are counted in the writing connection's shard
-- (pg_backend_pid() % 100), but a ticket leaving a status was still taken from the
-- shard of its number's last two digits with a plain UPDATE: where that (status, shard)
-- row did not exist, the UPDATE matched nothing and the decrement was lost, so the
-- counts of /tickets, /dashboard and /dispatch grew past the tickets they count (found
-- by the day bench: 1,656 too many after a 6,000-demand day). The decrement is now an
-- upsert (a shard may go below zero; readers sum the shards), and the counts are taken
-- again from the tickets themselves. (SQLite keeps one row per status, which its
-- triggers always find: it has no step 0029.)
CREATE OR REPLACE FUNCTION ticket_status_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO ticket_status_counts (status, shard, n)
        VALUES (OLD.status, right(OLD.number, 2)::integer, -1)
        ON CONFLICT (status, shard) DO UPDATE SET n = ticket_status_counts.n - 1;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO ticket_status_counts (status, shard, n)
        VALUES (NEW.status, right(NEW.number, 2)::integer, 1)
        ON CONFLICT (status, shard) DO UPDATE SET n = ticket_status_counts.n + 1;
    END IF;
    RETURN NULL;
END $$;

LOCK TABLE tickets IN SHARE MODE;
DELETE FROM ticket_status_counts;
INSERT INTO ticket_status_counts (status, shard, n)
SELECT status, right(number, 2)::integer, COUNT(*) FROM tickets GROUP BY 1, 2;
