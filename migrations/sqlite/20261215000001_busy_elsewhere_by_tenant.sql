-- Reading a practitioner's busy time at other clinics skips their own clinic's
-- stretches in the index (see the PostgreSQL migration).
CREATE INDEX account_busy_account_tenant_time ON account_busy (account_id, tenant_id, occupied_until);
DROP INDEX account_busy_account_time;
