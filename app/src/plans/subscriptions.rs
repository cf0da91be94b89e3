//! MediSync charges the clinic: the owner subscribes to a plan through the
//! platform's Stripe account (Checkout in subscription mode), changes plan with
//! proration, and changes the card on Stripe's Customer Portal. Stripe's signed
//! events drive everything else:
//!
//! * `invoice.paid` extends `tenants.paid_until` to the end of the period paid
//!   for and clears any arrears at once (a clinic suspended for non-payment is
//!   active again);
//! * `invoice.payment_failed` starts dunning: owners and admins see a banner,
//!   Stripe retries on its own schedule, and from the first failure plus the
//!   grace period (`subscriptions.grace_days`, 14 by default) the clinic's
//!   records are read-only: reading and exporting go on, changing them does not
//!   (enforced by the server for every function in
//!   [`crate::identity::access::RECORD_WRITES`]);
//! * `customer.subscription.updated`/`deleted` to `unpaid` or `canceled` after
//!   a failure is the final failure: the clinic is suspended. A subscription
//!   cancelled without arrears runs to the end of its paid period, then the
//!   sweep suspends the clinic.
//!
//! Each event is handled once (by its id) and events older than the state they
//! would change are stale (Stripe does not promise order).
//!
//! The platform may charge through Razorpay Subscriptions instead
//! (`subscriptions.provider = "razorpay"`): the owner authorises the card on
//! Razorpay's page, and `subscription.charged`, `.pending`, `.halted` and
//! `.cancelled` drive the same dunning (see [`razorpay_event`]).

use chrono::{DateTime, Duration, TimeZone, Utc};
use uuid::Uuid;

use super::{Interval, SubscriptionStatus};
use crate::db::{on_conn, Db, DbError, PlatformTx};
use crate::identity::audit::{self, Actor, RequestMeta};
use crate::payments::razorpay_billing as razorpay;
use crate::payments::stripe_billing::{self as stripe, CompletedCheckout, Invoice, Subscription};
use crate::payments::{Keys, Outcome, Provider};
use crate::tenancy::TenantId;

/// Where Stripe sends the platform account's events (stable address).
pub const STRIPE_WEBHOOK_PATH: &str = "/webhooks/subscriptions/stripe";
/// Where Razorpay sends the platform account's events (stable address).
pub const RAZORPAY_WEBHOOK_PATH: &str = "/webhooks/subscriptions/razorpay";
/// Billing cycles a Razorpay subscription runs (Razorpay needs a count): ten
/// years of months, or ten years.
const RAZORPAY_CYCLES: [(Interval, u32); 2] = [(Interval::Month, 120), (Interval::Year, 10)];
/// Why a clinic was suspended by dunning; a payment lifts only this one.
pub const UNPAID_REASON: &str = "subscription unpaid";
/// Why a clinic whose subscription was cancelled stopped at its period's end.
pub const ENDED_REASON: &str = "subscription ended";

/// The platform's subscription set-up (configuration).
#[derive(Clone, Debug)]
pub struct Billing {
    /// The platform's Stripe account; `None`: subscriptions are not open here
    /// (operators set clinics' plans by hand).
    pub stripe: Option<Keys>,
    pub stripe_api: String,
    /// The platform's Razorpay account (key id, key secret, webhook secret).
    pub razorpay: Option<Keys>,
    pub razorpay_api: String,
    /// Which provider new subscriptions go through (`subscriptions.provider`).
    pub provider: Provider,
    pub http: reqwest::Client,
    /// From the first failed renewal to read-only records.
    pub grace: Duration,
}

/// A clinic's subscription as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Stored {
    pub provider: String,
    pub customer_ref: Option<String>,
    pub subscription_ref: Option<String>,
    pub plan_id: String,
    pub billing_interval: String,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    pub current_period_end: Option<DateTime<Utc>>,
}

impl Stored {
    pub fn status(&self) -> SubscriptionStatus {
        self.status.parse().unwrap_or(SubscriptionStatus::Canceled)
    }

    /// Whether the subscription is running (paid or in dunning).
    pub fn is_running(&self) -> bool {
        matches!(
            self.status(),
            SubscriptionStatus::Active | SubscriptionStatus::PastDue
        )
    }
}

pub async fn get(tx: &mut PlatformTx, tenant: TenantId) -> Result<Option<Stored>, DbError> {
    Ok(on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, Stored>(
            "SELECT provider, customer_ref, subscription_ref, plan_id, billing_interval, amount, \
             currency, status, current_period_end FROM subscriptions WHERE tenant = $1",
        )
        .bind(tenant.into_uuid())
        .fetch_optional(c)
        .await?
    }))
}

/// A provider's invoice to the clinic, as its history shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvoiceRow {
    pub number: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    pub attempts: i32,
    pub hosted_url: Option<String>,
    pub at: DateTime<Utc>,
}

/// The clinic's invoices from the provider, newest first.
pub async fn invoices(tx: &mut PlatformTx, tenant: TenantId) -> Result<Vec<InvoiceRow>, DbError> {
    Ok(on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, InvoiceRow>(
            "SELECT number, amount, currency, status, CAST(attempts AS INTEGER) AS attempts, \
             hosted_url, at FROM subscription_invoices WHERE tenant = $1 ORDER BY at DESC LIMIT 36",
        )
        .bind(tenant.into_uuid())
        .fetch_all(c)
        .await?
    }))
}

