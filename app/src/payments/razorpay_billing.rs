//! Razorpay Subscriptions, as documented, for MediSync charging clinics from
//! the platform's own Razorpay account: plans (`POST /v1/plans`: a period, an
//! interval and an item priced in the currency's minor unit), subscriptions
//! (`POST /v1/subscriptions` with the plan, the number of billing cycles and
//! our notes; the answer's `short_url` is Razorpay's page where the owner
//! authorises the card), `GET /v1/subscriptions/{id}`, and a plan change
//! (`PATCH /v1/subscriptions/{id}` with `plan_id` and `schedule_change_at`).
//! JSON bodies, HTTP Basic with the key id and key secret; errors as
//! `{"error": {"code", "description"}}`.
//!
//! Events (`subscription.activated`, `.charged`, `.pending`, `.halted`,
//! `.cancelled`, `.completed`) carry the subscription entity and, for a
//! charge, the payment; they are signed like every Razorpay webhook
//! ([`super::razorpay::verify`]) and named by `X-Razorpay-Event-Id`.

use serde::Deserialize;

use super::{Keys, Outcome};

pub const ACTIVATED: &str = "subscription.activated";
pub const AUTHENTICATED: &str = "subscription.authenticated";
pub const CHARGED: &str = "subscription.charged";
/// A charge failed; Razorpay retries on its schedule.
pub const PENDING: &str = "subscription.pending";
/// Every retry failed: Razorpay stopped charging.
pub const HALTED: &str = "subscription.halted";
pub const CANCELLED: &str = "subscription.cancelled";
pub const COMPLETED: &str = "subscription.completed";

fn unreadable(what: &str) -> Outcome {
    Outcome::Unknown(format!("Razorpay answered {what} unreadably"))
}

/// What a plan charges each period.
pub struct PlanPrice<'a> {
    /// `monthly` or `yearly`.
    pub period: &'a str,
    pub amount: i64,
    pub currency: &'a str,
    pub name: &'a str,
}

/// Creates a plan; its id (`plan_...`).
pub async fn create_plan(
    http: &reqwest::Client,
    api: &str,
    keys: &Keys,
    price: &PlanPrice<'_>,
) -> Result<String, Outcome> {
    let body = serde_json::json!({
        "period": price.period,
        "interval": 1,
        "item": {
            "name": price.name,
            "amount": price.amount,
            "currency": price.currency.to_ascii_uppercase(),
        },
    });
    let text = super::razorpay::call(
        http,
        reqwest::Method::POST,
        format!("{api}/v1/plans"),
        keys,
        Some(body),
    )
    .await?;
    #[derive(Deserialize)]
    struct Created {
        id: String,
    }
    serde_json::from_str::<Created>(&text)
        .ok()
        .map(|c| c.id)
        .filter(|id| super::razorpay::is_id(id, "plan_"))
        .ok_or_else(|| unreadable("a new plan"))
}

/// A subscription as Razorpay answers and events carry it.
#[derive(Debug, Clone, Deserialize)]
pub struct Subscription {
    pub id: String,
    #[serde(default)]
    pub plan_id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub customer_id: Option<String>,
    /// The end of the period paid for (Unix seconds).
    #[serde(default)]
    pub current_end: Option<i64>,
    #[serde(default)]
    pub short_url: Option<String>,
    /// Ours; Razorpay sends `[]` when there are none.
    #[serde(default)]
    pub notes: serde_json::Value,
}

impl Subscription {
    /// The clinic named in our notes.
    pub fn tenant(&self) -> Option<&str> {
        self.notes.get("tenant").and_then(serde_json::Value::as_str)
    }
}

/// What a new subscription is for.
pub struct NewSubscription<'a> {
    pub plan_ref: &'a str,
    /// Billing cycles before it ends (Razorpay needs a number).
    pub cycles: u32,
    pub tenant: &'a str,
    pub plan: &'a str,
}

