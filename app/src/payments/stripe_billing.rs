//! Stripe Billing, as documented, for MediSync's own subscriptions to clinics:
//! Checkout Sessions in `subscription` mode (`POST /v1/checkout/sessions` with
//! a recurring `price_data`), `GET`/`POST /v1/subscriptions/{id}` (a plan change
//! with `proration_behavior=create_prorations`), Customer Portal sessions
//! (`POST /v1/billing_portal/sessions`) where the customer changes the card, and
//! the `invoice.*` / `customer.subscription.*` events. Signatures are checked
//! as for any Stripe webhook ([`super::stripe::verify`]).

use serde::Deserialize;

use super::stripe::problem;
use super::{Keys, Outcome, Page};

/// The events dunning follows.
pub const CHECKOUT_COMPLETED: &str = "checkout.session.completed";
pub const INVOICE_PAID: &str = "invoice.paid";
pub const INVOICE_PAYMENT_FAILED: &str = "invoice.payment_failed";
pub const SUBSCRIPTION_UPDATED: &str = "customer.subscription.updated";
pub const SUBSCRIPTION_DELETED: &str = "customer.subscription.deleted";

/// A subscription's price: what one interval costs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Price<'a> {
    /// Minor units.
    pub amount: i64,
    /// ISO 4217, any case.
    pub currency: &'a str,
    /// `month` or `year`.
    pub interval: &'a str,
    /// What the clinic sees on Stripe's page and invoices ("MediSync Professional").
    pub name: &'a str,
}

/// What a subscription checkout is opened for.
#[derive(Debug, Clone)]
pub struct SubscriptionRequest<'a> {
    pub price: Price<'a>,
    /// The clinic (our tenant id): Checkout's `client_reference_id` and the
    /// subscription's metadata, so every later event names it.
    pub tenant: &'a str,
    pub plan: &'a str,
    /// The Stripe customer when the clinic had one before; else its email.
    pub customer: Option<&'a str>,
    pub email: &'a str,
    pub return_url: &'a str,
    pub cancel_url: &'a str,
    /// Our id for this attempt (the idempotency key).
    pub reference: &'a str,
}

#[derive(Deserialize)]
struct Created {
    id: String,
    url: Option<String>,
}

fn unreadable(what: &str) -> Outcome {
    Outcome::Unknown(format!("Stripe's answer about {what} is unreadable"))
}

/// Opens a Checkout Session in subscription mode.
pub async fn create_subscription_checkout(
    http: &reqwest::Client,
    api: &str,
    keys: &Keys,
    r: &SubscriptionRequest<'_>,
) -> Result<Page, Outcome> {
    let amount = r.price.amount.to_string();
    let currency = r.price.currency.to_ascii_lowercase();
    let mut form = vec![
        ("mode", "subscription"),
        ("success_url", r.return_url),
        ("cancel_url", r.cancel_url),
        ("client_reference_id", r.tenant),
        ("line_items[0][quantity]", "1"),
        ("line_items[0][price_data][currency]", currency.as_str()),
        ("line_items[0][price_data][unit_amount]", amount.as_str()),
        (
            "line_items[0][price_data][recurring][interval]",
            r.price.interval,
        ),
        (
            "line_items[0][price_data][product_data][name]",
            r.price.name,
        ),
        ("metadata[tenant]", r.tenant),
        ("metadata[plan]", r.plan),
        ("subscription_data[metadata][tenant]", r.tenant),
        ("subscription_data[metadata][plan]", r.plan),
    ];
    match r.customer {
        Some(customer) => form.push(("customer", customer)),
        None => form.push(("customer_email", r.email)),
    }
    let request = http
        .post(format!("{api}/v1/checkout/sessions"))
        .bearer_auth(&keys.secret_key)
        .header("Idempotency-Key", r.reference)
        .form(&form);
    let text = crate::channels::exchange("Stripe", request, problem).await?;
    match serde_json::from_str::<Created>(&text) {
        Ok(Created { id, url: Some(url) }) => Ok(Page { id, url }),
        _ => Err(unreadable("a checkout")),
    }
}

