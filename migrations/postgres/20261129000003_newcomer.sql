-- The interface is in English only: a clinic marked with another language had
-- its English pages read aloud with that language's voice (issue 11).
UPDATE tenants SET language = 'en' WHERE language NOT IN ('en', 'en-GB');
