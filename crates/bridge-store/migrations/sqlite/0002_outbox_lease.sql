-- The relay's claim on an outbox row: other relays skip the row until the lease expires, so
-- a crashed relay's rows are picked up again and a live one never has a row sent twice.
ALTER TABLE event_logs ADD COLUMN locked_until TEXT;
