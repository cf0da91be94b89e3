//! A local Stripe Billing that speaks its documented wire format, with its own
//! clock: `POST /v1/checkout/sessions` in `subscription` mode (a recurring
//! `price_data`), `GET`/`POST /v1/subscriptions/{id}` (an item's price changed
//! with `proration_behavior`), `POST /v1/billing_portal/sessions`; errors as
//! `{"error": {"message", "type"}}`. What happens on Stripe's side over time
//! (the first payment, a renewal paid or failed, Stripe giving up) is driven by
//! the test, and each answers the events Stripe would send, stamped with the
//! fake's time.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

const MONTH: i64 = 30 * 24 * 3600;
const YEAR: i64 = 365 * 24 * 3600;

#[derive(Default)]
struct Inner {
    key: String,
    sessions: HashMap<String, Value>,
    /// The form each session was opened with.
    session_forms: HashMap<String, HashMap<String, String>>,
    subscriptions: HashMap<String, Value>,
    /// Forms as received, per endpoint.
    checkouts: Vec<HashMap<String, String>>,
    updates: Vec<HashMap<String, String>>,
    portals: Vec<HashMap<String, String>>,
    next: usize,
}

impl Inner {
    fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}_test_{:04}", self.next)
    }
}

#[derive(Clone)]
pub struct FakeStripeBilling {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

type Shared = State<Arc<Mutex<Inner>>>;

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"message": message, "type": "invalid_request_error"}})),
    )
        .into_response()
}

fn authorized(headers: &HeaderMap, inner: &Inner) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|k| k == inner.key)
}

fn form(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

async fn create_session(
    State(inner): Shared,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mut inner = lock(&inner);
    if !authorized(&headers, &inner) {
        return error(StatusCode::UNAUTHORIZED, "Invalid API Key provided");
    }
    let f = form(&body);
    let field = |k: &str| f.get(k).cloned();
    if field("mode").as_deref() != Some("subscription") {
        return error(
            StatusCode::BAD_REQUEST,
            "This fake only opens subscriptions.",
        );
    }
    let interval = field("line_items[0][price_data][recurring][interval]");
    if !matches!(interval.as_deref(), Some("month" | "year")) {
        return error(
            StatusCode::BAD_REQUEST,
            "You must specify `recurring` when using `price_data` in `subscription` mode.",
        );
    }
    let amount: Option<i64> =
        field("line_items[0][price_data][unit_amount]").and_then(|a| a.parse().ok());
    if amount.is_none_or(|a| a <= 0) || field("success_url").is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            "Missing required param: success_url.",
        );
    }
    let id = inner.id("cs");
    let session = json!({
        "id": id,
        "object": "checkout.session",
        "mode": "subscription",
        "status": "open",
        "client_reference_id": field("client_reference_id"),
        "customer": field("customer"),
        "customer_email": field("customer_email"),
        "metadata": {"tenant": field("metadata[tenant]"), "plan": field("metadata[plan]")},
        "url": format!("https://checkout.stripe.test/c/pay/{id}"),
    });
    inner.sessions.insert(id.clone(), session.clone());
    inner.session_forms.insert(id, f.clone());
    inner.checkouts.push(f);
    axum::Json(session).into_response()
}

async fn get_subscription(
    State(inner): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let inner = lock(&inner);
    if !authorized(&headers, &inner) {
        return error(StatusCode::UNAUTHORIZED, "Invalid API Key provided");
    }
    match inner.subscriptions.get(&id) {
        Some(s) => axum::Json(s.clone()).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            &format!("No such subscription: '{id}'"),
        ),
    }
}

async fn update_subscription(
    State(inner): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mut inner = lock(&inner);
    if !authorized(&headers, &inner) {
        return error(StatusCode::UNAUTHORIZED, "Invalid API Key provided");
    }
    let f = form(&body);
    let Some(sub) = inner.subscriptions.get_mut(&id) else {
        return error(
            StatusCode::NOT_FOUND,
            &format!("No such subscription: '{id}'"),
        );
    };
    let item = &mut sub["items"]["data"][0];
    if f.get("items[0][id]") != item["id"].as_str().map(str::to_owned).as_ref() {
        return error(StatusCode::BAD_REQUEST, "No such subscription item.");
    }
    if f.get("items[0][price_data][product]")
        != item["price"]["product"]
            .as_str()
            .map(str::to_owned)
            .as_ref()
    {
        return error(StatusCode::BAD_REQUEST, "No such product.");
    }
    let Some(amount) = f
        .get("items[0][price_data][unit_amount]")
        .and_then(|a| a.parse::<i64>().ok())
    else {
        return error(StatusCode::BAD_REQUEST, "Invalid integer: unit_amount");
    };
    item["price"]["unit_amount"] = json!(amount);
    if let Some(plan) = f.get("metadata[plan]") {
        sub["metadata"]["plan"] = json!(plan);
    }
    let answer = sub.clone();
    inner.updates.push(f);
    axum::Json(answer).into_response()
}

