-- A stamp's log index is read from log_entries (stamp_id is unique there), not kept a second
-- time on the stamp row: the UPDATE that copied it rewrote every new stamp's row once more in
-- the group commit (~10 % of the logged write rate, benches/log.rs). log_entries already
-- holds every index the column held.
ALTER TABLE metadata_stamps DROP COLUMN log_index;
