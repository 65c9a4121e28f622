-- Signed stamps (SPEC §11): the signing key's id (`SHA256:…` fingerprint) and the SSHSIG blob
-- (base64) over the stamp's statement. The statement itself is not stored: it is rendered
-- from the row's own columns, so it cannot disagree with them. Rows from before signing keep
-- NULL in both and stay valid, as UNSIGNED stamps. Both or neither.
ALTER TABLE metadata_stamps
    ADD COLUMN signing_key TEXT,
    ADD COLUMN signature TEXT,
    ADD CONSTRAINT metadata_stamps_signed_whole
        CHECK ((signing_key IS NULL) = (signature IS NULL));
