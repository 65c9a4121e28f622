-- Signed stamps (SPEC §11): the signing key's id (`SHA256:…` fingerprint) and the SSHSIG blob
-- (base64) over the stamp's statement. The statement itself is not stored: it is rendered
-- from the row's own columns, so it cannot disagree with them. Rows from before signing keep
-- NULL in both and stay valid, as UNSIGNED stamps.
ALTER TABLE metadata_stamps ADD COLUMN signing_key TEXT;
ALTER TABLE metadata_stamps ADD COLUMN signature TEXT;
