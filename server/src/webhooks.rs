//! Provider webhooks, outside sessions, CSRF checks and tenant resolution: a
//! provider signs each request, and the signature is the only credential.
//! Stable addresses: `POST /webhooks/twilio/status`, `POST /webhooks/twilio/inbound`,
//! `GET` and `POST /webhooks/whatsapp`, `POST /webhooks/stripe/{tenant}` and
//! `POST /webhooks/razorpay/{tenant}` (the clinic's slug), and
//! `POST /webhooks/subscriptions/stripe` (the platform's own Stripe account).

use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use app::channels::webhooks::{
    self, Received, TWILIO_INBOUND_PATH, TWILIO_STATUS_PATH, WHATSAPP_PATH,
};

use app::billing::online;

use crate::AppState;

/// Webhook bodies are small forms and JSON events (Stripe's Checkout Session
/// events run to a few KB).
const BODY_LIMIT: usize = 256 * 1024;

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route(TWILIO_STATUS_PATH, post(twilio_status))
        .route(TWILIO_INBOUND_PATH, post(twilio_inbound))
        .route(WHATSAPP_PATH, get(whatsapp_handshake).post(whatsapp_event))
        .route(online::STRIPE_WEBHOOK_PATH, post(stripe_event))
        .route(online::RAZORPAY_WEBHOOK_PATH, post(razorpay_event))
        .route(
            app::plans::subscriptions::STRIPE_WEBHOOK_PATH,
            post(subscription_event),
        )
        .route(
            app::plans::subscriptions::RAZORPAY_WEBHOOK_PATH,
            post(razorpay_subscription_event),
        )
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

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Payment providers expect 2xx for what was handled or is none of our
/// business, and retry otherwise; a bad or stale signature is a 400.
fn payment_answer(received: Result<online::Received, app::db::DbError>) -> Response {
    match received {
        Ok(online::Received::Handled | online::Received::Ignored) => {
            (StatusCode::OK, "ok").into_response()
        }
        Ok(online::Received::NotBelieved) => {
            (StatusCode::BAD_REQUEST, "signature not valid").into_response()
        }
        Ok(online::Received::Incomplete) => {
            (StatusCode::BAD_REQUEST, "not an event").into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "payment webhook could not be handled");
            (StatusCode::SERVICE_UNAVAILABLE, "try again later").into_response()
        }
    }
}

async fn stripe_event(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let received = online::stripe_event(
        &state.db,
        &tenant,
        &body,
        header(&headers, "stripe-signature"),
        chrono::Utc::now(),
    )
    .await;
    payment_answer(received)
}

async fn razorpay_event(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let received = online::razorpay_event(
        &state.db,
        &tenant,
        &body,
        header(&headers, "x-razorpay-signature"),
        chrono::Utc::now(),
    )
    .await;
    payment_answer(received)
}

/// The platform's Stripe account: clinics' subscriptions (dunning).
async fn subscription_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    use app::plans::subscriptions::stripe_event;
    let received = stripe_event(
        &state.db,
        &state.subscriptions,
        header(&headers, "stripe-signature"),
        &body,
        chrono::Utc::now(),
    )
    .await;
    subscription_answer(received)
}

/// The platform's Razorpay account: clinics' subscriptions (dunning).
async fn razorpay_subscription_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let received = app::plans::subscriptions::razorpay_event(
        &state.db,
        &state.subscriptions,
        header(&headers, "x-razorpay-signature"),
        &body,
        chrono::Utc::now(),
    )
    .await;
    subscription_answer(received)
}

fn subscription_answer(
    received: Result<app::plans::subscriptions::Received, app::db::DbError>,
) -> Response {
    use app::plans::subscriptions::Received;
    match received {
        Ok(Received::Handled | Received::Ignored) => StatusCode::OK.into_response(),
        Ok(Received::NotBelieved) => {
            (StatusCode::BAD_REQUEST, "signature not valid").into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "subscription webhook could not be handled");
            (StatusCode::SERVICE_UNAVAILABLE, "try again later").into_response()
        }
    }
}
