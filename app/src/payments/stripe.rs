//! Stripe, as documented: Checkout Sessions (`POST /v1/checkout/sessions`,
//! form-encoded, `Authorization: Bearer` with the secret key, an
//! `Idempotency-Key`), `GET /v1/checkout/sessions/{id}`, Refunds (`POST
//! /v1/refunds`), and webhooks signed with `Stripe-Signature: t=...,v1=...`:
//! hex HMAC-SHA256 of `{t}.{raw body}` under the endpoint's secret, several
//! `v1` values allowed (while a secret is rolled), 300 s tolerance.

use serde::Deserialize;

use super::{Keys, Outcome, Page, PageRequest, PageState, Paid};

/// How far a signature's timestamp may be from now (Stripe's default).
pub const TOLERANCE_SECONDS: i64 = 300;

/// The events that move a payment (all of them carry a Checkout Session).
pub const COMPLETED: &str = "checkout.session.completed";
pub const ASYNC_SUCCEEDED: &str = "checkout.session.async_payment_succeeded";
pub const ASYNC_FAILED: &str = "checkout.session.async_payment_failed";
pub const EXPIRED: &str = "checkout.session.expired";

#[derive(Deserialize)]
struct Created {
    id: String,
    url: Option<String>,
}

#[derive(Deserialize)]
struct ProblemBody {
    error: Problem,
}

#[derive(Deserialize)]
struct Problem {
    message: Option<String>,
}

pub(crate) fn problem(text: &str) -> (Option<i64>, Option<String>) {
    serde_json::from_str::<ProblemBody>(text).map_or((None, None), |p| (None, p.error.message))
}

/// Opens a Checkout Session in payment mode for one line, the amount due.
pub async fn create_checkout(
    http: &reqwest::Client,
    api: &str,
    keys: &Keys,
    r: &PageRequest<'_>,
) -> Result<Page, Outcome> {
    let amount = r.amount.to_string();
    let expires = r.expires_at.to_string();
    let currency = r.currency.to_ascii_lowercase();
    let form = [
        ("mode", "payment"),
        ("success_url", r.return_url),
        ("cancel_url", r.cancel_url),
        ("client_reference_id", r.reference),
        ("expires_at", expires.as_str()),
        ("line_items[0][quantity]", "1"),
        ("line_items[0][price_data][currency]", currency.as_str()),
        ("line_items[0][price_data][unit_amount]", amount.as_str()),
        (
            "line_items[0][price_data][product_data][name]",
            r.description,
        ),
        ("metadata[reference]", r.reference),
        ("payment_intent_data[metadata][reference]", r.reference),
    ];
    let request = http
        .post(format!("{api}/v1/checkout/sessions"))
        .bearer_auth(&keys.secret_key)
        .header("Idempotency-Key", r.reference)
        .form(&form);
    let text = super::super::channels::exchange("Stripe", request, problem).await?;
    match serde_json::from_str::<Created>(&text) {
        Ok(Created { id, url: Some(url) }) => Ok(Page { id, url }),
        _ => Err(Outcome::Unknown(
            "Stripe opened a checkout but its answer is unreadable".into(),
        )),
    }
}

/// A Checkout Session, as events and `GET` carry it.
#[derive(Debug, Clone, Deserialize)]
pub struct Session {
    pub id: String,
    #[serde(default)]
    pub status: Option<String>,
    /// `paid`, `unpaid` (an asynchronous method still settling) or `no_payment_required`.
    #[serde(default)]
    pub payment_status: Option<String>,
    #[serde(default)]
    pub payment_intent: Option<String>,
    #[serde(default)]
    pub amount_total: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub client_reference_id: Option<String>,
}

impl Session {
    /// What the provider took, when the session is paid.
    pub fn paid(&self) -> Option<Paid> {
        if self.payment_status.as_deref() != Some("paid") {
            return None;
        }
        Some(Paid {
            payment: self.payment_intent.clone()?,
            amount: self.amount_total?,
            currency: self.currency.clone()?.to_ascii_uppercase(),
        })
    }

    pub fn state(&self) -> PageState {
        match (self.paid(), self.status.as_deref()) {
            (Some(paid), _) => PageState::Paid(paid),
            (None, Some("expired")) => PageState::Closed,
            _ => PageState::Open,
        }
    }
}

