//! A local WhatsApp Cloud API that speaks Meta's wire format: `POST
//! /{phone-number-id}/messages` with a bearer token and a JSON body, answers and
//! errors as the Graph API gives them, and Meta's side of the webhook: events
//! signed with `X-Hub-Signature-256` over the raw body.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

#[derive(Default)]
struct Inner {
    /// phone number id → access token.
    numbers: HashMap<String, String>,
    /// Refuse with (HTTP status, Graph error code) instead of accepting.
    refuse: Option<(u16, i64)>,
    taken: Vec<Taken>,
}

/// One message the API took.
#[derive(Clone, Debug)]
pub struct Taken {
    pub number: String,
    pub id: String,
    pub body: serde_json::Value,
}

#[derive(Clone)]
pub struct FakeWhatsapp {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

fn lock(inner: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    inner
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn graph_error(status: u16, code: i64, message: &str) -> Response {
    let body = serde_json::json!({
        "error": {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "fbtrace_id": "AbCdEf",
        }
    });
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        axum::Json(body),
    )
        .into_response()
}

async fn messages(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(number): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mut g = lock(&inner);
    let expected = g.numbers.get(&number).map(|t| format!("Bearer {t}"));
    let given = headers.get("authorization").and_then(|v| v.to_str().ok());
    if expected.is_none() || expected.as_deref() != given {
        return graph_error(401, 190, "Invalid OAuth access token.");
    }
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return graph_error(400, 100, "Invalid parameter");
    };
    if json["messaging_product"] != "whatsapp" || !json["to"].is_string() {
        return graph_error(400, 100, "Invalid parameter");
    }
    if let Some((status, code)) = g.refuse {
        return graph_error(status, code, "refused by the fake");
    }
    let id = format!("wamid.{}", uuid::Uuid::new_v4().simple());
    g.taken.push(Taken {
        number,
        id: id.clone(),
        body: json.clone(),
    });
    let reply = serde_json::json!({
        "messaging_product": "whatsapp",
        "contacts": [{ "input": json["to"], "wa_id": json["to"] }],
        "messages": [{ "id": id }],
    });
    (StatusCode::OK, axum::Json(reply)).into_response()
}

impl FakeWhatsapp {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/v21.0/{number}/messages", post(messages))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, inner }
    }

    /// The Graph API base with its version, as `whatsapp.api_base` names it.
    pub fn url(&self) -> String {
        format!("http://{}/v21.0", self.addr)
    }

    pub fn add_number(&self, id: &str, token: &str) {
        lock(&self.inner)
            .numbers
            .insert(id.to_owned(), token.to_owned());
    }

    pub fn refuse(&self, how: Option<(u16, i64)>) {
        lock(&self.inner).refuse = how;
    }

    pub fn taken(&self) -> Vec<Taken> {
        lock(&self.inner).taken.clone()
    }

    /// Posts a webhook event as Meta does: the raw JSON, signed with the app secret.
    pub async fn post_event(url: &str, app_secret: &str, event: &serde_json::Value) -> StatusCode {
        let body = serde_json::to_vec(event).expect("json");
        let signature = app::channels::whatsapp::signature(app_secret, &body);
        Self::post_raw(url, &signature, body).await
    }

    pub async fn post_raw(url: &str, signature: &str, body: Vec<u8>) -> StatusCode {
        reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .header("X-Hub-Signature-256", signature)
            .body(body)
            .send()
            .await
            .expect("webhook post")
            .status()
    }
}

/// A `messages` change for the number `phone_number_id`, as Meta sends it.
pub fn event(phone_number_id: &str, value: serde_json::Value) -> serde_json::Value {
    let mut value = value;
    value["messaging_product"] = "whatsapp".into();
    value["metadata"] = serde_json::json!({
        "display_phone_number": "15550001111",
        "phone_number_id": phone_number_id,
    });
    serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "102290129340398", "changes": [{ "field": "messages", "value": value }] }],
    })
}

/// An incoming text from `from` (E.164 digits without `+`).
pub fn incoming(phone_number_id: &str, id: &str, from: &str, text: &str) -> serde_json::Value {
    event(
        phone_number_id,
        serde_json::json!({
            "contacts": [{ "profile": { "name": "Sam" }, "wa_id": from }],
            "messages": [{
                "from": from,
                "id": id,
                "timestamp": "1733000000",
                "type": "text",
                "text": { "body": text },
            }],
        }),
    )
}

/// A status report on a message the clinic sent.
pub fn status(phone_number_id: &str, id: &str, status: &str) -> serde_json::Value {
    event(
        phone_number_id,
        serde_json::json!({
            "statuses": [{
                "id": id,
                "status": status,
                "timestamp": "1733000100",
                "recipient_id": "14155550123",
            }],
        }),
    )
}
