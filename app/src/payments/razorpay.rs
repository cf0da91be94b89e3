//! Razorpay, as documented: Payment Links (`POST /v1/payment_links`, JSON,
//! HTTP Basic with the key id and key secret; amount in paise), `GET
//! /v1/payment_links/{id}`, refunds (`POST /v1/payments/{id}/refund`), and
//! webhooks signed with `X-Razorpay-Signature`: hex HMAC-SHA256 of the raw
//! body under the webhook secret, each delivery named by `X-Razorpay-Event-Id`.

use serde::Deserialize;

use super::{Keys, Outcome, Page, PageRequest, PageState, Paid};

/// The event that records a payment.
pub const LINK_PAID: &str = "payment_link.paid";
/// Events after which a link takes no money.
pub const LINK_CLOSED: [&str; 2] = ["payment_link.expired", "payment_link.cancelled"];

#[derive(Deserialize)]
struct Created {
    id: String,
    short_url: Option<String>,
}

#[derive(Deserialize)]
struct ProblemBody {
    error: Problem,
}

#[derive(Deserialize)]
struct Problem {
    description: Option<String>,
}

fn problem(text: &str) -> (Option<i64>, Option<String>) {
    serde_json::from_str::<ProblemBody>(text).map_or((None, None), |p| (None, p.error.description))
}

fn key_id(keys: &Keys) -> Result<&str, Outcome> {
    keys.key_id.as_deref().ok_or_else(|| Outcome::Refused {
        code: None,
        message: "Razorpay needs the key id (rzp_...) as well as the key secret".into(),
        retry: false,
    })
}

/// One authenticated call to Razorpay's API with an optional JSON body; the
/// answer's text, or what Razorpay said.
pub(super) async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    keys: &Keys,
    body: Option<serde_json::Value>,
) -> Result<String, Outcome> {
    let mut request = http
        .request(method, url)
        .basic_auth(key_id(keys)?, Some(&keys.secret_key));
    if let Some(body) = body {
        request = request
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
    }
    super::super::channels::exchange("Razorpay", request, problem).await
}

/// Opens a Payment Link for the amount due, referencing our attempt.
pub async fn create_link(
    http: &reqwest::Client,
    api: &str,
    keys: &Keys,
    r: &PageRequest<'_>,
) -> Result<Page, Outcome> {
    let body = serde_json::json!({
        "amount": r.amount,
        "currency": r.currency.to_ascii_uppercase(),
        "accept_partial": false,
        "reference_id": r.reference,
        "description": r.description,
        "expire_by": r.expires_at,
        "callback_url": r.return_url,
        "callback_method": "get",
        "reminder_enable": false,
        "notes": { "reference": r.reference },
    });
    let url = format!("{api}/v1/payment_links");
    let text = call(http, reqwest::Method::POST, url, keys, Some(body)).await?;
    match serde_json::from_str::<Created>(&text) {
        Ok(Created {
            id,
            short_url: Some(url),
        }) => Ok(Page { id, url }),
        _ => Err(Outcome::Unknown(
            "Razorpay opened a payment link but its answer is unreadable".into(),
        )),
    }
}

