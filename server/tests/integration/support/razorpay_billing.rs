//! A local Razorpay Subscriptions that speaks its documented wire format:
//! `POST /v1/plans` (period, interval, item), `POST /v1/subscriptions` (plan,
//! total_count, notes; answers `short_url`), `GET`/`PATCH
//! /v1/subscriptions/{id}` (a plan change with `schedule_change_at`); JSON,
//! HTTP Basic with the key id and secret, errors as
//! `{"error": {"code", "description"}}`. What happens on Razorpay's side
//! (the owner authorises, a cycle is charged, a charge fails, Razorpay halts)
//! is driven by the test, and each answers the events Razorpay would send,
//! stamped with the fake's time, and [`signed`] signs them as Razorpay does.

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

#[derive(Default)]
struct Inner {
    key_id: String,
    secret: String,
    plans: HashMap<String, Value>,
    subscriptions: HashMap<String, Value>,
    /// Bodies as received, per endpoint.
    plan_requests: Vec<Value>,
    subscription_requests: Vec<Value>,
    updates: Vec<Value>,
    next: usize,
}

impl Inner {
    fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}_Test{:010}", self.next)
    }
}

#[derive(Clone)]
pub struct FakeRazorpayBilling {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

type Shared = State<Arc<Mutex<Inner>>>;

use super::payments::razorpay_error as error;

fn authorized(headers: &HeaderMap, inner: &Inner) -> bool {
    super::payments::basic_credentials(headers)
        .is_some_and(|(id, secret)| id == inner.key_id && secret == inner.secret)
}

/// The body of an authenticated JSON request, or Razorpay's refusal.
fn authorized_json(
    headers: &HeaderMap,
    inner: &Inner,
    body: &[u8],
) -> Result<Value, Box<Response>> {
    if !authorized(headers, inner) {
        return Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "Authentication failed",
        )));
    }
    serde_json::from_slice::<Value>(body).map_err(|_| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            "The request body is not JSON",
        ))
    })
}

async fn create_plan(
    State(inner): Shared,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mut inner = lock(&inner);
    let request = match authorized_json(&headers, &inner, &body) {
        Ok(request) => request,
        Err(refused) => return *refused,
    };
    let period_ok = matches!(
        request["period"].as_str(),
        Some("daily" | "weekly" | "monthly" | "yearly")
    );
    if !period_ok
        || request["interval"].as_i64().is_none()
        || request["item"]["amount"].as_i64().is_none()
    {
        return error(
            StatusCode::BAD_REQUEST,
            "period, interval and item.amount are required",
        );
    }
    inner.plan_requests.push(request.clone());
    let id = inner.id("plan");
    let plan = json!({"id": id, "entity": "plan", "period": request["period"],
        "interval": request["interval"], "item": request["item"]});
    inner.plans.insert(id, plan.clone());
    axum::Json(plan).into_response()
}

async fn create_subscription(
    State(inner): Shared,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mut inner = lock(&inner);
    let request = match authorized_json(&headers, &inner, &body) {
        Ok(request) => request,
        Err(refused) => return *refused,
    };
    let plan = request["plan_id"].as_str().unwrap_or_default().to_owned();
    if !inner.plans.contains_key(&plan) {
        return error(StatusCode::BAD_REQUEST, "The id provided does not exist");
    }
    if request["total_count"].as_i64().is_none_or(|n| n < 1) {
        return error(
            StatusCode::BAD_REQUEST,
            "The total count field is required.",
        );
    }
    inner.subscription_requests.push(request.clone());
    let id = inner.id("sub");
    let sub = json!({"id": id, "entity": "subscription", "plan_id": plan, "status": "created",
        "total_count": request["total_count"], "paid_count": 0, "customer_id": null,
        "current_start": null, "current_end": null, "notes": request["notes"],
        "short_url": format!("https://rzp.io/rzp/{id}")});
    inner.subscriptions.insert(id, sub.clone());
    axum::Json(sub).into_response()
}

async fn get_subscription(
    State(inner): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let inner = lock(&inner);
    if !authorized(&headers, &inner) {
        return error(StatusCode::UNAUTHORIZED, "Authentication failed");
    }
    match inner.subscriptions.get(&id) {
        Some(sub) => axum::Json(sub.clone()).into_response(),
        None => error(StatusCode::BAD_REQUEST, "The id provided does not exist"),
    }
}

async fn update_subscription(
    State(inner): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let mut inner = lock(&inner);
    let request = match authorized_json(&headers, &inner, &body) {
        Ok(request) => request,
        Err(refused) => return *refused,
    };
    let plan = request["plan_id"].as_str().unwrap_or_default().to_owned();
    if !inner.plans.contains_key(&plan) {
        return error(StatusCode::BAD_REQUEST, "The id provided does not exist");
    }
    if !matches!(
        request["schedule_change_at"].as_str(),
        Some("now" | "cycle_end")
    ) {
        return error(StatusCode::BAD_REQUEST, "schedule_change_at is invalid");
    }
    inner.updates.push(request.clone());
    let Some(sub) = inner.subscriptions.get_mut(&id) else {
        return error(StatusCode::BAD_REQUEST, "The id provided does not exist");
    };
    sub["plan_id"] = json!(plan);
    axum::Json(sub.clone()).into_response()
}