/// Records that the owner is on the way to Stripe's page for `plan`.
async fn start(
    tx: &mut PlatformTx,
    tenant: TenantId,
    provider: Provider,
    plan: &super::Plan,
    interval: Interval,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let amount = super::price_for(plan, interval);
    on_conn!(tx.conn(), |c| {
        sqlx::query(
            "INSERT INTO subscriptions (tenant, provider, plan_id, billing_interval, amount, currency, status, updated_at) \
             VALUES ($1, $7, $2, $3, $4, $5, 'checkout', $6) \
             ON CONFLICT (tenant) DO UPDATE SET provider = $7, plan_id = $2, billing_interval = $3, amount = $4, \
             currency = $5, status = 'checkout', updated_at = $6",
        )
        .bind(tenant.into_uuid())
        .bind(plan.id.as_str())
        .bind(interval.as_str())
        .bind(amount)
        .bind(&plan.currency)
        .bind(now)
        .bind(provider.as_str())
        .execute(c)
        .await?
        .rows_affected()
    });
    Ok(())
}

/// Why opening a subscription or changing it did not happen.
#[derive(Debug)]
pub enum Refusal {
    /// Words for the owner.
    Said(String),
    Db(DbError),
}

impl From<sqlx::Error> for Refusal {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e.into())
    }
}

impl From<DbError> for Refusal {
    fn from(e: DbError) -> Self {
        Self::Db(e)
    }
}

fn said_by(provider: Provider) -> impl Fn(Outcome) -> Refusal {
    move |outcome| {
        let name = provider.label();
        let words = match outcome {
            Outcome::Refused { message, .. } => {
                format!("{name} refused: {message}. Try again, or contact MediSync support.")
            }
            Outcome::Unreachable(_) | Outcome::Unknown(_) | Outcome::Accepted { .. } => {
                format!("{name} could not be reached; nothing was charged. Try again in a minute.")
            }
        };
        Refusal::Said(words)
    }
}

fn provider_said(outcome: Outcome) -> Refusal {
    said_by(Provider::Stripe)(outcome)
}

impl Billing {
    /// The keys of `provider`, when the platform has that account.
    fn keys_of(&self, provider: Provider) -> Option<&Keys> {
        match provider {
            Provider::Stripe => self.stripe.as_ref(),
            Provider::Razorpay => self.razorpay.as_ref(),
        }
    }

    /// Whether owners can subscribe here.
    pub fn is_open(&self) -> bool {
        self.keys_of(self.provider).is_some()
    }
}

fn closed() -> Refusal {
    Refusal::Said(
        "Subscriptions are not open on this installation; contact MediSync to change the plan."
            .into(),
    )
}

fn keys(billing: &Billing) -> Result<&Keys, Refusal> {
    billing.stripe.as_ref().ok_or_else(closed)
}

/// The provider a stored subscription runs at.
fn provider_of(stored: &Stored) -> Provider {
    stored.provider.parse().unwrap_or(Provider::Stripe)
}

/// What an owner's subscription checkout needs.
pub struct Checkout<'a> {
    pub tenant: TenantId,
    pub plan: &'a super::Plan,
    pub interval: Interval,
    pub email: &'a str,
    /// The plan page's full address (Stripe sends the owner back there).
    pub return_to: &'a str,
    pub now: DateTime<Utc>,
}

/// Opens Stripe's subscription page for the clinic; its address. Nothing
/// changes for the clinic until Stripe's signed events say it paid.
pub async fn open_checkout(
    db: &Db,
    billing: &Billing,
    r: &Checkout<'_>,
) -> Result<String, Refusal> {
    let provider = billing.provider;
    let keys = billing.keys_of(provider).ok_or_else(closed)?;
    let amount = super::price_for(r.plan, r.interval);
    if amount <= 0 {
        return Err(Refusal::Said(
            "this plan costs nothing; an operator can set it".into(),
        ));
    }
    let mut tx = db.begin_platform().await?;
    let existing = get(&mut tx, r.tenant).await?;
    if existing.as_ref().is_some_and(Stored::is_running) {
        return Err(Refusal::Said(
            "The clinic already has a subscription: switch plan below instead.".into(),
        ));
    }
    start(&mut tx, r.tenant, provider, r.plan, r.interval, r.now).await?;
    tx.commit().await?;
    if provider == Provider::Razorpay {
        return open_razorpay(db, billing, keys, r).await;
    }
    let tenant = r.tenant.to_string();
    let name = format!("MediSync {}", r.plan.name);
    let reference = format!("subscribe-{}", Uuid::now_v7());
    let request = stripe::SubscriptionRequest {
        price: stripe::Price {
            amount,
            currency: &r.plan.currency,
            interval: r.interval.as_str(),
            name: &name,
        },
        tenant: &tenant,
        plan: r.plan.id.as_str(),
        customer: existing.as_ref().and_then(|s| s.customer_ref.as_deref()),
        email: r.email,
        return_url: &format!("{}?subscribed=1", r.return_to),
        cancel_url: r.return_to,
        reference: &reference,
    };
    let page =
        stripe::create_subscription_checkout(&billing.http, &billing.stripe_api, keys, &request)
            .await
            .map_err(provider_said)?;
    Ok(page.url)
}