/// A Payment Link as `GET` and events carry it.
#[derive(Debug, Clone, Deserialize)]
pub struct Link {
    pub id: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub reference_id: Option<String>,
    #[serde(default)]
    pub payments: Option<Vec<LinkPayment>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LinkPayment {
    pub payment_id: String,
    pub amount: i64,
    #[serde(default)]
    pub status: Option<String>,
}

/// Where a link stands (the reconciliation poll).
pub async fn link(
    http: &reqwest::Client,
    api: &str,
    keys: &Keys,
    id: &str,
) -> Result<PageState, Outcome> {
    if !is_id(id, "plink_") {
        return Err(super::not_an_id("Payment Link"));
    }
    let url = format!("{api}/v1/payment_links/{id}");
    let text = call(http, reqwest::Method::GET, url, keys, None).await?;
    #[derive(Deserialize)]
    struct Fetched {
        #[serde(flatten)]
        link: Link,
        #[serde(default)]
        currency: Option<String>,
    }
    let fetched = serde_json::from_str::<Fetched>(&text)
        .map_err(|_| Outcome::Unknown("Razorpay's answer about a link is unreadable".into()))?;
    let captured = fetched
        .link
        .payments
        .unwrap_or_default()
        .into_iter()
        .find(|p| p.status.as_deref() == Some("captured"));
    Ok(
        match (fetched.link.status.as_deref(), captured, fetched.currency) {
            (Some("paid"), Some(p), Some(currency)) => PageState::Paid(Paid {
                payment: p.payment_id,
                amount: p.amount,
                currency: currency.to_ascii_uppercase(),
            }),
            (Some("expired" | "cancelled"), _, _) => PageState::Closed,
            _ => PageState::Open,
        },
    )
}

#[derive(Deserialize)]
struct Refunded {
    id: String,
    #[serde(default)]
    receipt: Option<String>,
}

#[derive(Deserialize)]
struct Refunds {
    #[serde(default)]
    items: Vec<Refunded>,
}

/// Refunds `amount` of a payment; `reference` is kept as the refund's receipt.
/// Razorpay takes no idempotency key, so a refund already made under this
/// `reference` (a retry after an answer that was lost) is looked up first and
/// answered instead of refunding twice.
pub async fn refund(
    http: &reqwest::Client,
    api: &str,
    keys: &Keys,
    payment: &str,
    amount: i64,
    reference: &str,
) -> Result<String, Outcome> {
    if !is_id(payment, "pay_") {
        return Err(super::not_an_id("Razorpay payment"));
    }
    let made = format!("{api}/v1/payments/{payment}/refunds?count=100");
    let text = call(http, reqwest::Method::GET, made, keys, None).await?;
    let earlier = serde_json::from_str::<Refunds>(&text)
        .map_err(|_| Outcome::Unknown("Razorpay's list of refunds is unreadable".into()))?;
    if let Some(done) = earlier
        .items
        .into_iter()
        .find(|r| r.receipt.as_deref() == Some(reference))
    {
        return Ok(done.id);
    }
    let body = serde_json::json!({
        "amount": amount,
        "receipt": reference,
        "notes": { "reference": reference },
    });
    let url = format!("{api}/v1/payments/{payment}/refund");
    let text = call(http, reqwest::Method::POST, url, keys, Some(body)).await?;
    serde_json::from_str::<Refunded>(&text)
        .map(|r| r.id)
        .map_err(|_| {
            Outcome::Unknown("Razorpay took the refund but its answer is unreadable".into())
        })
}

/// An id of Razorpay's with its prefix.
pub fn is_id(text: &str, prefix: &str) -> bool {
    text.starts_with(prefix)
        && (prefix.len() + 1..=64).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A key id as Razorpay issues them (`rzp_test_...`, `rzp_live_...`).
pub fn is_key_id(text: &str) -> bool {
    is_id(text, "rzp_") && text.len() >= 12
}

/// The `X-Razorpay-Signature` Razorpay would send for `body`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    super::hmac_hex(secret, &[body])
}

/// What names a webhook event for handling it once: the digest of its signed
/// body. `X-Razorpay-Event-Id` is not covered by the signature, so a captured
/// body re-sent under a new id must still count as seen; Razorpay's own
/// retries re-send the same body.
pub fn event_key(body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(body);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Whether `header` signs `body` with the webhook secret (constant time).
pub fn verify(secret: &str, header: &str, body: &[u8]) -> bool {
    super::hmac_matches(secret, &[body], header)
}

/// A webhook event: its name and the link and payment it carries.
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    pub event: String,
    #[serde(default)]
    pub payload: Payload,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Payload {
    pub payment_link: Option<Entity<Link>>,
    pub payment: Option<Entity<Payment>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Entity<T> {
    pub entity: T,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Payment {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    #[serde(default)]
    pub status: Option<String>,
}

impl Event {
    /// The link this event is about.
    pub fn link(&self) -> Option<&Link> {
        self.payload.payment_link.as_ref().map(|e| &e.entity)
    }

    /// What was taken, for `payment_link.paid` with a captured payment.
    pub fn paid(&self) -> Option<Paid> {
        let payment = &self.payload.payment.as_ref()?.entity;
        (self.event == LINK_PAID && payment.status.as_deref() == Some("captured")).then(|| Paid {
            payment: payment.id.clone(),
            amount: payment.amount,
            currency: payment.currency.to_ascii_uppercase(),
        })
    }
}

pub fn parse_event(body: &[u8]) -> Option<Event> {
    serde_json::from_slice(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_hex_hmac_sha256_of_the_raw_body() {
        // Computed independently with Python's hmac module.
        let body = br#"{"event":"payment_link.paid"}"#;
        let expected = "c03dbe8bd9bb4b34b691869109753275c12818c196ff7417d48b36b25dcd4bdd";
        assert_eq!(signature("rzp_webhook_secret", body), expected);
        assert!(verify("rzp_webhook_secret", expected, body));
        assert!(verify("rzp_webhook_secret", &expected.to_uppercase(), body));
        assert!(!verify(
            "rzp_webhook_secret",
            expected,
            br#"{"event":"payment_link.paid" }"#
        ));
        assert!(!verify("another_secret", expected, body));
        assert!(!verify("", expected, body));
        assert!(!verify("rzp_webhook_secret", "not hex", body));
    }

    #[test]
    fn a_paid_link_event_names_the_captured_payment() {
        let body = br#"{"entity":"event","account_id":"acc_1","event":"payment_link.paid",
            "contains":["payment_link","order","payment"],
            "payload":{"payment_link":{"entity":{"id":"plink_1","status":"paid","reference_id":"r1","amount":50000}},
                       "payment":{"entity":{"id":"pay_1","amount":50000,"currency":"INR","status":"captured"}}},
            "created_at":1700000000}"#;
        let event = parse_event(body).expect("an event");
        assert_eq!(event.link().map(|l| l.id.as_str()), Some("plink_1"));
        assert_eq!(
            event.paid(),
            Some(Paid {
                payment: "pay_1".into(),
                amount: 50000,
                currency: "INR".into()
            })
        );
        let authorized = String::from_utf8_lossy(body).replace("captured", "authorized");
        assert_eq!(
            parse_event(authorized.as_bytes()).and_then(|e| e.paid()),
            None
        );
    }

    #[test]
    fn key_ids_are_recognised() {
        assert!(is_key_id("rzp_test_1DP5mmOlF5G5ag"));
        assert!(!is_key_id("rzp_"));
        assert!(!is_key_id("sk_test_1DP5mmOlF5G5ag"));
    }
}
