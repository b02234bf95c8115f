-- Issue 18: the columns the dispatch queue and the supervisors' and leaders' work lists
-- sort and filter on, kept from the ticket's state with its other projection columns.
-- tier: the handling tier's code (the queue runs most urgent tier first);
-- returned_from: the unit whose return waits for the dispatchers' decision;
-- extension_pending: 1 while an extension request waits for a supervisor;
-- review_on: a long-term (挂账) ticket's review date as yyyymmdd;
-- dispute_count: returns the dispatchers refused (推诿 disputes).
ALTER TABLE tickets ADD COLUMN tier TEXT;
ALTER TABLE tickets ADD COLUMN returned_from TEXT;
ALTER TABLE tickets ADD COLUMN extension_pending BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN review_on BIGINT;
ALTER TABLE tickets ADD COLUMN dispute_count BIGINT NOT NULL DEFAULT 0;

-- Nothing the search index reads changes: the backfill is not a change to follow.
ALTER TABLE tickets DISABLE TRIGGER tickets_change_seq;
UPDATE tickets SET
    tier = state::jsonb ->> 'tier',
    returned_from = state::jsonb ->> 'returned_from',
    extension_pending = CASE WHEN jsonb_typeof(state::jsonb -> 'extension') = 'object' THEN 1 ELSE 0 END,
    review_on = REPLACE(state::jsonb #>> '{long_term,review_on}', '-', '')::BIGINT,
    dispute_count = COALESCE((state::jsonb ->> 'dispute_count')::BIGINT, 0);
ALTER TABLE tickets ENABLE TRIGGER tickets_change_seq;

CREATE INDEX tickets_by_tier ON tickets (status, tier, created_at);
CREATE INDEX tickets_awaiting_extension ON tickets (resolve_by) WHERE extension_pending = 1;
CREATE INDEX tickets_by_review ON tickets (review_on) WHERE review_on IS NOT NULL;
CREATE INDEX tickets_disputed ON tickets (created_at) WHERE dispute_count > 0;

-- An overdue or escalated ticket is told to the unit's leader and the supervisors of its
-- place (notify.toml's officials): one event, one channel, several recipients. The
-- outbox's key of a ticket's rows gains the recipient (a webhook's none counts as one).
ALTER TABLE notifications DROP CONSTRAINT notifications_ticket_seq_channel_key;
CREATE UNIQUE INDEX notifications_once ON notifications (ticket, seq, channel, COALESCE(recipient, ''));