/// Razorpay's page where the owner authorises the subscription. The
/// subscription exists (status `created`) before the owner gets there, so its
/// id is recorded at once: its events find the clinic by it.
async fn open_razorpay(
    db: &Db,
    billing: &Billing,
    keys: &Keys,
    r: &Checkout<'_>,
) -> Result<String, Refusal> {
    let plan_ref = razorpay_plan(db, billing, keys, r.plan, r.interval).await?;
    let cycles = RAZORPAY_CYCLES
        .iter()
        .find(|(i, _)| *i == r.interval)
        .map_or(120, |(_, n)| *n);
    let tenant = r.tenant.to_string();
    let created = razorpay::create_subscription(
        &billing.http,
        &billing.razorpay_api,
        keys,
        &razorpay::NewSubscription {
            plan_ref: &plan_ref,
            cycles,
            tenant: &tenant,
            plan: r.plan.id.as_str(),
        },
    )
    .await
    .map_err(said_by(Provider::Razorpay))?;
    let mut tx = db.begin_platform().await?;
    on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE subscriptions SET subscription_ref = $2, updated_at = $3 WHERE tenant = $1",
        )
        .bind(r.tenant.into_uuid())
        .bind(&created.id)
        .bind(r.now)
        .execute(c)
        .await?
        .rows_affected()
    });
    recorded(&mut tx, "subscription.checkout_opened", r.tenant).await?;
    tx.commit().await?;
    created
        .short_url
        .ok_or_else(|| said_by(Provider::Razorpay)(Outcome::Unknown(String::new())))
}

/// The Razorpay plan for a MediSync plan at a price and interval: made once,
/// then reused (a new price makes a new Razorpay plan).
async fn razorpay_plan(
    db: &Db,
    billing: &Billing,
    keys: &Keys,
    plan: &super::Plan,
    interval: Interval,
) -> Result<String, Refusal> {
    let amount = super::price_for(plan, interval);
    let mut read = db.begin_platform_read().await?;
    let known = recorded_plan(&mut read, plan, interval, amount).await?;
    drop(read);
    if let Some(known) = known {
        return Ok(known);
    }
    let name = format!("MediSync {}", plan.name);
    let period = match interval {
        Interval::Month => "monthly",
        Interval::Year => "yearly",
    };
    let plan_ref = razorpay::create_plan(
        &billing.http,
        &billing.razorpay_api,
        keys,
        &razorpay::PlanPrice {
            period,
            amount,
            currency: &plan.currency,
            name: &name,
        },
    )
    .await
    .map_err(said_by(Provider::Razorpay))?;
    let mut tx = db.begin_platform().await?;
    // Two owners racing make two Razorpay plans; the first recorded is kept.
    on_conn!(tx.conn(), |c| {
        sqlx::query(
            "INSERT INTO subscription_provider_plans (provider, plan_id, billing_interval, amount, currency, plan_ref, created_at) \
             VALUES ('razorpay', $1, $2, $3, $4, $5, $6) \
             ON CONFLICT (provider, plan_id, billing_interval, amount, currency) DO NOTHING",
        )
        .bind(plan.id.as_str())
        .bind(interval.as_str())
        .bind(amount)
        .bind(&plan.currency)
        .bind(&plan_ref)
        .bind(Utc::now())
        .execute(c)
        .await?
        .rows_affected()
    });
    let kept = recorded_plan(&mut tx, plan, interval, amount).await?;
    tx.commit().await?;
    kept.ok_or(Refusal::Db(DbError::NotFound))
}

/// The Razorpay plan recorded for a MediSync plan at a price and interval.
async fn recorded_plan(
    tx: &mut PlatformTx,
    plan: &super::Plan,
    interval: Interval,
    amount: i64,
) -> Result<Option<String>, DbError> {
    Ok(on_conn!(tx.conn(), |c| {
        sqlx::query_scalar(
            "SELECT plan_ref FROM subscription_provider_plans WHERE provider = 'razorpay' \
             AND plan_id = $1 AND billing_interval = $2 AND amount = $3 AND currency = $4",
        )
        .bind(plan.id.as_str())
        .bind(interval.as_str())
        .bind(amount)
        .bind(&plan.currency)
        .fetch_optional(c)
        .await?
    }))
}

/// Moves a running subscription to `plan` (same interval), prorated by Stripe.
pub async fn change_plan(
    db: &Db,
    billing: &Billing,
    tenant: TenantId,
    plan: &super::Plan,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    let mut read = db.begin_platform_read().await?;
    let stored = get(&mut read, tenant).await?;
    drop(read);
    let Some((stored, sub_ref)) = stored
        .filter(Stored::is_running)
        .and_then(|s| s.subscription_ref.clone().map(|r| (s, r)))
    else {
        return Err(Refusal::Said(
            "The clinic has no running subscription.".into(),
        ));
    };
    let interval: Interval = stored.billing_interval.parse().unwrap_or(Interval::Month);
    let amount = super::price_for(plan, interval);
    if provider_of(&stored) == Provider::Razorpay {
        let keys = billing.razorpay.as_ref().ok_or_else(closed)?;
        let plan_ref = razorpay_plan(db, billing, keys, plan, interval).await?;
        razorpay::change_plan(
            &billing.http,
            &billing.razorpay_api,
            keys,
            &sub_ref,
            &plan_ref,
        )
        .await
        .map_err(said_by(Provider::Razorpay))?;
        return follow_plan(db, tenant, plan, amount, now).await;
    }
    let keys = keys(billing)?;
    let current = stripe::subscription(&billing.http, &billing.stripe_api, keys, &sub_ref)
        .await
        .map_err(provider_said)?;
    let name = format!("MediSync {}", plan.name);
    let price = stripe::Price {
        amount,
        currency: &plan.currency,
        interval: interval.as_str(),
        name: &name,
    };
    let reference = format!("change-{}", Uuid::now_v7());
    stripe::change_price(
        &billing.http,
        &billing.stripe_api,
        keys,
        &current,
        &price,
        plan.id.as_str(),
        &reference,
    )
    .await
    .map_err(provider_said)?;
    follow_plan(db, tenant, plan, amount, now).await
}

