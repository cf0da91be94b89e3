-- The provider's own plan object for a MediSync plan at a price and interval
-- (Razorpay Subscriptions need one; Stripe takes the price inline). Made once
-- and reused; a new price makes a new one. A platform table.
CREATE TABLE subscription_provider_plans (
    provider         text        NOT NULL CHECK (provider IN ('stripe', 'razorpay')),
    plan_id          text        NOT NULL REFERENCES plans (id),
    billing_interval text        NOT NULL CHECK (billing_interval IN ('month', 'year')),
    amount           bigint      NOT NULL CHECK (amount >= 0),
    currency         text        NOT NULL CHECK (length(currency) = 3),
    plan_ref         text        NOT NULL CHECK (length(plan_ref) BETWEEN 1 AND 255),
    created_at       timestamptz NOT NULL,
    PRIMARY KEY (provider, plan_id, billing_interval, amount, currency)
);

GRANT SELECT, INSERT ON subscription_provider_plans TO medisync_app;