/// Where a session stands (the reconciliation poll).
pub async fn session(
    http: &reqwest::Client,
    api: &str,
    keys: &Keys,
    id: &str,
) -> Result<PageState, Outcome> {
    if !is_id(id, "cs_") {
        return Err(super::not_an_id("Checkout Session"));
    }
    let request = http
        .get(format!("{api}/v1/checkout/sessions/{id}"))
        .bearer_auth(&keys.secret_key);
    let text = super::super::channels::exchange("Stripe", request, problem).await?;
    serde_json::from_str::<Session>(&text)
        .map(|s| s.state())
        .map_err(|_| Outcome::Unknown("Stripe's answer about a checkout is unreadable".into()))
}

#[derive(Deserialize)]
struct Refunded {
    id: String,
}

/// Refunds `amount` of a PaymentIntent.
pub async fn refund(
    http: &reqwest::Client,
    api: &str,
    keys: &Keys,
    payment_intent: &str,
    amount: i64,
    reference: &str,
) -> Result<String, Outcome> {
    let amount = amount.to_string();
    let form = [
        ("payment_intent", payment_intent),
        ("amount", amount.as_str()),
        ("metadata[reference]", reference),
    ];
    let request = http
        .post(format!("{api}/v1/refunds"))
        .bearer_auth(&keys.secret_key)
        .header("Idempotency-Key", reference)
        .form(&form);
    let text = super::super::channels::exchange("Stripe", request, problem).await?;
    serde_json::from_str::<Refunded>(&text)
        .map(|r| r.id)
        .map_err(|_| Outcome::Unknown("Stripe took the refund but its answer is unreadable".into()))
}

/// An id of Stripe's with its prefix: letters, digits and underscores.
pub fn is_id(text: &str, prefix: &str) -> bool {
    text.starts_with(prefix)
        && (prefix.len() + 1..=255).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A secret key as Stripe issues them: secret (`sk_`) or restricted (`rk_`).
pub fn is_secret_key(text: &str) -> bool {
    (is_id(text, "sk_") || is_id(text, "rk_")) && text.len() >= 20
}

/// A webhook endpoint's signing secret.
pub fn is_webhook_secret(text: &str) -> bool {
    is_id(text, "whsec_") && text.len() >= 16
}

/// The `Stripe-Signature` header Stripe would send for `body` at `t`.
pub fn signature_header(secret: &str, t: i64, body: &[u8]) -> String {
    let t = t.to_string();
    format!(
        "t={t},v1={}",
        super::hmac_hex(secret, &[t.as_bytes(), b".", body])
    )
}

/// How a webhook's signature was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    /// No `v1` matches (a tampered body, another secret, a malformed header).
    Invalid,
    /// A match, but signed further than the tolerance from now (a replay).
    Stale,
}

/// Judges a `Stripe-Signature` header over the raw body at `now` (Unix seconds).
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64) -> Verdict {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        match item.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.push(v),
            _ => {}
        }
    }
    let Some(t) = timestamp else {
        return Verdict::Invalid;
    };
    let t_text = t.to_string();
    let parts: [&[u8]; 3] = [t_text.as_bytes(), b".", body];
    if !signatures
        .iter()
        .any(|v| super::hmac_matches(secret, &parts, v))
    {
        return Verdict::Invalid;
    }
    if (now - t).abs() > TOLERANCE_SECONDS {
        return Verdict::Stale;
    }
    Verdict::Valid
}

