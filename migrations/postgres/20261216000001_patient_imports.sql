-- Patient imports (`/patients/import`): the uploaded file (kept until the run
-- ends, so that a stopped run can resume), the columns' mapping, the run's
-- progress, and the report of rows that were not imported. Patients an import
-- registered carry its id, so that the import can be rolled back as a whole.
CREATE TABLE patient_imports (
    tenant_id      uuid        NOT NULL REFERENCES tenants (id),
    id             uuid        NOT NULL,
    created_by     uuid        NOT NULL REFERENCES accounts (id),
    file_name      text        NOT NULL CHECK (length(file_name) <= 200),
    headers        text        NOT NULL,
    mapping        text        NOT NULL,
    date_format    text        NOT NULL,
    allow_similar  boolean     NOT NULL DEFAULT false,
    content        text        NOT NULL,
    total_rows     bigint      NOT NULL CHECK (total_rows > 0),
    processed_rows bigint      NOT NULL DEFAULT 0 CHECK (processed_rows BETWEEN 0 AND total_rows),
    imported_rows  bigint      NOT NULL DEFAULT 0 CHECK (imported_rows >= 0),
    rejected_rows  bigint      NOT NULL DEFAULT 0 CHECK (rejected_rows >= 0),
    state          text        NOT NULL
        CHECK (state IN ('mapping', 'running', 'stopped', 'done', 'rolled_back')),
    message        text,
    created_at     timestamptz NOT NULL,
    started_at     timestamptz,
    finished_at    timestamptz,
    PRIMARY KEY (tenant_id, id),
    CHECK (imported_rows + rejected_rows <= processed_rows)
);
CREATE INDEX patient_imports_recent ON patient_imports (tenant_id, created_at);

CREATE TABLE patient_import_rejects (
    tenant_id  uuid   NOT NULL REFERENCES tenants (id),
    import_id  uuid   NOT NULL,
    row_number bigint NOT NULL,
    reason     text   NOT NULL,
    cells      text   NOT NULL,
    PRIMARY KEY (tenant_id, import_id, row_number),
    FOREIGN KEY (tenant_id, import_id) REFERENCES patient_imports (tenant_id, id)
);

ALTER TABLE patients ADD COLUMN import_id uuid;
ALTER TABLE patients ADD CONSTRAINT patients_import
    FOREIGN KEY (tenant_id, import_id) REFERENCES patient_imports (tenant_id, id);
CREATE INDEX patients_imported ON patients (tenant_id, import_id) WHERE import_id IS NOT NULL;
-- Registration's and the import's duplicate check by email.
CREATE INDEX patients_email ON patients (tenant_id, lower(email)) WHERE email IS NOT NULL;

ALTER TABLE patient_imports ENABLE ROW LEVEL SECURITY;
ALTER TABLE patient_imports FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON patient_imports
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE ON patient_imports TO medisync_app;

ALTER TABLE patient_import_rejects ENABLE ROW LEVEL SECURITY;
ALTER TABLE patient_import_rejects FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON patient_import_rejects
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, DELETE ON patient_import_rejects TO medisync_app;