/// Records the plan a subscription moved to, and puts the clinic on it.
async fn follow_plan(
    db: &Db,
    tenant: TenantId,
    plan: &super::Plan,
    amount: i64,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    let mut tx = db.begin_platform().await?;
    on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE subscriptions SET plan_id = $2, amount = $3, currency = $4, updated_at = $5 WHERE tenant = $1",
        )
        .bind(tenant.into_uuid())
        .bind(plan.id.as_str())
        .bind(amount)
        .bind(&plan.currency)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected()
    });
    super::db::set_tenant_plan(&mut tx, tenant, &plan.id).await?;
    tx.commit().await?;
    Ok(())
}

/// A Stripe Customer Portal address where the owner changes the card.
pub async fn card_page(
    db: &Db,
    billing: &Billing,
    tenant: TenantId,
    return_to: &str,
) -> Result<String, Refusal> {
    let mut read = db.begin_platform_read().await?;
    let stored = get(&mut read, tenant)
        .await?
        .ok_or_else(|| Refusal::Said("The clinic has not subscribed yet.".into()))?;
    drop(read);
    if provider_of(&stored) == Provider::Razorpay {
        // Razorpay has no customer portal: its subscription page takes a new card.
        let keys = billing.razorpay.as_ref().ok_or_else(closed)?;
        let sub_ref = stored
            .subscription_ref
            .ok_or_else(|| Refusal::Said("The clinic has not subscribed yet.".into()))?;
        let sub = razorpay::subscription(&billing.http, &billing.razorpay_api, keys, &sub_ref)
            .await
            .map_err(said_by(Provider::Razorpay))?;
        return sub.short_url.ok_or_else(|| {
            Refusal::Said("Razorpay offers no page for this subscription now.".into())
        });
    }
    let keys = keys(billing)?;
    let customer = stored
        .customer_ref
        .ok_or_else(|| Refusal::Said("The clinic has not subscribed yet.".into()))?;
    stripe::portal_session(
        &billing.http,
        &billing.stripe_api,
        keys,
        &customer,
        return_to,
    )
    .await
    .map_err(provider_said)
}

// ------------------------------------------------------------------ events --

/// How a webhook delivery was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// Applied (or seen before): 200.
    Handled,
    /// Signed and well formed, about nothing of ours: 200.
    Ignored,
    /// Unsigned, badly signed, stale, unreadable, or subscriptions closed: 400.
    NotBelieved,
}

/// Records in the platform's audit what a provider event did to a clinic.
async fn recorded(tx: &mut PlatformTx, action: &str, tenant: TenantId) -> Result<(), DbError> {
    audit::record_platform(
        tx,
        Actor::NOBODY,
        action,
        Some(&tenant.to_string()),
        &RequestMeta::default(),
    )
    .await
}

fn at(unix: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(unix, 0).single()
}

