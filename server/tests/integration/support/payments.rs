//! Local payment providers that speak their documented wire formats.
//!
//! Stripe: `POST /v1/checkout/sessions` (form-encoded, `Authorization: Bearer
//! sk_...`, `Idempotency-Key` answering the same session again), `GET
//! /v1/checkout/sessions/{id}`, `POST /v1/refunds`; errors as
//! `{"error": {"message", "type"}}`; events signed `Stripe-Signature:
//! t=...,v1=...`.
//!
//! Razorpay: `POST /v1/payment_links` (JSON, HTTP Basic key id and secret; a
//! `reference_id` used before is refused), `GET /v1/payment_links/{id}`, `POST
//! /v1/payments/{id}/refund`; errors as `{"error": {"code", "description"}}`;
//! events signed `X-Razorpay-Signature` and named by `X-Razorpay-Event-Id`.

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

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn form(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// Posts an event to the app's webhook address; answers the status.
pub async fn deliver(url: &str, body: &str, headers: &[(&str, String)]) -> StatusCode {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.expect("webhook delivered").status()
}

// ------------------------------------------------------------------ Stripe --

#[derive(Default)]
struct StripeInner {
    /// Secret keys the fake knows.
    keys: Vec<String>,
    sessions: HashMap<String, Value>,
    by_idempotency: HashMap<String, String>,
    created: Vec<HashMap<String, String>>,
    refunds: Vec<HashMap<String, String>>,
    next: usize,
}

#[derive(Clone)]
pub struct FakeStripe {
    pub addr: SocketAddr,
    inner: Arc<Mutex<StripeInner>>,
}

fn stripe_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"message": message, "type": "invalid_request_error"}})),
    )
        .into_response()
}

fn stripe_key(headers: &HeaderMap, inner: &StripeInner) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|k| inner.keys.iter().any(|known| known == k))
}

async fn stripe_create_session(
    State(inner): State<Arc<Mutex<StripeInner>>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mut inner = lock(&inner);
    if !stripe_key(&headers, &inner) {
        return stripe_error(StatusCode::UNAUTHORIZED, "Invalid API Key provided");
    }
    let f = form(&body);
    let idempotency = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(existing) = idempotency
        .as_ref()
        .and_then(|k| inner.by_idempotency.get(k))
        .and_then(|id| inner.sessions.get(id))
    {
        return axum::Json(existing.clone()).into_response();
    }
    let amount: i64 = match f
        .get("line_items[0][price_data][unit_amount]")
        .and_then(|a| a.parse().ok())
    {
        Some(a) if a > 0 => a,
        _ => return stripe_error(StatusCode::BAD_REQUEST, "Invalid integer: unit_amount"),
    };
    if f.get("mode").map(String::as_str) != Some("payment") || !f.contains_key("success_url") {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "Missing required param: success_url.",
        );
    }
    inner.next += 1;
    let id = format!("cs_test_{:04}", inner.next);
    let session = json!({
        "id": id,
        "object": "checkout.session",
        "status": "open",
        "payment_status": "unpaid",
        "payment_intent": null,
        "amount_total": amount,
        "currency": f.get("line_items[0][price_data][currency]").cloned().unwrap_or_default(),
        "client_reference_id": f.get("client_reference_id").cloned(),
        "success_url": f.get("success_url").cloned(),
        "url": format!("https://checkout.stripe.test/c/pay/{id}"),
    });
    inner.sessions.insert(id.clone(), session.clone());
    if let Some(k) = idempotency {
        inner.by_idempotency.insert(k, id);
    }
    inner.created.push(f);
    axum::Json(session).into_response()
}

async fn stripe_get_session(
    State(inner): State<Arc<Mutex<StripeInner>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let inner = lock(&inner);
    if !stripe_key(&headers, &inner) {
        return stripe_error(StatusCode::UNAUTHORIZED, "Invalid API Key provided");
    }
    match inner.sessions.get(&id) {
        Some(s) => axum::Json(s.clone()).into_response(),
        None => stripe_error(StatusCode::NOT_FOUND, "No such checkout.session"),
    }
}

async fn stripe_refund(
    State(inner): State<Arc<Mutex<StripeInner>>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mut inner = lock(&inner);
    if !stripe_key(&headers, &inner) {
        return stripe_error(StatusCode::UNAUTHORIZED, "Invalid API Key provided");
    }
    // Stripe answers a repeated Idempotency-Key with the first refund.
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(|k| format!("refund:{k}"));
    if let Some(id) = key.as_ref().and_then(|k| inner.by_idempotency.get(k)) {
        return axum::Json(json!({"id": id, "object": "refund", "status": "succeeded"}))
            .into_response();
    }
    let f = form(&body);
    inner.refunds.push(f);
    let id = format!("re_test_{:04}", inner.refunds.len());
    if let Some(key) = key {
        inner.by_idempotency.insert(key, id.clone());
    }
    axum::Json(json!({"id": id, "object": "refund", "status": "succeeded"})).into_response()
}

