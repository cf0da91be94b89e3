-- Patient imports (`/patients/import`): the uploaded file (kept until the run
-- ends, so that a stopped run can resume), the columns' mapping, the run's
-- progress, and the report of rows that were not imported. Patients an import
-- registered carry its id, so that the import can be rolled back as a whole.
CREATE TABLE patient_imports (
    tenant_id      BLOB    NOT NULL REFERENCES tenants (id),
    id             BLOB    NOT NULL,
    created_by     BLOB    NOT NULL REFERENCES accounts (id),
    file_name      TEXT    NOT NULL CHECK (length(file_name) <= 200),
    headers        TEXT    NOT NULL,
    mapping        TEXT    NOT NULL,
    date_format    TEXT    NOT NULL,
    allow_similar  INTEGER NOT NULL DEFAULT 0 CHECK (allow_similar IN (0, 1)),
    content        TEXT    NOT NULL,
    total_rows     INTEGER NOT NULL CHECK (total_rows > 0),
    processed_rows INTEGER NOT NULL DEFAULT 0 CHECK (processed_rows BETWEEN 0 AND total_rows),
    imported_rows  INTEGER NOT NULL DEFAULT 0 CHECK (imported_rows >= 0),
    rejected_rows  INTEGER NOT NULL DEFAULT 0 CHECK (rejected_rows >= 0),
    state          TEXT    NOT NULL
        CHECK (state IN ('mapping', 'running', 'stopped', 'done', 'rolled_back')),
    message        TEXT,
    created_at     TEXT    NOT NULL,
    started_at     TEXT,
    finished_at    TEXT,
    PRIMARY KEY (tenant_id, id),
    CHECK (imported_rows + rejected_rows <= processed_rows)
) STRICT;
CREATE INDEX patient_imports_recent ON patient_imports (tenant_id, created_at);

CREATE TABLE patient_import_rejects (
    tenant_id  BLOB    NOT NULL REFERENCES tenants (id),
    import_id  BLOB    NOT NULL,
    row_number INTEGER NOT NULL,
    reason     TEXT    NOT NULL,
    cells      TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, import_id, row_number),
    FOREIGN KEY (tenant_id, import_id) REFERENCES patient_imports (tenant_id, id)
) STRICT;

-- SQLite cannot add a table constraint to an existing table (and a reference
-- to `id` alone would not name a key): the import writes the id it holds.
ALTER TABLE patients ADD COLUMN import_id BLOB;
CREATE INDEX patients_imported ON patients (tenant_id, import_id) WHERE import_id IS NOT NULL;
CREATE INDEX patients_email ON patients (tenant_id, lower(email)) WHERE email IS NOT NULL;