/// A Stripe event at [`STRIPE_WEBHOOK_PATH`], believed only when signed with
/// the platform's endpoint secret within Stripe's tolerance.
pub async fn stripe_event(
    db: &Db,
    billing: &Billing,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Received, DbError> {
    let Some(keys) = billing.stripe.as_ref() else {
        return Ok(Received::NotBelieved);
    };
    let Some(signature) = signature else {
        return Ok(Received::NotBelieved);
    };
    let verdict =
        crate::payments::stripe::verify(&keys.webhook_secret, signature, body, now.timestamp());
    if verdict != crate::payments::stripe::Verdict::Valid {
        tracing::warn!(?verdict, "subscription event refused");
        return Ok(Received::NotBelieved);
    }
    let Some(event) = crate::payments::stripe::parse_event(body) else {
        return Ok(Received::NotBelieved);
    };
    let happened = at(event.created).unwrap_or(now);
    let mut tx = db.begin_platform().await?;
    if !first_time(&mut tx, Provider::Stripe, &event.id, &event.kind, now).await? {
        return Ok(Received::Handled);
    }
    let object = event.data.object.clone();
    let applied = match event.kind.as_str() {
        stripe::CHECKOUT_COMPLETED => match serde_json::from_value(object) {
            Ok(checkout) => checkout_completed(&mut tx, &checkout, happened).await?,
            Err(_) => false,
        },
        stripe::INVOICE_PAID | stripe::INVOICE_PAYMENT_FAILED => {
            match serde_json::from_value::<Invoice>(object) {
                Ok(invoice) => {
                    let paid = event.kind == stripe::INVOICE_PAID;
                    invoice_event(&mut tx, billing, &invoice, paid, happened).await?
                }
                Err(_) => false,
            }
        }
        stripe::SUBSCRIPTION_UPDATED | stripe::SUBSCRIPTION_DELETED => {
            match serde_json::from_value::<Subscription>(object) {
                Ok(sub) => subscription_event(&mut tx, &sub, happened).await?,
                Err(_) => false,
            }
        }
        _ => false,
    };
    tx.commit().await?;
    Ok(if applied {
        Received::Handled
    } else {
        Received::Ignored
    })
}

async fn first_time(
    tx: &mut PlatformTx,
    provider: Provider,
    event: &str,
    kind: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let event: String = event.chars().take(255).collect();
    let kind: String = kind.chars().take(100).collect();
    let inserted = on_conn!(tx.conn(), |c| {
        sqlx::query(
            "INSERT INTO subscription_events (provider, event_id, kind, received_at) \
             VALUES ($4, $1, $2, $3) ON CONFLICT (provider, event_id) DO NOTHING",
        )
        .bind(&event)
        .bind(&kind)
        .bind(now)
        .bind(provider.as_str())
        .execute(c)
        .await?
        .rows_affected()
    });
    Ok(inserted == 1)
}

/// The clinic a subscription event is about: named in the metadata we set
/// (checked against our own record), else found by the subscription's id.
async fn clinic_of(
    tx: &mut PlatformTx,
    named: Option<&str>,
    subscription: Option<&str>,
) -> Result<Option<TenantId>, DbError> {
    let by_name = named.and_then(|n| n.parse::<Uuid>().ok());
    let found: Option<Uuid> = on_conn!(tx.conn(), |c| {
        sqlx::query_scalar(
            "SELECT tenant FROM subscriptions WHERE tenant = $1 OR subscription_ref = $2 \
             ORDER BY CASE WHEN tenant = $1 THEN 0 ELSE 1 END LIMIT 1",
        )
        .bind(by_name)
        .bind(subscription)
        .fetch_optional(c)
        .await?
    });
    Ok(found.map(TenantId::from_uuid))
}

async fn checkout_completed(
    tx: &mut PlatformTx,
    checkout: &CompletedCheckout,
    happened: DateTime<Utc>,
) -> Result<bool, DbError> {
    if checkout.mode.as_deref() != Some("subscription") {
        return Ok(false);
    }
    let named = checkout
        .client_reference_id
        .as_deref()
        .or(checkout.metadata.tenant.as_deref());
    let Some(tenant) = clinic_of(tx, named, None).await? else {
        return Ok(false);
    };
    let (Some(customer), Some(sub)) = (&checkout.customer, &checkout.subscription) else {
        return Ok(false);
    };
    // The first invoice's `invoice.paid` may have come first: keep its status.
    on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE subscriptions SET customer_ref = $2, subscription_ref = $3, \
             status = CASE WHEN status = 'checkout' THEN 'active' ELSE status END, updated_at = $4 \
             WHERE tenant = $1",
        )
        .bind(tenant.into_uuid())
        .bind(customer)
        .bind(sub)
        .bind(happened)
        .execute(c)
        .await?
        .rows_affected()
    });
    recorded(tx, "subscription.started", tenant).await?;
    Ok(true)
}

async fn invoice_event(
    tx: &mut PlatformTx,
    billing: &Billing,
    invoice: &Invoice,
    paid: bool,
    happened: DateTime<Utc>,
) -> Result<bool, DbError> {
    let Some(tenant) = clinic_of(tx, invoice.tenant(), invoice.subscription_id()).await? else {
        return Ok(false);
    };
    record_invoice(tx, tenant, invoice, paid, happened).await?;
    if paid {
        let until = invoice.period_end().and_then(at);
        payment_received(tx, tenant, until, happened).await?;
    } else {
        payment_failed(tx, tenant, happened, billing.grace).await?;
    }
    Ok(true)
}

async fn record_invoice(
    tx: &mut PlatformTx,
    tenant: TenantId,
    invoice: &Invoice,
    paid: bool,
    happened: DateTime<Utc>,
) -> Result<(), DbError> {
    let bill = Bill {
        provider: Provider::Stripe,
        reference: &invoice.id,
        number: invoice.number.as_deref(),
        amount: if paid {
            invoice.amount_paid
        } else {
            invoice.amount_due
        },
        currency: invoice.currency.as_deref().unwrap_or("usd"),
        paid,
        attempts: invoice.attempt_count,
        period_end: invoice.period_end().and_then(at),
        url: invoice.hosted_invoice_url.as_deref(),
    };
    record_bill(tx, tenant, &bill, happened).await
}

/// A provider's bill to a clinic, as recorded for its history.
struct Bill<'a> {
    provider: Provider,
    reference: &'a str,
    number: Option<&'a str>,
    amount: i64,
    currency: &'a str,
    paid: bool,
    attempts: i64,
    period_end: Option<DateTime<Utc>>,
    url: Option<&'a str>,
}