impl FakeStripe {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(StripeInner::default()));
        let app = Router::new()
            .route("/v1/checkout/sessions", post(stripe_create_session))
            .route("/v1/checkout/sessions/{id}", get(stripe_get_session))
            .route("/v1/refunds", post(stripe_refund))
            .with_state(inner.clone());
        Self {
            addr: serve(app).await,
            inner,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn add_key(&self, key: &str) {
        lock(&self.inner).keys.push(key.to_owned());
    }

    /// The forms of the sessions created, oldest first.
    pub fn created(&self) -> Vec<HashMap<String, String>> {
        lock(&self.inner).created.clone()
    }

    pub fn refunds(&self) -> Vec<HashMap<String, String>> {
        lock(&self.inner).refunds.clone()
    }

    /// The session whose hosted page is `url`.
    pub fn session_of_url(&self, url: &str) -> String {
        url.rsplit('/').next().expect("an id").to_owned()
    }

    /// The patient pays on the hosted page: the session completes, paid.
    pub fn pay(&self, id: &str) -> Value {
        let mut inner = lock(&self.inner);
        let s = inner.sessions.get_mut(id).expect("a session");
        s["status"] = json!("complete");
        s["payment_status"] = json!("paid");
        s["payment_intent"] = json!(format!("pi_test_{}", &id[8..]));
        s.clone()
    }
}

/// A Stripe event about `session`, and its `Stripe-Signature` at `t`.
pub fn stripe_event(
    event_id: &str,
    kind: &str,
    session: &Value,
    secret: &str,
    t: i64,
) -> (String, String) {
    let body = json!({
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "type": kind,
        "data": {"object": session},
    })
    .to_string();
    let header = app::payments::stripe::signature_header(secret, t, body.as_bytes());
    (body, header)
}

// ---------------------------------------------------------------- Razorpay --

#[derive(Default)]
struct RazorpayInner {
    /// key id → key secret.
    keys: HashMap<String, String>,
    links: HashMap<String, Value>,
    references: Vec<String>,
    created: Vec<Value>,
    refunds: Vec<(String, Value)>,
    next: usize,
}

#[derive(Clone)]
pub struct FakeRazorpay {
    pub addr: SocketAddr,
    inner: Arc<Mutex<RazorpayInner>>,
}

/// Razorpay's error answer (`{"error": {"code", "description"}}`).
pub fn razorpay_error(status: StatusCode, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": "BAD_REQUEST_ERROR", "description": description}})),
    )
        .into_response()
}

/// The `(key id, secret)` of an HTTP Basic `Authorization` header.
pub fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let encoded = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))?;
    let decoded = data_encoding::BASE64.decode(encoded.as_bytes()).ok()?;
    let (id, secret) = String::from_utf8_lossy(&decoded)
        .split_once(':')
        .map(|(i, s)| (i.to_owned(), s.to_owned()))?;
    Some((id, secret))
}

fn razorpay_auth(headers: &HeaderMap, inner: &RazorpayInner) -> bool {
    basic_credentials(headers)
        .is_some_and(|(id, secret)| inner.keys.get(&id).is_some_and(|s| *s == secret))
}

async fn razorpay_create_link(
    State(inner): State<Arc<Mutex<RazorpayInner>>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mut inner = lock(&inner);
    if !razorpay_auth(&headers, &inner) {
        return razorpay_error(StatusCode::UNAUTHORIZED, "Authentication failed");
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return razorpay_error(StatusCode::BAD_REQUEST, "The request body is not JSON");
    };
    let reference = request["reference_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if inner.references.contains(&reference) {
        return razorpay_error(
            StatusCode::BAD_REQUEST,
            "Payment Link with reference id already exists",
        );
    }
    if request["amount"].as_i64().unwrap_or(0) <= 0 {
        return razorpay_error(
            StatusCode::BAD_REQUEST,
            "The amount must be at least INR 1.00",
        );
    }
    inner.next += 1;
    let id = format!("plink_Test{:04}", inner.next);
    let link = json!({
        "id": id,
        "amount": request["amount"],
        "amount_paid": 0,
        "currency": request["currency"],
        "reference_id": reference,
        "status": "created",
        "short_url": format!("https://rzp.test/i/{id}"),
        "payments": null,
    });
    inner.references.push(reference);
    inner.links.insert(id, link.clone());
    inner.created.push(request);
    axum::Json(link).into_response()
}

