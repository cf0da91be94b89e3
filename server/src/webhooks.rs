//! Provider webhooks, outside sessions, CSRF checks and tenant resolution: a
//! provider signs each request, and the signature is the only credential.
//! Stable addresses: `POST /webhooks/twilio/status`, `POST /webhooks/twilio/inbound`,
//! `GET` and `POST /webhooks/whatsapp`.

use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use app::channels::webhooks::{
    self, Received, TWILIO_INBOUND_PATH, TWILIO_STATUS_PATH, WHATSAPP_PATH,
};

use crate::AppState;

/// Webhook bodies are small forms.
const BODY_LIMIT: usize = 64 * 1024;

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route(TWILIO_STATUS_PATH, post(twilio_status))
        .route(TWILIO_INBOUND_PATH, post(twilio_inbound))
        .route(WHATSAPP_PATH, get(whatsapp_handshake).post(whatsapp_event))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn signature(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
}

/// The URL Twilio signed: the configured public origin, never the request's Host.
fn public_url(state: &AppState, path: &str) -> String {
    format!("{}{path}", crate::platform_origin(&state.config))
}

fn answer(received: Result<Received, app::db::DbError>, ok: Response) -> Response {
    match received {
        Ok(Received::Handled) => ok,
        Ok(Received::NotBelieved) => {
            (StatusCode::UNAUTHORIZED, "signature not valid").into_response()
        }
        Ok(Received::Incomplete) => (StatusCode::BAD_REQUEST, "missing parameters").into_response(),
        Err(e) => {
            // The provider retries; nothing was half-done (one transaction).
            tracing::error!(error = %e, "webhook could not be stored");
            (StatusCode::SERVICE_UNAVAILABLE, "try again later").into_response()
        }
    }
}

async fn twilio_status(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let params = form(&body);
    let url = public_url(&state, TWILIO_STATUS_PATH);
    let received = webhooks::twilio_status(
        &state.db,
        &url,
        &params,
        signature(&headers),
        chrono::Utc::now(),
    )
    .await;
    answer(received, StatusCode::NO_CONTENT.into_response())
}

async fn twilio_inbound(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = form(&body);
    let url = public_url(&state, TWILIO_INBOUND_PATH);
    let received = webhooks::twilio_inbound(
        &state.db,
        &url,
        &params,
        signature(&headers),
        chrono::Utc::now(),
    )
    .await;
    // An empty TwiML answer: MediSync does not reply (Twilio answers STOP itself).
    let twiml = (
        [(header::CONTENT_TYPE, "text/xml")],
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>",
    )
        .into_response();
    answer(received, twiml)
}

/// Meta's verification handshake: the challenge back, or 403.
async fn whatsapp_handshake(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let params = form(query.unwrap_or_default().as_bytes());
    match webhooks::whatsapp_handshake(&state.config.whatsapp_verify_token, &params) {
        Some(challenge) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            challenge,
        )
            .into_response(),
        None => (StatusCode::FORBIDDEN, "verification refused").into_response(),
    }
}

async fn whatsapp_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    let received = webhooks::whatsapp_event(
        &state.db,
        &state.config.whatsapp_app_secret,
        &body,
        signature,
        chrono::Utc::now(),
    )
    .await;
    answer(received, StatusCode::OK.into_response())
}