/// Creates a subscription waiting for the owner's authorisation.
pub async fn create_subscription(
    http: &reqwest::Client,
    api: &str,
    keys: &Keys,
    s: &NewSubscription<'_>,
) -> Result<Subscription, Outcome> {
    let body = serde_json::json!({
        "plan_id": s.plan_ref,
        "total_count": s.cycles,
        "quantity": 1,
        "customer_notify": 1,
        "notes": { "tenant": s.tenant, "plan": s.plan },
    });
    let text = super::razorpay::call(
        http,
        reqwest::Method::POST,
        format!("{api}/v1/subscriptions"),
        keys,
        Some(body),
    )
    .await?;
    serde_json::from_str::<Subscription>(&text)
        .ok()
        .filter(|s| super::razorpay::is_id(&s.id, "sub_") && s.short_url.is_some())
        .ok_or_else(|| unreadable("a new subscription"))
}

/// A subscription as it stands.
pub async fn subscription(
    http: &reqwest::Client,
    api: &str,
    keys: &Keys,
    id: &str,
) -> Result<Subscription, Outcome> {
    if !super::razorpay::is_id(id, "sub_") {
        return Err(super::not_an_id("subscription"));
    }
    let text = super::razorpay::call(
        http,
        reqwest::Method::GET,
        format!("{api}/v1/subscriptions/{id}"),
        keys,
        None,
    )
    .await?;
    serde_json::from_str(&text).map_err(|_| unreadable("a subscription"))
}

/// Moves a subscription to another plan now (Razorpay charges the new plan's
/// amount from the next cycle; it does not prorate).
pub async fn change_plan(
    http: &reqwest::Client,
    api: &str,
    keys: &Keys,
    id: &str,
    plan_ref: &str,
) -> Result<(), Outcome> {
    if !super::razorpay::is_id(id, "sub_") {
        return Err(super::not_an_id("subscription"));
    }
    let body = serde_json::json!({
        "plan_id": plan_ref,
        "schedule_change_at": "now",
        "customer_notify": 1,
    });
    super::razorpay::call(
        http,
        reqwest::Method::PATCH,
        format!("{api}/v1/subscriptions/{id}"),
        keys,
        Some(body),
    )
    .await
    .map(drop)
}

/// A subscription webhook event.
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    pub event: String,
    /// When Razorpay raised it (Unix seconds).
    #[serde(default)]
    pub created_at: Option<i64>,
    #[serde(default)]
    pub payload: Payload,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Payload {
    pub subscription: Option<super::razorpay::Entity<Subscription>>,
    pub payment: Option<super::razorpay::Entity<Payment>>,
}

/// The payment of a charge.
#[derive(Debug, Clone, Deserialize)]
pub struct Payment {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    #[serde(default)]
    pub status: Option<String>,
    /// Razorpay's invoice for the cycle (`inv_...`).
    #[serde(default)]
    pub invoice_id: Option<String>,
}

impl Event {
    pub fn subscription(&self) -> Option<&Subscription> {
        self.payload.subscription.as_ref().map(|e| &e.entity)
    }

    pub fn payment(&self) -> Option<&Payment> {
        self.payload.payment.as_ref().map(|e| &e.entity)
    }
}

pub fn parse_event(body: &[u8]) -> Option<Event> {
    serde_json::from_slice(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_reads_with_notes_as_an_object_or_razorpays_empty_list() {
        let charged = br#"{"entity":"event","event":"subscription.charged","created_at":1767225600,
            "contains":["subscription","payment"],
            "payload":{"subscription":{"entity":{"id":"sub_00000000000001","plan_id":"plan_00000000000001",
            "status":"active","current_end":1769904000,"notes":{"tenant":"t-1","plan":"starter"}}},
            "payment":{"entity":{"id":"pay_00000000000001","amount":29900,"currency":"INR",
            "status":"captured","invoice_id":"inv_00000000000001"}}}}"#;
        let e = parse_event(charged).expect("event");
        assert_eq!(e.event, CHARGED);
        assert_eq!(e.subscription().and_then(Subscription::tenant), Some("t-1"));
        assert_eq!(e.payment().map(|p| p.amount), Some(29_900));
        let halted = br#"{"event":"subscription.halted","payload":{"subscription":{"entity":
            {"id":"sub_00000000000001","status":"halted","notes":[]}}}}"#;
        let e = parse_event(halted).expect("event");
        assert_eq!(e.subscription().and_then(Subscription::tenant), None);
        assert!(e.payment().is_none());
    }
}