async fn record_bill(
    tx: &mut PlatformTx,
    tenant: TenantId,
    bill: &Bill<'_>,
    happened: DateTime<Utc>,
) -> Result<(), DbError> {
    let (amount, paid, period_end) = (bill.amount, bill.paid, bill.period_end);
    let currency = bill.currency.to_ascii_uppercase();
    let url = bill
        .url
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"));
    let number = bill.number.map(|n| n.chars().take(100).collect::<String>());
    let status = if paid { "paid" } else { "failed" };
    // A paid invoice stays paid whatever older failure arrives after it.
    on_conn!(tx.conn(), |c| {
        sqlx::query(
            "INSERT INTO subscription_invoices (provider, invoice_ref, tenant, number, amount, currency, \
             status, attempts, period_end, hosted_url, at) \
             VALUES ($11, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (provider, invoice_ref) DO UPDATE SET \
             status = CASE WHEN subscription_invoices.status = 'paid' THEN 'paid' ELSE excluded.status END, \
             attempts = CASE WHEN excluded.attempts > subscription_invoices.attempts \
                 THEN excluded.attempts ELSE subscription_invoices.attempts END, \
             amount = excluded.amount, number = COALESCE(excluded.number, subscription_invoices.number), \
             hosted_url = COALESCE(excluded.hosted_url, subscription_invoices.hosted_url)",
        )
        .bind(bill.reference)
        .bind(tenant.into_uuid())
        .bind(number)
        .bind(amount.max(0))
        .bind(&currency)
        .bind(status)
        .bind(i32::try_from(bill.attempts.clamp(0, 1000)).unwrap_or(0))
        .bind(period_end)
        .bind(url)
        .bind(happened)
        .bind(bill.provider.as_str())
        .execute(c)
        .await?
        .rows_affected()
    });
    Ok(())
}

/// A renewal (or the first payment) succeeded: paid to the period's end, and
/// arrears lifted at once, including a suspension for non-payment.
async fn payment_received(
    tx: &mut PlatformTx,
    tenant: TenantId,
    until: Option<DateTime<Utc>>,
    happened: DateTime<Utc>,
) -> Result<(), DbError> {
    on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE subscriptions SET status = 'active', \
             paid_at = CASE WHEN paid_at IS NULL OR paid_at < $2 THEN $2 ELSE paid_at END, \
             current_period_end = CASE WHEN $3 IS NOT NULL AND (current_period_end IS NULL OR current_period_end < $3) \
                 THEN $3 ELSE current_period_end END, \
             status_at = CASE WHEN status_at IS NULL OR status_at < $2 THEN $2 ELSE status_at END, \
             updated_at = $2 WHERE tenant = $1",
        )
        .bind(tenant.into_uuid())
        .bind(happened)
        .bind(until)
        .execute(c)
        .await?
        .rows_affected()
    });
    tx.mark_platform_changed();
    let restored = on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE tenants SET \
             paid_until = CASE WHEN $2 IS NOT NULL AND (paid_until IS NULL OR paid_until < $2) THEN $2 ELSE paid_until END, \
             payment_failed_at = NULL, read_only_from = NULL, \
             plan_id = COALESCE((SELECT plan_id FROM subscriptions WHERE tenant = $1), plan_id), \
             status = CASE WHEN status = 'trial' OR (status = 'suspended' AND status_reason IN ($3, $4)) \
                 THEN 'active' ELSE status END, \
             status_reason = CASE WHEN status = 'suspended' AND status_reason IN ($3, $4) \
                 THEN NULL ELSE status_reason END, \
             updated_at = $5 WHERE id = $1",
        )
        .bind(tenant.into_uuid())
        .bind(until)
        .bind(UNPAID_REASON)
        .bind(ENDED_REASON)
        .bind(Utc::now())
        .execute(c)
        .await?
        .rows_affected()
    });
    if restored == 1 {
        recorded(tx, "subscription.paid", tenant).await?;
    }
    Ok(())
}

/// A renewal failed at `happened`: dunning starts (once; later failures keep
/// the first date), unless a payment newer than the failure is on record.
async fn payment_failed(
    tx: &mut PlatformTx,
    tenant: TenantId,
    happened: DateTime<Utc>,
    grace: Duration,
) -> Result<(), DbError> {
    let stale: bool = on_conn!(tx.conn(), |c| {
        sqlx::query_scalar(
            "SELECT COUNT(*) > 0 FROM subscriptions WHERE tenant = $1 AND paid_at IS NOT NULL AND paid_at >= $2",
        )
        .bind(tenant.into_uuid())
        .bind(happened)
        .fetch_one(c)
        .await?
    });
    if stale {
        return Ok(());
    }
    on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE subscriptions SET status = 'past_due', status_at = $2, updated_at = $2 \
             WHERE tenant = $1 AND status IN ('active', 'past_due', 'checkout')",
        )
        .bind(tenant.into_uuid())
        .bind(happened)
        .execute(c)
        .await?
        .rows_affected()
    });
    tx.mark_platform_changed();
    on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE tenants SET payment_failed_at = COALESCE(payment_failed_at, $2), \
             read_only_from = COALESCE(read_only_from, $3) WHERE id = $1",
        )
        .bind(tenant.into_uuid())
        .bind(happened)
        .bind(happened + grace)
        .execute(c)
        .await?
        .rows_affected()
    });
    recorded(tx, "subscription.payment_failed", tenant).await
}

/// Maps Stripe's subscription status onto ours; `None`: nothing to change
/// (`incomplete`, `trialing`, `paused`).
fn status_of(stripe_status: &str) -> Option<SubscriptionStatus> {
    match stripe_status {
        "active" => Some(SubscriptionStatus::Active),
        "past_due" => Some(SubscriptionStatus::PastDue),
        "unpaid" => Some(SubscriptionStatus::Unpaid),
        "canceled" | "incomplete_expired" => Some(SubscriptionStatus::Canceled),
        _ => None,
    }
}

