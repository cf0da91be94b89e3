-- PostgreSQL adds a row-level policy here (an account reads its own portal
-- records). SQLite has no row-level security: the query names the account.
SELECT 1;
