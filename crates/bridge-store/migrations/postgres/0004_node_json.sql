-- Node documents are the client's JSON, stored as sent: JSON, not JSONB, because JSONB refuses
-- "\u0000" inside strings (the same choice as metadata_stamps.metadata). The registry never
-- queries inside them.
ALTER TABLE node_registrations
    ALTER COLUMN capabilities DROP DEFAULT,
    ALTER COLUMN endpoints DROP DEFAULT,
    ALTER COLUMN metadata DROP DEFAULT;
ALTER TABLE node_registrations
    ALTER COLUMN capabilities TYPE JSON USING capabilities::json,
    ALTER COLUMN endpoints TYPE JSON USING endpoints::json,
    ALTER COLUMN metadata TYPE JSON USING metadata::json;
ALTER TABLE node_registrations
    ALTER COLUMN capabilities SET DEFAULT '[]',
    ALTER COLUMN endpoints SET DEFAULT '{}',
    ALTER COLUMN metadata SET DEFAULT '{}';