async fn subscription_event(
    tx: &mut PlatformTx,
    sub: &Subscription,
    happened: DateTime<Utc>,
) -> Result<bool, DbError> {
    let Some(tenant) = clinic_of(tx, sub.metadata.tenant.as_deref(), Some(&sub.id)).await? else {
        return Ok(false);
    };
    let Some(status) = status_of(&sub.status) else {
        return Ok(true);
    };
    let period_end = sub.period_end().and_then(at);
    let item = sub.items.data.first();
    let amount = item.and_then(|i| i.price.unit_amount);
    let interval = item
        .and_then(|i| i.price.recurring.as_ref())
        .and_then(|r| r.interval.parse::<Interval>().ok());
    let changed = on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE subscriptions SET status = $2, status_at = $3, subscription_ref = $4, \
             customer_ref = COALESCE($5, customer_ref), amount = COALESCE($6, amount), \
             billing_interval = COALESCE($7, billing_interval), \
             current_period_end = COALESCE($8, current_period_end), updated_at = $3 \
             WHERE tenant = $1 AND (status_at IS NULL OR status_at <= $3)",
        )
        .bind(tenant.into_uuid())
        .bind(status.as_str())
        .bind(happened)
        .bind(&sub.id)
        .bind(sub.customer.as_deref())
        .bind(amount)
        .bind(interval.map(|i| i.as_str()))
        .bind(period_end)
        .execute(c)
        .await?
        .rows_affected()
    });
    if changed == 1
        && matches!(
            status,
            SubscriptionStatus::Unpaid | SubscriptionStatus::Canceled
        )
    {
        suspend_if_in_arrears(tx, tenant).await?;
    }
    Ok(true)
}

/// A Razorpay event at [`RAZORPAY_WEBHOOK_PATH`], believed only when signed
/// with the platform's webhook secret; handled once per signed body (its
/// `X-Razorpay-Event-Id` header is not signed, so it is not trusted).
///
/// * `subscription.authenticated`/`.activated`: the owner authorised the card;
/// * `subscription.charged`: a cycle is paid: paid to `current_end`, arrears
///   lifted at once;
/// * `subscription.pending`: a charge failed and Razorpay retries: dunning;
/// * `subscription.halted`: every retry failed: the final failure;
/// * `subscription.cancelled`/`.completed`: it ends (the sweep suspends the
///   clinic when its paid period is over).
pub async fn razorpay_event(
    db: &Db,
    billing: &Billing,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Received, DbError> {
    let (Some(keys), Some(signature)) = (billing.razorpay.as_ref(), signature) else {
        return Ok(Received::NotBelieved);
    };
    if !crate::payments::razorpay::verify(&keys.webhook_secret, signature, body) {
        tracing::warn!("subscription event refused: Razorpay signature not valid");
        return Ok(Received::NotBelieved);
    }
    let Some(event) = razorpay::parse_event(body) else {
        return Ok(Received::NotBelieved);
    };
    let Some(sub) = event.subscription() else {
        return Ok(Received::Ignored);
    };
    let happened = event.created_at.and_then(at).unwrap_or(now);
    let id = crate::payments::razorpay::event_key(body);
    let mut tx = db.begin_platform().await?;
    if !first_time(&mut tx, Provider::Razorpay, &id, &event.event, now).await? {
        return Ok(Received::Handled);
    }
    let Some(tenant) = clinic_of(&mut tx, sub.tenant(), Some(&sub.id)).await? else {
        tx.commit().await?;
        return Ok(Received::Ignored);
    };
    let until = sub.current_end.and_then(at);
    match event.event.as_str() {
        razorpay::AUTHENTICATED | razorpay::ACTIVATED => {
            let started = on_conn!(tx.conn(), |c| {
                sqlx::query(
                    "UPDATE subscriptions SET subscription_ref = $2, customer_ref = COALESCE($3, customer_ref), \
                     status = 'active', updated_at = $4 WHERE tenant = $1 AND status = 'checkout'",
                )
                .bind(tenant.into_uuid())
                .bind(&sub.id)
                .bind(sub.customer_id.as_deref())
                .bind(happened)
                .execute(c)
                .await?
                .rows_affected()
            });
            if started == 1 {
                recorded(&mut tx, "subscription.started", tenant).await?;
            }
        }
        razorpay::CHARGED => {
            if let Some(payment) = event.payment() {
                let bill = Bill {
                    provider: Provider::Razorpay,
                    reference: payment.invoice_id.as_deref().unwrap_or(&payment.id),
                    number: payment.invoice_id.as_deref(),
                    amount: payment.amount,
                    currency: &payment.currency,
                    paid: true,
                    attempts: 1,
                    period_end: until,
                    url: None,
                };
                record_bill(&mut tx, tenant, &bill, happened).await?;
            }
            payment_received(&mut tx, tenant, until, happened).await?;
        }
        razorpay::PENDING => payment_failed(&mut tx, tenant, happened, billing.grace).await?,
        razorpay::HALTED | razorpay::CANCELLED | razorpay::COMPLETED => {
            let status = if event.event == razorpay::HALTED {
                SubscriptionStatus::Unpaid
            } else {
                SubscriptionStatus::Canceled
            };
            let changed = on_conn!(tx.conn(), |c| {
                sqlx::query(
                    "UPDATE subscriptions SET status = $2, status_at = $3, updated_at = $3 \
                     WHERE tenant = $1 AND (status_at IS NULL OR status_at <= $3)",
                )
                .bind(tenant.into_uuid())
                .bind(status.as_str())
                .bind(happened)
                .execute(c)
                .await?
                .rows_affected()
            });
            if changed == 1 {
                suspend_if_in_arrears(&mut tx, tenant).await?;
            }
        }
        _ => {
            tx.commit().await?;
            return Ok(Received::Ignored);
        }
    }
    tx.commit().await?;
    Ok(Received::Handled)
}

/// The final failure: a clinic in arrears whose subscription Stripe gave up on
/// is suspended (its data untouched; a payment restores it).
async fn suspend_if_in_arrears(tx: &mut PlatformTx, tenant: TenantId) -> Result<(), DbError> {
    tx.mark_platform_changed();
    let suspended = on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE tenants SET status = 'suspended', status_reason = $2, updated_at = $3 \
             WHERE id = $1 AND payment_failed_at IS NOT NULL AND status IN ('trial', 'active')",
        )
        .bind(tenant.into_uuid())
        .bind(UNPAID_REASON)
        .bind(Utc::now())
        .execute(c)
        .await?
        .rows_affected()
    });
    if suspended == 1 {
        recorded(tx, "subscription.suspended", tenant).await?;
    }
    Ok(())
}

