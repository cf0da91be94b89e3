-- MediSync charges the clinic: each clinic's subscription with the platform's
-- payment provider, the provider's invoices to it, and the events already
-- handled. These are platform tables (MediSync's own customers), read and
-- written only through platform transactions, never by a clinic's queries.
--
-- Dunning lives on `tenants`: when a renewal first failed, and from when the
-- clinic's records are read-only (the failure plus the grace period; an
-- operator may move it). A payment clears both at once.

ALTER TABLE tenants ADD COLUMN payment_failed_at TEXT;
ALTER TABLE tenants ADD COLUMN read_only_from TEXT
    CHECK (read_only_from IS NULL OR payment_failed_at IS NOT NULL);

CREATE TABLE subscriptions (
    tenant             BLOB    NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    provider           TEXT    NOT NULL CHECK (provider IN ('stripe', 'razorpay')),
    customer_ref       TEXT    CHECK (length(customer_ref) BETWEEN 1 AND 255),
    subscription_ref   TEXT    UNIQUE CHECK (length(subscription_ref) BETWEEN 1 AND 255),
    plan_id            TEXT    NOT NULL REFERENCES plans (id),
    billing_interval   TEXT    NOT NULL CHECK (billing_interval IN ('month', 'year')),
    amount             INTEGER NOT NULL CHECK (amount >= 0),
    currency           TEXT    NOT NULL CHECK (length(currency) = 3),
    status             TEXT    NOT NULL CHECK (status IN
                           ('checkout', 'active', 'past_due', 'unpaid', 'canceled')),
    current_period_end TEXT,
    status_at          TEXT,
    paid_at            TEXT,
    updated_at         TEXT    NOT NULL
) STRICT;

CREATE TABLE subscription_invoices (
    provider     TEXT    NOT NULL CHECK (provider IN ('stripe', 'razorpay')),
    invoice_ref  TEXT    NOT NULL CHECK (length(invoice_ref) BETWEEN 1 AND 255),
    tenant       BLOB    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    number       TEXT    CHECK (length(number) BETWEEN 1 AND 100),
    amount       INTEGER NOT NULL CHECK (amount >= 0),
    currency     TEXT    NOT NULL CHECK (length(currency) = 3),
    status       TEXT    NOT NULL CHECK (status IN ('paid', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    period_end   TEXT,
    hosted_url   TEXT    CHECK (length(hosted_url) BETWEEN 1 AND 2000),
    at           TEXT    NOT NULL,
    PRIMARY KEY (provider, invoice_ref)
) STRICT;
CREATE INDEX subscription_invoices_tenant ON subscription_invoices (tenant, at);

CREATE TABLE subscription_events (
    provider    TEXT NOT NULL,
    event_id    TEXT NOT NULL CHECK (length(event_id) BETWEEN 1 AND 255),
    kind        TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 100),
    received_at TEXT NOT NULL,
    PRIMARY KEY (provider, event_id)
) STRICT;