async fn razorpay_get_link(
    State(inner): State<Arc<Mutex<RazorpayInner>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let inner = lock(&inner);
    if !razorpay_auth(&headers, &inner) {
        return razorpay_error(StatusCode::UNAUTHORIZED, "Authentication failed");
    }
    match inner.links.get(&id) {
        Some(l) => axum::Json(l.clone()).into_response(),
        None => razorpay_error(StatusCode::BAD_REQUEST, "The id provided does not exist"),
    }
}

async fn razorpay_refund(
    State(inner): State<Arc<Mutex<RazorpayInner>>>,
    Path(payment): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mut inner = lock(&inner);
    if !razorpay_auth(&headers, &inner) {
        return razorpay_error(StatusCode::UNAUTHORIZED, "Authentication failed");
    }
    let request = serde_json::from_slice::<Value>(&body).unwrap_or_default();
    inner.refunds.push((payment, request));
    let id = format!("rfnd_Test{:04}", inner.refunds.len());
    axum::Json(json!({"id": id, "entity": "refund", "status": "processed"})).into_response()
}

async fn razorpay_refunds_of(
    State(inner): State<Arc<Mutex<RazorpayInner>>>,
    Path(payment): Path<String>,
    headers: HeaderMap,
) -> Response {
    let inner = lock(&inner);
    if !razorpay_auth(&headers, &inner) {
        return razorpay_error(StatusCode::UNAUTHORIZED, "Authentication failed");
    }
    let items: Vec<Value> = inner
        .refunds
        .iter()
        .enumerate()
        .filter(|(_, (of, _))| *of == payment)
        .map(|(i, (_, request))| {
            json!({
                "id": format!("rfnd_Test{:04}", i + 1),
                "entity": "refund",
                "payment_id": payment,
                "amount": request["amount"],
                "receipt": request["receipt"],
                "status": "processed",
            })
        })
        .collect();
    axum::Json(json!({"entity": "collection", "count": items.len(), "items": items}))
        .into_response()
}

impl FakeRazorpay {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(RazorpayInner::default()));
        let app = Router::new()
            .route("/v1/payment_links", post(razorpay_create_link))
            .route("/v1/payment_links/{id}", get(razorpay_get_link))
            .route("/v1/payments/{id}/refund", post(razorpay_refund))
            .route("/v1/payments/{id}/refunds", get(razorpay_refunds_of))
            .with_state(inner.clone());
        Self {
            addr: serve(app).await,
            inner,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn add_key(&self, id: &str, secret: &str) {
        lock(&self.inner)
            .keys
            .insert(id.to_owned(), secret.to_owned());
    }

    pub fn created(&self) -> Vec<Value> {
        lock(&self.inner).created.clone()
    }

    pub fn refunds(&self) -> Vec<(String, Value)> {
        lock(&self.inner).refunds.clone()
    }

    pub fn link_of_url(&self, url: &str) -> String {
        url.rsplit('/').next().expect("an id").to_owned()
    }

    /// The link's time runs out unpaid.
    pub fn expire(&self, id: &str) {
        let mut inner = lock(&self.inner);
        let link = inner.links.get_mut(id).expect("a link");
        link["status"] = json!("expired");
    }

    /// The patient pays the link in full: the link is paid, its payment captured.
    /// Answers the `payment_link.paid` event's body.
    pub fn pay(&self, id: &str) -> String {
        let mut inner = lock(&self.inner);
        let link = inner.links.get_mut(id).expect("a link");
        let amount = link["amount"].as_i64().expect("amount");
        let payment = format!("pay_Test{}", &id[10..]);
        link["status"] = json!("paid");
        link["amount_paid"] = json!(amount);
        link["payments"] = json!([{"payment_id": payment, "amount": amount, "status": "captured"}]);
        json!({
            "entity": "event",
            "account_id": "acc_Test0001",
            "event": "payment_link.paid",
            "contains": ["payment_link", "order", "payment"],
            "payload": {
                "payment_link": {"entity": link.clone()},
                "payment": {"entity": {"id": payment, "entity": "payment", "amount": amount,
                    "currency": link["currency"], "status": "captured", "method": "upi"}},
            },
            "created_at": chrono::Utc::now().timestamp(),
        })
        .to_string()
    }
}

/// The headers Razorpay signs a delivery with.
pub fn razorpay_headers(secret: &str, event_id: &str, body: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "x-razorpay-signature",
            app::payments::razorpay::signature(secret, body.as_bytes()),
        ),
        ("x-razorpay-event-id", event_id.to_owned()),
    ]
}
