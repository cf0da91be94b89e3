-- The clinic's registry settings: how many years an erased (restricted) record
-- is kept before the daily purge, when the erasure names no date; and the
-- prefix of new record numbers (NULL: the first letters of the clinic's
-- address). The series itself keeps the prefix in use (patient_mrn_series).
ALTER TABLE tenants ADD COLUMN retention_years INTEGER NOT NULL DEFAULT 10
    CHECK (retention_years BETWEEN 1 AND 100);
ALTER TABLE tenants ADD COLUMN mrn_prefix TEXT
    CHECK (mrn_prefix IS NULL OR (length(mrn_prefix) BETWEEN 1 AND 10
        AND mrn_prefix NOT GLOB '*[^A-Z0-9-]*' AND mrn_prefix NOT GLOB '-*'));
