//! Text channels: texts to patients through the clinic's own provider account.
//! SMS goes through Twilio's Messages API; WhatsApp will follow the same path.
//!
//! Every text is a row in `channel_deliveries` and a `text-delivery` job. The job
//! marks the row `sending` and commits before it calls the provider, so a worker
//! that dies mid-call leaves a row a later attempt finds `sending`: it may have
//! gone out, so it is recorded as `unknown` and not sent again (Twilio has no
//! idempotency key for messages; this per-message mark is the key). The
//! provider's status callbacks (`POST /webhooks/twilio/status`, signed with the
//! clinic's auth token over the configured public URL) move the row forward,
//! never back. A patient who texts STOP is opted out of SMS.
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

/// The clinic's SMS connection as its set-up page shows it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsSetup {
    /// The account SID's last four characters and the sender, when connected.
    pub connected: Option<(String, String)>,
    /// Recent test texts: to, state, when.
    pub tests: Vec<(String, String, String)>,
}

/// Where the providers are, from the server's configuration.
#[cfg(feature = "ssr")]
#[derive(Clone, Debug)]
pub struct Providers {
    /// Twilio's REST API, `https://api.twilio.com` (a local fake in tests).
    pub twilio_api: String,
    /// The platform's public origin, for the status callback URL Twilio signs.
    pub public_origin: String,
    pub http: reqwest::Client,
}

#[cfg(feature = "ssr")]
impl Providers {
    pub fn new(twilio_api: &str, public_origin: &str) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            .timeout(std::time::Duration::from_secs(20))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            twilio_api: twilio_api.trim_end_matches('/').to_owned(),
            public_origin: public_origin.trim_end_matches('/').to_owned(),
            http,
        }
    }

    /// The address Twilio posts delivery reports to (stable).
    pub fn twilio_status_url(&self) -> String {
        format!("{}{}", self.public_origin, webhooks::TWILIO_STATUS_PATH)
    }
}
