-- PostgreSQL adds a row-level policy here (an account reads its own portal
-- records for "Find my clinic"). SQLite has no row-level security: the query
-- names the account.

-- The set-up checklist on the dashboard, hidden by the clinic's administrators.
ALTER TABLE tenants ADD COLUMN checklist_dismissed_at TEXT;