async fn portal(State(inner): Shared, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let mut inner = lock(&inner);
    if !authorized(&headers, &inner) {
        return error(StatusCode::UNAUTHORIZED, "Invalid API Key provided");
    }
    let f = form(&body);
    let known = f.get("customer").is_some_and(|c| {
        inner
            .subscriptions
            .values()
            .any(|s| s["customer"].as_str() == Some(c.as_str()))
    });
    if !known {
        return error(StatusCode::BAD_REQUEST, "No such customer");
    }
    let id = inner.id("bps");
    inner.portals.push(f);
    axum::Json(json!({"id": id, "object": "billing_portal.session", "url": format!("https://billing.stripe.test/p/session/{id}")}))
        .into_response()
}

/// One event Stripe would send: its type, object and time (Unix seconds).
pub struct Event {
    pub kind: &'static str,
    pub object: Value,
    pub created: i64,
}

impl FakeStripeBilling {
    pub async fn start(key: &str) -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            key: key.to_owned(),
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/v1/checkout/sessions", post(create_session))
            .route(
                "/v1/subscriptions/{id}",
                get(get_subscription).post(update_subscription),
            )
            .route("/v1/billing_portal/sessions", post(portal))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, inner }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn checkouts(&self) -> Vec<HashMap<String, String>> {
        lock(&self.inner).checkouts.clone()
    }

    pub fn updates(&self) -> Vec<HashMap<String, String>> {
        lock(&self.inner).updates.clone()
    }

    pub fn portals(&self) -> Vec<HashMap<String, String>> {
        lock(&self.inner).portals.clone()
    }

    /// The session whose page is `url`.
    pub fn session_of_url(&self, url: &str) -> String {
        url.rsplit('/').next().expect("an id").to_owned()
    }

    fn invoice(
        inner: &mut Inner,
        sub: &Value,
        paid: bool,
        attempt: i64,
        next_attempt: Option<i64>,
        period_end: i64,
    ) -> Value {
        let id = inner.id("in");
        let amount = sub["items"]["data"][0]["price"]["unit_amount"].clone();
        json!({
            "id": id,
            "object": "invoice",
            "number": format!("MEDI-{:04}", inner.next),
            "customer": sub["customer"],
            "status": if paid { "paid" } else { "open" },
            "amount_due": amount,
            "amount_paid": if paid { amount.clone() } else { json!(0) },
            "currency": sub["items"]["data"][0]["price"]["currency"],
            "attempt_count": attempt,
            "next_payment_attempt": next_attempt,
            "hosted_invoice_url": format!("https://invoice.stripe.test/i/{id}"),
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"subscription": sub["id"], "metadata": sub["metadata"]},
            },
            "lines": {"object": "list", "data": [{"period": {"start": period_end - MONTH, "end": period_end}}]},
        })
    }

    /// The owner pays on the checkout page at `at`: Stripe creates the
    /// customer and subscription and sends the session's completion and the
    /// first invoice's payment. Answers the subscription's id and the events.
    pub fn pay_checkout(&self, session: &str, at: i64) -> (String, Vec<Event>) {
        let mut inner = lock(&self.inner);
        let form = inner
            .session_forms
            .get(session)
            .cloned()
            .expect("a checkout");
        let s = inner.sessions.get(session).cloned().expect("a session");
        let customer = s["customer"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| inner.id("cus"));
        let sub_id = inner.id("sub");
        let item = inner.id("si");
        let product = inner.id("prod");
        let interval = form["line_items[0][price_data][recurring][interval]"].clone();
        let period_end = at + if interval == "year" { YEAR } else { MONTH };
        let sub = json!({
            "id": sub_id,
            "object": "subscription",
            "customer": customer,
            "status": "active",
            "metadata": {"tenant": form.get("subscription_data[metadata][tenant]"), "plan": form.get("subscription_data[metadata][plan]")},
            "items": {"object": "list", "data": [{
                "id": item,
                "current_period_end": period_end,
                "price": {
                    "product": product,
                    "unit_amount": form["line_items[0][price_data][unit_amount]"].parse::<i64>().expect("amount"),
                    "currency": form["line_items[0][price_data][currency]"],
                    "recurring": {"interval": interval},
                },
            }]},
        });
        inner.subscriptions.insert(sub_id.clone(), sub.clone());
        let mut completed = s;
        completed["status"] = json!("complete");
        completed["payment_status"] = json!("paid");
        completed["customer"] = json!(customer);
        completed["subscription"] = json!(sub_id);
        let invoice = Self::invoice(&mut inner, &sub, true, 1, None, period_end);
        (
            sub_id,
            vec![
                Event {
                    kind: "checkout.session.completed",
                    object: completed,
                    created: at,
                },
                Event {
                    kind: "invoice.paid",
                    object: invoice,
                    created: at + 1,
                },
            ],
        )
    }

    /// Edits the stored subscription `sub`: the fake's state (still held) and
    /// the subscription as it now stands.
    fn change(
        &self,
        sub: &str,
        edit: impl FnOnce(&mut Value),
    ) -> (std::sync::MutexGuard<'_, Inner>, Value) {
        let mut inner = lock(&self.inner);
        let mut s = inner
            .subscriptions
            .get(sub)
            .cloned()
            .expect("a subscription");
        edit(&mut s);
        inner.subscriptions.insert(sub.to_owned(), s.clone());
        (inner, s)
    }

    fn period_end(sub: &Value) -> i64 {
        sub["items"]["data"][0]["current_period_end"]
            .as_i64()
            .expect("period")
    }

    /// A renewal attempt at `at` fails; `last` when Stripe will not retry.
    pub fn renewal_fails(&self, sub: &str, at: i64, attempt: i64, last: bool) -> Vec<Event> {
        let (mut inner, s) = self.change(sub, |s| s["status"] = json!("past_due"));
        let next = (!last).then_some(at + 3 * 24 * 3600);
        let invoice = Self::invoice(
            &mut inner,
            &s,
            false,
            attempt,
            next,
            Self::period_end(&s) + MONTH,
        );
        invoice_then_update("invoice.payment_failed", invoice, s, at)
    }

    /// A renewal (or a retry, or the owner on the portal) is paid at `at`.
    pub fn renewal_paid(&self, sub: &str, at: i64) -> Vec<Event> {
        let (mut inner, s) = self.change(sub, |s| {
            let end = Self::period_end(s).max(at) + MONTH;
            s["status"] = json!("active");
            s["items"]["data"][0]["current_period_end"] = json!(end);
        });
        let invoice = Self::invoice(&mut inner, &s, true, 1, None, Self::period_end(&s));
        invoice_then_update("invoice.paid", invoice, s, at)
    }

    /// Stripe gives up after the last retry: the subscription is cancelled.
    pub fn gives_up(&self, sub: &str, at: i64) -> Vec<Event> {
        let (_held, s) = self.change(sub, |s| s["status"] = json!("canceled"));
        vec![Event {
            kind: "customer.subscription.deleted",
            object: s,
            created: at,
        }]
    }
}

/// An invoice's event and then the subscription's update, both at `at`.
fn invoice_then_update(kind: &'static str, invoice: Value, s: Value, at: i64) -> Vec<Event> {
    vec![
        Event {
            kind,
            object: invoice,
            created: at,
        },
        Event {
            kind: "customer.subscription.updated",
            object: s,
            created: at,
        },
    ]
}

/// The signed body and `Stripe-Signature` of `event`, signed now with `secret`.
pub fn signed(event_id: &str, event: &Event, secret: &str) -> (String, String) {
    let body = json!({
        "id": event_id,
        "object": "event",
        "api_version": "2025-03-31.basil",
        "created": event.created,
        "type": event.kind,
        "data": {"object": event.object},
    })
    .to_string();
    let t = chrono::Utc::now().timestamp();
    let header = app::payments::stripe::signature_header(secret, t, body.as_bytes());
    (body, header)
}
