-- Open311's updates (servicerequestupdates) and its updated_after/updated_before read the
-- tickets that changed within a window: by this index, not by scanning every ticket.
CREATE INDEX tickets_by_updated ON tickets (updated_at);
