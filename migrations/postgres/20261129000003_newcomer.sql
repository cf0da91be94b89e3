-- What a newcomer stumbled on (issue 11).

-- The interface is in English only: a clinic marked with another language had
-- its English pages read aloud with that language's voice.
UPDATE tenants SET language = 'en' WHERE language NOT IN ('en', 'en-GB');

-- A pending invitation can be withdrawn (it gives back the seat it held); the row
-- stays, for the audit trail.
ALTER TABLE invitations ADD COLUMN revoked_at timestamptz;
