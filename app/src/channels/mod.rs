//! Text channels: texts to patients through the clinic's own provider account.
//! SMS goes through Twilio's Messages API, WhatsApp through Meta's Cloud API.
//!
//! Every text is a row in `channel_deliveries` and a `text-delivery` job. The job
//! marks the row `sending` and commits before it calls the provider, so a worker
//! that dies mid-call leaves a row a later attempt finds `sending`: it may have
//! gone out, so it is recorded as `unknown` and not sent again (Twilio has no
//! idempotency key for messages; this per-message mark is the key). The
//! provider's status callbacks (`POST /webhooks/twilio/status`, signed with the
//! clinic's auth token over the configured public URL) move the row forward,
//! never back. A patient who texts STOP is opted out of that channel.
//!
//! WhatsApp's rule: free text only within 24 hours of the patient's last message
//! to the clinic (the customer-service window, kept in `whatsapp_windows` from
//! the webhook); outside it only the clinic's approved template is sent, or
//! nothing, with the reason. One platform-wide Meta app: its webhook verify
//! token and app secret are configuration, and events reach a clinic by the
//! `phone_number_id` it connected.
//!
//! The provider secret is sealed at rest with the installation's key, bound to
//! the clinic and channel. Bodies come from the domain that sends them and carry
//! no PHI by default.

pub mod api;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod deliver;
#[cfg(feature = "ssr")]
pub mod twilio;
#[cfg(feature = "ssr")]
pub mod webhooks;
#[cfg(feature = "ssr")]
pub mod whatsapp;

use serde::{Deserialize, Serialize};

use crate::text::text_enum;

/// The channels a message can go by. Email and SMS are connected so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Channel {
    Email,
    Sms,
    Whatsapp,
}

text_enum!(Channel {
    Email => "email",
    Sms => "sms",
    Whatsapp => "whatsapp",
});

impl Channel {
    pub fn label(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "SMS",
            Self::Whatsapp => "WhatsApp",
        }
    }
}

/// What became of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryState {
    Queued,
    Sending,
    Accepted,
    Sent,
    Delivered,
    Read,
    Failed,
    Undelivered,
    Unknown,
}

text_enum!(DeliveryState {
    Queued => "queued",
    Sending => "sending",
    Accepted => "accepted",
    Sent => "sent",
    Delivered => "delivered",
    Read => "read",
    Failed => "failed",
    Undelivered => "undelivered",
    Unknown => "unknown",
});

impl DeliveryState {
    /// Progress: a report moves a text only forward, so reports that arrive out of
    /// order or twice change nothing.
    pub fn rank(self) -> u8 {
        match self {
            Self::Queued => 0,
            Self::Sending => 1,
            Self::Accepted => 2,
            Self::Sent => 3,
            Self::Delivered => 4,
            Self::Read => 5,
            Self::Failed | Self::Undelivered | Self::Unknown => 6,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Queued | Self::Sending => "waiting to send",
            Self::Accepted => "accepted by the provider",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
            Self::Undelivered => "not delivered",
            Self::Unknown => "outcome unknown",
        }
    }
}

/// The clinic's text connections as its set-up page shows them (never a secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextSetup {
    /// SMS: the account SID's last four characters and the sender.
    pub connected: Option<(String, String)>,
    /// WhatsApp: the phone number id and the approved template ("" for none).
    pub whatsapp: Option<(String, String)>,
    /// Recent test texts: to (with the channel), state, when.
    pub tests: Vec<(String, String, String)>,
}

/// How a provider call ended, as far as the caller can know.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// The provider took it: its id for the message and its status.
    Accepted { id: String, status: String },
    /// The provider answered no: nothing was sent. `retry` when a later try may
    /// work (rate limit, unavailable).
    Refused {
        code: Option<i64>,
        message: String,
        retry: bool,
    },
    /// The connection was never made: nothing was sent.
    Unreachable(String),
    /// The request may have reached the provider and the answer was lost.
    Unknown(String),
}

/// Sends a request to a provider and reads the answer: the body of a 2xx, or
/// how the send ended. `problem` reads the provider's error body as (code,
/// message).
#[cfg(feature = "ssr")]
pub(crate) async fn exchange(
    provider: &str,
    request: reqwest::RequestBuilder,
    problem: fn(&str) -> (Option<i64>, Option<String>),
) -> Result<String, Sent> {
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) if e.is_connect() => {
            return Err(Sent::Unreachable(format!("{provider} unreachable: {e}")))
        }
        Err(e) => return Err(Sent::Unknown(format!("no answer from {provider}: {e}"))),
    };
    let status = response.status();
    let text = match response.text().await {
        Ok(t) => t,
        Err(e) if status.is_success() => {
            return Err(Sent::Unknown(format!(
                "{provider}'s answer was cut off: {e}"
            )))
        }
        Err(_) => String::new(),
    };
    if status.is_success() {
        return Ok(text);
    }
    let (code, message) = problem(&text);
    let message = message.unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
    Err(match status.as_u16() {
        // Too many requests, service unavailable: not taken, try later.
        429 | 503 => Sent::Refused {
            code,
            message,
            retry: true,
        },
        400..=499 => Sent::Refused {
            code,
            message,
            retry: false,
        },
        // A server or gateway error may have come after the message was taken.
        other => Sent::Unknown(format!("{provider} answered HTTP {other}: {message}")),
    })
}

/// The HTTP client for providers' APIs (texts, payments): bounded waits, and
/// no redirects followed (an API that redirects is not the API configured).
#[cfg(feature = "ssr")]
pub(crate) fn provider_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(20))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// Where the providers are, from the server's configuration.
#[cfg(feature = "ssr")]
#[derive(Clone, Debug)]
pub struct Providers {
    /// Twilio's REST API, `https://api.twilio.com` (a local fake in tests).
    pub twilio_api: String,
    /// Meta's Graph API with its version, `https://graph.facebook.com/v21.0`.
    pub whatsapp_api: String,
    /// The platform's public origin, for the status callback URL Twilio signs.
    pub public_origin: String,
    pub http: reqwest::Client,
}

#[cfg(feature = "ssr")]
impl Providers {
    pub fn new(twilio_api: &str, whatsapp_api: &str, public_origin: &str) -> Self {
        let http = provider_client();
        Self {
            twilio_api: twilio_api.trim_end_matches('/').to_owned(),
            whatsapp_api: whatsapp_api.trim_end_matches('/').to_owned(),
            public_origin: public_origin.trim_end_matches('/').to_owned(),
            http,
        }
    }

    /// The address Twilio posts delivery reports to (stable).
    pub fn twilio_status_url(&self) -> String {
        format!("{}{}", self.public_origin, webhooks::TWILIO_STATUS_PATH)
    }
}
