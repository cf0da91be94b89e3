-- MediSync charges the clinic: each clinic's subscription with the platform's
-- payment provider, the provider's invoices to it, and the events already
-- handled. These are platform tables (MediSync's own customers), read and
-- written only through platform transactions, never by a clinic's queries.
--
-- Dunning lives on `tenants`: when a renewal first failed, and from when the
-- clinic's records are read-only (the failure plus the grace period; an
-- operator may move it). A payment clears both at once.

ALTER TABLE tenants ADD COLUMN payment_failed_at timestamptz;
ALTER TABLE tenants ADD COLUMN read_only_from timestamptz;
ALTER TABLE tenants ADD CONSTRAINT tenants_read_only_after_failure
    CHECK (read_only_from IS NULL OR payment_failed_at IS NOT NULL);

CREATE TABLE subscriptions (
    tenant             uuid        NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    provider           text        NOT NULL CHECK (provider IN ('stripe', 'razorpay')),
    -- The provider's customer (`cus_...`) and subscription (`sub_...`).
    customer_ref       text        CHECK (length(customer_ref) BETWEEN 1 AND 255),
    subscription_ref   text        UNIQUE CHECK (length(subscription_ref) BETWEEN 1 AND 255),
    plan_id            text        NOT NULL REFERENCES plans (id),
    billing_interval   text        NOT NULL CHECK (billing_interval IN ('month', 'year')),
    -- What one interval costs, in the currency's minor unit.
    amount             bigint      NOT NULL CHECK (amount >= 0),
    currency           text        NOT NULL CHECK (length(currency) = 3),
    status             text        NOT NULL CHECK (status IN
                           ('checkout', 'active', 'past_due', 'unpaid', 'canceled')),
    current_period_end timestamptz,
    -- The newest provider event applied to the status (older ones are stale).
    status_at          timestamptz,
    -- The newest successful payment: a failure older than it changes nothing.
    paid_at            timestamptz,
    updated_at         timestamptz NOT NULL
);

CREATE TABLE subscription_invoices (
    provider     text        NOT NULL CHECK (provider IN ('stripe', 'razorpay')),
    invoice_ref  text        NOT NULL CHECK (length(invoice_ref) BETWEEN 1 AND 255),
    tenant       uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    number       text        CHECK (length(number) BETWEEN 1 AND 100),
    amount       bigint      NOT NULL CHECK (amount >= 0),
    currency     text        NOT NULL CHECK (length(currency) = 3),
    status       text        NOT NULL CHECK (status IN ('paid', 'failed')),
    attempts     integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    period_end   timestamptz,
    hosted_url   text        CHECK (length(hosted_url) BETWEEN 1 AND 2000),
    at           timestamptz NOT NULL,
    PRIMARY KEY (provider, invoice_ref)
);
CREATE INDEX subscription_invoices_tenant ON subscription_invoices (tenant, at);

CREATE TABLE subscription_events (
    provider    text        NOT NULL,
    event_id    text        NOT NULL CHECK (length(event_id) BETWEEN 1 AND 255),
    kind        text        NOT NULL CHECK (length(kind) BETWEEN 1 AND 100),
    received_at timestamptz NOT NULL,
    PRIMARY KEY (provider, event_id)
);

GRANT SELECT, INSERT, UPDATE ON subscriptions, subscription_invoices TO medisync_app;
GRANT SELECT, INSERT, DELETE ON subscription_events TO medisync_app;