/// One event Razorpay would send: its name, the subscription as it then
/// stood, a payment when there is one, and its time (Unix seconds).
pub struct Event {
    pub kind: &'static str,
    pub subscription: Value,
    pub payment: Option<Value>,
    pub created: i64,
}

impl Event {
    pub fn body(&self) -> String {
        let mut payload = json!({"subscription": {"entity": self.subscription}});
        if let Some(p) = &self.payment {
            payload["payment"] = json!({"entity": p});
        }
        json!({"entity": "event", "account_id": "acc_Test0000000001", "event": self.kind,
            "contains": if self.payment.is_some() { json!(["subscription", "payment"]) } else { json!(["subscription"]) },
            "payload": payload, "created_at": self.created})
        .to_string()
    }
}

/// The body and its `X-Razorpay-Signature`, as Razorpay signs a delivery.
pub fn signed(event: &Event, secret: &str) -> (String, String) {
    let body = event.body();
    (
        body.clone(),
        app::payments::razorpay::signature(secret, body.as_bytes()),
    )
}

const DAY: i64 = 24 * 3600;

impl FakeRazorpayBilling {
    pub async fn start(key_id: &str, secret: &str) -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            key_id: key_id.to_owned(),
            secret: secret.to_owned(),
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/v1/plans", post(create_plan))
            .route("/v1/subscriptions", post(create_subscription))
            .route(
                "/v1/subscriptions/{id}",
                get(get_subscription).patch(update_subscription),
            )
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

    pub fn plan_requests(&self) -> Vec<Value> {
        lock(&self.inner).plan_requests.clone()
    }

    pub fn subscription_requests(&self) -> Vec<Value> {
        lock(&self.inner).subscription_requests.clone()
    }

    pub fn updates(&self) -> Vec<Value> {
        lock(&self.inner).updates.clone()
    }

    /// The subscription whose page is `url`.
    pub fn subscription_of_url(&self, url: &str) -> String {
        url.rsplit('/').next().expect("an id").to_owned()
    }

    fn plan_period_days(&self, sub: &Value) -> i64 {
        let inner = lock(&self.inner);
        let plan = sub["plan_id"].as_str().and_then(|p| inner.plans.get(p));
        match plan.and_then(|p| p["period"].as_str()) {
            Some("yearly") => 365,
            _ => 30,
        }
    }

    fn charge(&self, id: &str, at: i64) -> Event {
        let sub = lock(&self.inner).subscriptions[id].clone();
        let days = self.plan_period_days(&sub);
        let amount = {
            let inner = lock(&self.inner);
            inner.plans[sub["plan_id"].as_str().expect("plan")]["item"]["amount"].clone()
        };
        let mut inner = lock(&self.inner);
        let payment = inner.id("pay");
        let invoice = inner.id("inv");
        let s = inner.subscriptions.get_mut(id).expect("subscription");
        s["status"] = json!("active");
        s["current_start"] = json!(at);
        s["current_end"] = json!(at + days * DAY);
        s["paid_count"] = json!(s["paid_count"].as_i64().unwrap_or(0) + 1);
        Event {
            kind: "subscription.charged",
            subscription: s.clone(),
            payment: Some(json!({"id": payment, "entity": "payment", "amount": amount,
                "currency": "USD", "status": "captured", "invoice_id": invoice})),
            created: at,
        }
    }

    /// The owner authorises the card at `at`: activated, then the first
    /// cycle charged.
    pub fn authorise(&self, id: &str, at: i64) -> Vec<Event> {
        let activated = {
            let mut inner = lock(&self.inner);
            let customer = inner.id("cust");
            let s = inner.subscriptions.get_mut(id).expect("subscription");
            s["status"] = json!("active");
            s["customer_id"] = json!(customer);
            Event {
                kind: "subscription.activated",
                subscription: s.clone(),
                payment: None,
                created: at,
            }
        };
        vec![activated, self.charge(id, at + 1)]
    }

    /// A renewal charge fails at `at`; Razorpay will retry.
    pub fn charge_fails(&self, id: &str, at: i64) -> Event {
        let mut inner = lock(&self.inner);
        let s = inner.subscriptions.get_mut(id).expect("subscription");
        s["status"] = json!("pending");
        Event {
            kind: "subscription.pending",
            subscription: s.clone(),
            payment: None,
            created: at,
        }
    }

    /// A retry is paid at `at`.
    pub fn retry_paid(&self, id: &str, at: i64) -> Event {
        self.charge(id, at)
    }

    /// Every retry failed: Razorpay halts the subscription at `at`.
    pub fn halts(&self, id: &str, at: i64) -> Event {
        let mut inner = lock(&self.inner);
        let s = inner.subscriptions.get_mut(id).expect("subscription");
        s["status"] = json!("halted");
        Event {
            kind: "subscription.halted",
            subscription: s.clone(),
            payment: None,
            created: at,
        }
    }
}