/// A subscription, as `GET`, updates and `customer.subscription.*` events carry it.
#[derive(Debug, Clone, Deserialize)]
pub struct Subscription {
    pub id: String,
    #[serde(default)]
    pub customer: Option<String>,
    /// `active`, `past_due`, `unpaid`, `canceled`, `incomplete`,
    /// `incomplete_expired`, `trialing`, `paused`.
    pub status: String,
    #[serde(default)]
    pub current_period_end: Option<i64>,
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub items: Items,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Metadata {
    #[serde(default)]
    pub tenant: Option<String>,
    #[serde(default)]
    pub plan: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Items {
    #[serde(default)]
    pub data: Vec<Item>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Item {
    pub id: String,
    pub price: ItemPrice,
    /// Where newer API versions keep the period.
    #[serde(default)]
    pub current_period_end: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ItemPrice {
    #[serde(default)]
    pub product: Option<String>,
    #[serde(default)]
    pub unit_amount: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub recurring: Option<Recurring>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Recurring {
    pub interval: String,
}

impl Subscription {
    /// The end of the period paid for, wherever the API version keeps it.
    pub fn period_end(&self) -> Option<i64> {
        self.current_period_end.or_else(|| {
            self.items
                .data
                .iter()
                .filter_map(|i| i.current_period_end)
                .max()
        })
    }
}

/// Reads a subscription.
pub async fn subscription(
    http: &reqwest::Client,
    api: &str,
    keys: &Keys,
    id: &str,
) -> Result<Subscription, Outcome> {
    if !super::stripe::is_id(id, "sub_") {
        return Err(super::not_an_id("subscription"));
    }
    let request = http
        .get(format!("{api}/v1/subscriptions/{id}"))
        .bearer_auth(&keys.secret_key);
    let text = crate::channels::exchange("Stripe", request, problem).await?;
    serde_json::from_str(&text).map_err(|_| unreadable("a subscription"))
}

/// Moves a subscription to another price from now, prorated: Stripe credits
/// the unused part of the old price and charges the new one's rest on the next
/// invoice.
pub async fn change_price(
    http: &reqwest::Client,
    api: &str,
    keys: &Keys,
    current: &Subscription,
    price: &Price<'_>,
    plan: &str,
    reference: &str,
) -> Result<Subscription, Outcome> {
    let Some(item) = current.items.data.first() else {
        return Err(unreadable("the subscription's items"));
    };
    let Some(product) = item.price.product.as_deref() else {
        return Err(unreadable("the subscription's product"));
    };
    let amount = price.amount.to_string();
    let currency = price.currency.to_ascii_lowercase();
    let form = [
        ("items[0][id]", item.id.as_str()),
        ("items[0][price_data][product]", product),
        ("items[0][price_data][currency]", currency.as_str()),
        ("items[0][price_data][unit_amount]", amount.as_str()),
        ("items[0][price_data][recurring][interval]", price.interval),
        ("proration_behavior", "create_prorations"),
        ("metadata[plan]", plan),
    ];
    let request = http
        .post(format!("{api}/v1/subscriptions/{}", current.id))
        .bearer_auth(&keys.secret_key)
        .header("Idempotency-Key", reference)
        .form(&form);
    let text = crate::channels::exchange("Stripe", request, problem).await?;
    serde_json::from_str(&text).map_err(|_| unreadable("a subscription"))
}

#[derive(Deserialize)]
struct PortalSession {
    url: String,
}

/// A Customer Portal session: the clinic's owner changes the card there (and
/// pays an open invoice); nothing about cards reaches MediSync.
pub async fn portal_session(
    http: &reqwest::Client,
    api: &str,
    keys: &Keys,
    customer: &str,
    return_url: &str,
) -> Result<String, Outcome> {
    let form = [("customer", customer), ("return_url", return_url)];
    let request = http
        .post(format!("{api}/v1/billing_portal/sessions"))
        .bearer_auth(&keys.secret_key)
        .form(&form);
    let text = crate::channels::exchange("Stripe", request, problem).await?;
    serde_json::from_str::<PortalSession>(&text)
        .map(|p| p.url)
        .map_err(|_| unreadable("the billing portal"))
}

/// A subscription checkout as `checkout.session.completed` carries it.
#[derive(Debug, Clone, Deserialize)]
pub struct CompletedCheckout {
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub client_reference_id: Option<String>,
    #[serde(default)]
    pub customer: Option<String>,
    #[serde(default)]
    pub subscription: Option<String>,
    #[serde(default)]
    pub metadata: Metadata,
}

/// An invoice of a subscription, as `invoice.*` events carry it.
#[derive(Debug, Clone, Deserialize)]
pub struct Invoice {
    pub id: String,
    #[serde(default)]
    pub customer: Option<String>,
    /// Older API versions name the subscription here...
    #[serde(default)]
    pub subscription: Option<String>,
    #[serde(default)]
    pub subscription_details: Option<SubscriptionDetails>,
    /// ...newer ones under `parent`.
    #[serde(default)]
    pub parent: Option<Parent>,
    #[serde(default)]
    pub number: Option<String>,
    #[serde(default)]
    pub amount_paid: i64,
    #[serde(default)]
    pub amount_due: i64,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub attempt_count: i64,
    /// Unix seconds of Stripe's next retry; `None` after the last one.
    #[serde(default)]
    pub next_payment_attempt: Option<i64>,
    #[serde(default)]
    pub hosted_invoice_url: Option<String>,
    #[serde(default)]
    pub lines: Lines,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SubscriptionDetails {
    #[serde(default)]
    pub subscription: Option<String>,
    #[serde(default)]
    pub metadata: Metadata,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Parent {
    #[serde(default)]
    pub subscription_details: Option<SubscriptionDetails>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Lines {
    #[serde(default)]
    pub data: Vec<Line>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Line {
    #[serde(default)]
    pub period: Option<Period>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Period {
    pub end: i64,
}

impl Invoice {
    fn details(&self) -> Option<&SubscriptionDetails> {
        self.parent
            .as_ref()
            .and_then(|p| p.subscription_details.as_ref())
            .or(self.subscription_details.as_ref())
    }

    /// The subscription billed, wherever the API version names it.
    pub fn subscription_id(&self) -> Option<&str> {
        self.subscription
            .as_deref()
            .or_else(|| self.details().and_then(|d| d.subscription.as_deref()))
    }

    /// The clinic, from the subscription's metadata.
    pub fn tenant(&self) -> Option<&str> {
        self.details().and_then(|d| d.metadata.tenant.as_deref())
    }

    /// The end of the service period the invoice pays for.
    pub fn period_end(&self) -> Option<i64> {
        self.lines
            .data
            .iter()
            .filter_map(|l| l.period.as_ref().map(|p| p.end))
            .max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invoice_names_its_subscription_and_clinic_in_either_api_version() {
        let old: Invoice = serde_json::from_value(serde_json::json!({
            "id": "in_1", "subscription": "sub_1",
            "subscription_details": {"metadata": {"tenant": "t-1"}},
            "lines": {"data": [{"period": {"start": 1, "end": 100}}, {"period": {"start": 1, "end": 200}}]}
        }))
        .expect("old shape");
        assert_eq!(old.subscription_id(), Some("sub_1"));
        assert_eq!(old.tenant(), Some("t-1"));
        assert_eq!(old.period_end(), Some(200));
        let new: Invoice = serde_json::from_value(serde_json::json!({
            "id": "in_2",
            "parent": {"type": "subscription_details", "subscription_details": {"subscription": "sub_2", "metadata": {"tenant": "t-2"}}},
        }))
        .expect("new shape");
        assert_eq!(new.subscription_id(), Some("sub_2"));
        assert_eq!(new.tenant(), Some("t-2"));
        assert_eq!(new.period_end(), None);
    }

    #[test]
    fn a_subscriptions_period_is_read_from_the_items_in_newer_versions() {
        let s: Subscription = serde_json::from_value(serde_json::json!({
            "id": "sub_1", "status": "active",
            "items": {"data": [{"id": "si_1", "price": {"product": "prod_1", "unit_amount": 100, "currency": "usd", "recurring": {"interval": "month"}}, "current_period_end": 500}]}
        }))
        .expect("subscription");
        assert_eq!(s.period_end(), Some(500));
    }
}