/// Clinics whose cancelled subscription's paid period is over are suspended
/// (the periodic sweep); how many.
pub async fn sweep(db: &Db, now: DateTime<Utc>) -> Result<u64, DbError> {
    let mut tx = db.begin_platform().await?;
    tx.mark_platform_changed();
    let ended = on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE tenants SET status = 'suspended', status_reason = $1, updated_at = $2 \
             WHERE status = 'active' AND paid_until IS NOT NULL AND paid_until <= $2 \
             AND id IN (SELECT tenant FROM subscriptions WHERE status = 'canceled')",
        )
        .bind(ENDED_REASON)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected()
    });
    tx.commit().await?;
    Ok(ended)
}

// ------------------------------------------------------------- operators --

/// An operator moves the day a clinic in arrears becomes read-only to a later
/// one (audited); refused when the clinic is not in arrears or already has a
/// later day.
pub async fn extend_grace(
    tx: &mut PlatformTx,
    tenant: TenantId,
    until: DateTime<Utc>,
) -> Result<bool, DbError> {
    tx.mark_platform_changed();
    let moved = on_conn!(tx.conn(), |c| {
        sqlx::query(
            "UPDATE tenants SET read_only_from = $2 WHERE id = $1 AND payment_failed_at IS NOT NULL \
             AND (read_only_from IS NULL OR read_only_from < $2)",
        )
        .bind(tenant.into_uuid())
        .bind(until)
        .execute(c)
        .await?
        .rows_affected()
    });
    Ok(moved == 1)
}

/// A clinic in arrears, for the console.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Arrears {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub status: String,
    pub payment_failed_at: DateTime<Utc>,
    pub read_only_from: Option<DateTime<Utc>>,
}

pub async fn in_arrears(tx: &mut PlatformTx) -> Result<Vec<Arrears>, DbError> {
    Ok(on_conn!(tx.conn(), |c| {
        sqlx::query_as::<_, Arrears>(
            "SELECT id, slug, name, status, payment_failed_at, read_only_from FROM tenants \
             WHERE payment_failed_at IS NOT NULL ORDER BY payment_failed_at LIMIT 200",
        )
        .fetch_all(c)
        .await?
    }))
}

/// Monthly recurring revenue per currency from running subscriptions (a
/// yearly price counts a twelfth, rounded down), in minor units.
pub async fn monthly_revenue(tx: &mut PlatformTx) -> Result<Vec<(String, i64)>, DbError> {
    let rows: Vec<(String, String, i64)> = on_conn!(tx.conn(), |c| {
        sqlx::query_as(
            "SELECT currency, billing_interval, amount FROM subscriptions \
             WHERE status IN ('active', 'past_due')",
        )
        .fetch_all(c)
        .await?
    });
    let mut totals: std::collections::BTreeMap<String, i64> = Default::default();
    for (currency, interval, amount) in rows {
        let monthly = if interval == "year" {
            amount / 12
        } else {
            amount
        };
        *totals.entry(currency).or_default() += monthly;
    }
    Ok(totals.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripes_statuses_map_onto_ours_and_transient_ones_change_nothing() {
        assert_eq!(status_of("active"), Some(SubscriptionStatus::Active));
        assert_eq!(status_of("past_due"), Some(SubscriptionStatus::PastDue));
        assert_eq!(status_of("unpaid"), Some(SubscriptionStatus::Unpaid));
        assert_eq!(status_of("canceled"), Some(SubscriptionStatus::Canceled));
        assert_eq!(
            status_of("incomplete_expired"),
            Some(SubscriptionStatus::Canceled)
        );
        assert_eq!(status_of("incomplete"), None);
        assert_eq!(status_of("trialing"), None);
    }
}
