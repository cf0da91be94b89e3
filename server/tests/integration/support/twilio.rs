//! A local Twilio that speaks the Messages API's wire format: form-encoded
//! `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with HTTP Basic
//! (account SID, auth token), JSON answers and errors as Twilio sends them, and
//! Twilio's side of the webhooks: delivery reports posted to the message's
//! `StatusCallback` and incoming texts, each signed with `X-Twilio-Signature`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

/// How the fake answers the next sends.
#[derive(Clone, Debug)]
pub enum Mode {
    Accept,
    /// An error answer, as Twilio gives it.
    Refuse {
        status: u16,
        code: i64,
    },
}

/// One message Twilio took.
#[derive(Clone, Debug)]
pub struct Taken {
    pub account: String,
    pub sid: String,
    pub form: HashMap<String, String>,
}

impl Taken {
    pub fn field(&self, name: &str) -> &str {
        self.form.get(name).map_or("", String::as_str)
    }
}

#[derive(Default)]
struct Inner {
    accounts: HashMap<String, String>,
    mode: Option<Mode>,
    taken: Vec<Taken>,
    attempts: usize,
}

#[derive(Clone)]
pub struct FakeTwilio {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

fn lock(inner: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    inner
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn problem(status: u16, code: i64, message: &str) -> Response {
    let body = serde_json::json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status,
    });
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        axum::Json(body),
    )
        .into_response()
}

async fn create_message(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(file): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let (account, file) = file;
    if file != "Messages.json" {
        return problem(404, 20404, "The requested resource was not found");
    }
    let mut g = lock(&inner);
    g.attempts += 1;
    let expected = g.accounts.get(&account).map(|token| {
        let pair = format!("{account}:{token}");
        format!("Basic {}", data_encoding::BASE64.encode(pair.as_bytes()))
    });
    let given = headers.get("authorization").and_then(|v| v.to_str().ok());
    if expected.is_none() || expected.as_deref() != given {
        return problem(401, 20003, "Authenticate");
    }
    let form_encoded = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    if !form_encoded || !form.contains_key("To") || !form.contains_key("Body") {
        return problem(400, 21604, "A 'To' phone number is required.");
    }
    if !form.contains_key("From") && !form.contains_key("MessagingServiceSid") {
        return problem(400, 21603, "A 'From' phone number is required.");
    }
    match g.mode.clone().unwrap_or(Mode::Accept) {
        Mode::Refuse { status, code } => problem(status, code, "refused by the fake"),
        Mode::Accept => {
            let sid = format!("SM{}", uuid::Uuid::new_v4().simple());
            g.taken.push(Taken {
                account: account.clone(),
                sid: sid.clone(),
                form: form.clone(),
            });
            let reply = serde_json::json!({
                "account_sid": account,
                "sid": sid,
                "status": "queued",
                "to": form.get("To"),
                "body": form.get("Body"),
                "num_segments": "1",
                "error_code": null,
            });
            (StatusCode::CREATED, axum::Json(reply)).into_response()
        }
    }
}

impl FakeTwilio {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route(
                "/2010-04-01/Accounts/{account}/{file}",
                post(create_message),
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

    pub fn add_account(&self, sid: &str, token: &str) {
        lock(&self.inner)
            .accounts
            .insert(sid.to_owned(), token.to_owned());
    }

    pub fn set_mode(&self, mode: Mode) {
        lock(&self.inner).mode = Some(mode);
    }

    /// The messages taken so far, oldest first.
    pub fn taken(&self) -> Vec<Taken> {
        lock(&self.inner).taken.clone()
    }

    /// Requests that reached the Messages API, taken or not.
    pub fn attempts(&self) -> usize {
        lock(&self.inner).attempts
    }

    /// Posts a form to `url` signed with `token`, as Twilio does.
    pub async fn post_signed(url: &str, token: &str, params: &[(&str, &str)]) -> StatusCode {
        let owned: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let signature = app::channels::twilio::signature(token, url, &owned);
        Self::post_with(url, &signature, params).await
    }

    /// Posts a form with the signature given.
    pub async fn post_with(url: &str, signature: &str, params: &[(&str, &str)]) -> StatusCode {
        reqwest::Client::new()
            .post(url)
            .header("X-Twilio-Signature", signature)
            .form(params)
            .send()
            .await
            .expect("webhook post")
            .status()
    }

    /// Twilio's delivery report on a message it took, to its `StatusCallback`.
    pub async fn report(
        &self,
        taken: &Taken,
        status: &str,
        error_code: Option<&str>,
    ) -> StatusCode {
        let token = lock(&self.inner)
            .accounts
            .get(&taken.account)
            .cloned()
            .expect("account");
        let mut params = vec![
            ("AccountSid", taken.account.as_str()),
            ("ApiVersion", "2010-04-01"),
            ("From", taken.field("From")),
            ("MessageSid", taken.sid.as_str()),
            ("MessageStatus", status),
            ("SmsSid", taken.sid.as_str()),
            ("SmsStatus", status),
            ("To", taken.field("To")),
        ];
        if let Some(code) = error_code {
            params.push(("ErrorCode", code));
        }
        Self::post_signed(taken.field("StatusCallback"), &token, &params).await
    }
}

/// An address that takes the connection and the request, then hangs up without
/// answering: a send whose outcome is unknown.
pub async fn hang_up_server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut buffer = [0u8; 8192];
            let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut buffer).await;
            drop(socket);
        }
    });
    addr
}
