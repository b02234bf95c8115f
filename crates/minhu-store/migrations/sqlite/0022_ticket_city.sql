-- The city of the province each ticket belongs to (a province on one platform): a
-- city's officials read only their city's tickets by this column. Tickets stored
-- before it have none; `minhu serve` gives them the home city's id at start
-- (`TicketStore::adopt_city`), the city their state already reads as.
ALTER TABLE tickets ADD COLUMN city TEXT;
CREATE INDEX tickets_by_city ON tickets (city, created_at);
-- The city that handed the ticket over (转办), which keeps it in sight.
ALTER TABLE tickets ADD COLUMN city_from TEXT;
CREATE INDEX tickets_by_city_from ON tickets (city_from) WHERE city_from IS NOT NULL;