/// A webhook event: its id, type and the session it is about.
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Unix seconds when Stripe created the event (orders events that arrive
    /// out of order).
    #[serde(default)]
    pub created: i64,
    pub data: EventData,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EventData {
    pub object: serde_json::Value,
}

impl Event {
    /// The Checkout Session of a checkout event; `None` for other events.
    pub fn session(&self) -> Option<Session> {
        if !self.kind.starts_with("checkout.session.") {
            return None;
        }
        serde_json::from_value(self.data.object.clone()).ok()
    }
}

pub fn parse_event(body: &[u8]) -> Option<Event> {
    serde_json::from_slice(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Computed independently with Python's hmac module:
    // hmac.new(b"whsec_test_secret", b"1700000000.{\"id\":\"evt_1\"}", sha256).hexdigest()
    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1"}"#;
    const V1: &str = "248a374f50f943a28b0f6ab50faf9a7e7e29b710fa26df9fb1618b9bf8ea9c9a";

    #[test]
    fn a_signature_is_hmac_sha256_of_the_timestamp_a_dot_and_the_body() {
        let header = signature_header(SECRET, 1_700_000_000, BODY);
        assert_eq!(header, format!("t=1700000000,v1={V1}"));
        assert_eq!(verify(SECRET, &header, BODY, 1_700_000_100), Verdict::Valid);
        assert_eq!(
            verify(
                SECRET,
                &header
                    .to_uppercase()
                    .replace("T=", "t=")
                    .replace("V1=", "v1="),
                BODY,
                1_700_000_000
            ),
            Verdict::Valid
        );
    }

    #[test]
    fn a_tampered_body_another_secret_or_no_timestamp_is_invalid() {
        let header = signature_header(SECRET, 1_700_000_000, BODY);
        let now = 1_700_000_000;
        assert_eq!(
            verify(SECRET, &header, br#"{"id":"evt_2"}"#, now),
            Verdict::Invalid
        );
        assert_eq!(verify("whsec_other", &header, BODY, now), Verdict::Invalid);
        let v1 = header.split(",v1=").nth(1).unwrap_or_default();
        assert_eq!(
            verify(SECRET, &format!("v1={v1}"), BODY, now),
            Verdict::Invalid
        );
        assert_eq!(verify(SECRET, "", BODY, now), Verdict::Invalid);
        assert_eq!(verify("", &header, BODY, now), Verdict::Invalid);
        // The timestamp is signed: moving it breaks the signature.
        let moved = header.replace("t=1700000000", "t=1700000001");
        assert_eq!(verify(SECRET, &moved, BODY, now), Verdict::Invalid);
    }

    #[test]
    fn a_signature_older_or_newer_than_five_minutes_is_stale() {
        let header = signature_header(SECRET, 1_700_000_000, BODY);
        assert_eq!(verify(SECRET, &header, BODY, 1_700_000_300), Verdict::Valid);
        assert_eq!(verify(SECRET, &header, BODY, 1_700_000_301), Verdict::Stale);
        assert_eq!(verify(SECRET, &header, BODY, 1_699_999_699), Verdict::Stale);
    }

    #[test]
    fn any_of_several_v1_signatures_may_match_and_v0_is_ignored() {
        let good = signature_header(SECRET, 1_700_000_000, BODY);
        let v1 = good.split(",v1=").nth(1).unwrap_or_default();
        let rolled = format!("t=1700000000,v1={},v1={v1},v0={v1}", "0".repeat(64));
        assert_eq!(verify(SECRET, &rolled, BODY, 1_700_000_000), Verdict::Valid);
        let only_v0 = format!("t=1700000000,v0={v1}");
        assert_eq!(
            verify(SECRET, &only_v0, BODY, 1_700_000_000),
            Verdict::Invalid
        );
    }

    #[test]
    fn a_session_is_paid_only_with_payment_status_paid() {
        let event = parse_event(
            br#"{"id":"evt_1","type":"checkout.session.completed","data":{"object":{
                "id":"cs_test_1","object":"checkout.session","status":"complete","payment_status":"unpaid",
                "payment_intent":"pi_1","amount_total":5000,"currency":"inr","client_reference_id":"r"}}}"#,
        )
        .expect("an event");
        let session = event.session().expect("a session");
        assert_eq!(session.state(), PageState::Open);
        let paid = Session {
            payment_status: Some("paid".into()),
            ..session
        };
        assert_eq!(
            paid.state(),
            PageState::Paid(Paid {
                payment: "pi_1".into(),
                amount: 5000,
                currency: "INR".into()
            })
        );
    }

    #[test]
    fn ids_and_keys_are_recognised() {
        assert!(is_secret_key("sk_test_51Habcdefghijklmnop"));
        assert!(is_secret_key("rk_live_51Habcdefghijklmnop"));
        assert!(!is_secret_key("pk_test_51Habcdefghijklmnop"));
        assert!(!is_secret_key("sk_test_x y"));
        assert!(is_webhook_secret("whsec_abcdefghijkl"));
        assert!(!is_webhook_secret("abcdefghijklmnop"));
        assert!(is_id("cs_test_a1", "cs_"));
        assert!(!is_id("cs_test/../x", "cs_"));
    }
}
