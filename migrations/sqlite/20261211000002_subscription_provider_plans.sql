-- The provider's own plan object for a MediSync plan at a price and interval
-- (Razorpay Subscriptions need one; Stripe takes the price inline). Made once
-- and reused; a new price makes a new one. A platform table.
CREATE TABLE subscription_provider_plans (
    provider         TEXT    NOT NULL CHECK (provider IN ('stripe', 'razorpay')),
    plan_id          TEXT    NOT NULL REFERENCES plans (id),
    billing_interval TEXT    NOT NULL CHECK (billing_interval IN ('month', 'year')),
    amount           INTEGER NOT NULL CHECK (amount >= 0),
    currency         TEXT    NOT NULL CHECK (length(currency) = 3),
    plan_ref         TEXT    NOT NULL CHECK (length(plan_ref) BETWEEN 1 AND 255),
    created_at       TEXT    NOT NULL,
    PRIMARY KEY (provider, plan_id, billing_interval, amount, currency)
) STRICT;
