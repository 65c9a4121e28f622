-- The relay's claim on an outbox row (taken with FOR UPDATE SKIP LOCKED): other relays skip
-- the row until the lease expires, so a crashed relay's rows are picked up again and live
-- relays never send a row twice.
ALTER TABLE event_logs ADD COLUMN locked_until TIMESTAMPTZ;
