-- Security review (issue 10).

-- The tenant a session is signed in to (NULL: the platform), so one clinic can end
-- a shared staff member's sessions there without touching their other clinics.
-- Not named tenant_id: a session is read before any tenant is known, so this is a
-- platform table, without row-level security.
ALTER TABLE sessions ADD COLUMN signed_in_tenant BLOB;
CREATE INDEX sessions_account_tenant ON sessions (account_id, signed_in_tenant);

-- Custom domains: `custom_domain` (UNIQUE) now holds only a domain its clinic has
-- proven, so the first clinic to prove it wins; what a clinic has typed but not
-- proven is a claim, which any number of clinics may hold and which expires.
ALTER TABLE tenants ADD COLUMN custom_domain_claim TEXT;
ALTER TABLE tenants ADD COLUMN custom_domain_claimed_at TEXT;
UPDATE tenants
   SET custom_domain_claim = custom_domain,
       custom_domain_claimed_at = updated_at,
       custom_domain = NULL
 WHERE custom_domain IS NOT NULL AND custom_domain_verified_at IS NULL;
UPDATE tenants
   SET custom_domain_claim = custom_domain,
       custom_domain_claimed_at = custom_domain_verified_at
 WHERE custom_domain IS NOT NULL;

-- A password chosen at sign-up waits here until the email address is proven, so
-- that signing up tells nobody whether an address already had an account (an
-- unproven sign-up cannot sign in, exactly like an address that was never used).
ALTER TABLE accounts ADD COLUMN pending_password_hash TEXT;
