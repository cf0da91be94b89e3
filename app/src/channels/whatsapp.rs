//! Meta's WhatsApp Cloud API, as Meta documents it: `POST
//! {graph}/{phone-number-id}/messages` with a bearer token and a JSON body (text
//! or template messages); webhooks signed with `X-Hub-Signature-256: sha256=`
//! HMAC-SHA256 of the raw body with the app secret.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

pub use super::Sent;

/// A clinic's WhatsApp number, secret opened.
#[derive(Clone)]
pub struct Account {
    pub phone_number_id: String,
    pub token: String,
    /// The approved template sent outside the 24-hour window, and its
    /// language; `None`: nothing is sent outside the window.
    pub template: Option<(String, String)>,
}

/// What goes: free text (inside the customer-service window) or the template
/// with the clinic's name as its one parameter.
pub enum Content<'a> {
    Text(&'a str),
    Template {
        name: &'a str,
        language: &'a str,
        clinic: &'a str,
    },
}

/// The Cloud API's code for a free-form message outside the 24-hour window.
pub const OUTSIDE_WINDOW: i64 = 131047;

#[derive(Deserialize)]
struct Created {
    #[serde(default)]
    messages: Vec<CreatedMessage>,
}

#[derive(Deserialize)]
struct CreatedMessage {
    id: String,
    #[serde(default)]
    message_status: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: GraphError,
}

#[derive(Deserialize)]
struct GraphError {
    code: Option<i64>,
    message: Option<String>,
}

/// The request body for one message to `to` (E.164).
pub fn body(to: &str, content: &Content<'_>) -> serde_json::Value {
    let to = to.trim_start_matches('+');
    match content {
        Content::Text(text) => serde_json::json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "text",
            "text": { "preview_url": false, "body": text },
        }),
        Content::Template {
            name,
            language,
            clinic,
        } => serde_json::json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "template",
            "template": {
                "name": name,
                "language": { "code": language },
                "components": [{
                    "type": "body",
                    "parameters": [{ "type": "text", "text": clinic }],
                }],
            },
        }),
    }
}

/// Sends one message.
pub async fn send(
    http: &reqwest::Client,
    api: &str,
    account: &Account,
    to: &str,
    content: &Content<'_>,
) -> Sent {
    let url = format!("{api}/{}/messages", account.phone_number_id);
    let request = http
        .post(&url)
        .bearer_auth(&account.token)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body(to, content).to_string());
    let text = match super::exchange("WhatsApp", request, problem).await {
        Ok(text) => text,
        Err(sent) => return sent,
    };
    match serde_json::from_str::<Created>(&text)
        .ok()
        .and_then(|c| c.messages.into_iter().next())
    {
        Some(m) => Sent::Accepted {
            id: m.id,
            status: m.message_status.unwrap_or_else(|| "accepted".into()),
        },
        None => Sent::Unknown("WhatsApp accepted the message but its answer is unreadable".into()),
    }
}

/// The Graph API's error body: `{"error": {"code": 131047, "message": "..."}}`.
fn problem(text: &str) -> (Option<i64>, Option<String>) {
    serde_json::from_str::<ErrorBody>(text)
        .map_or((None, None), |b| (b.error.code, b.error.message))
}

/// The `X-Hub-Signature-256` value for `body`.
pub fn signature(app_secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(body);
    format!(
        "sha256={}",
        data_encoding::HEXLOWER.encode(&mac.finalize().into_bytes())
    )
}

/// Whether `header` signs `body` with the app secret (constant time). An empty
/// secret believes nothing.
pub fn verify(app_secret: &str, body: &[u8], header: &str) -> bool {
    if app_secret.is_empty() {
        return false;
    }
    let Some(hex) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(given) = data_encoding::HEXLOWER_PERMISSIVE.decode(hex.as_bytes()) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// A phone number id: digits, as Meta gives it.
pub fn is_phone_number_id(text: &str) -> bool {
    (5..=30).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit())
}

/// A template name as Meta allows it: lowercase letters, digits, underscores.
pub fn is_template_name(text: &str) -> bool {
    (1..=512).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A language code such as `en` or `en_US`.
pub fn is_language(text: &str) -> bool {
    let (lang, region) = text.split_once('_').unwrap_or((text, ""));
    (2..=3).contains(&lang.len())
        && lang.bytes().all(|b| b.is_ascii_lowercase())
        && (region.is_empty()
            || (region.len() == 2 && region.bytes().all(|b| b.is_ascii_uppercase())))
}

/// A message status in our words.
pub fn state_of(status: &str) -> Option<super::DeliveryState> {
    use super::DeliveryState as S;
    Some(match status {
        "accepted" | "held_for_quality_assessment" => S::Accepted,
        "sent" => S::Sent,
        "delivered" => S::Delivered,
        "read" => S::Read,
        "failed" => S::Failed,
        _ => return None,
    })
}

/// A webhook notification (only what MediSync reads).
#[derive(Debug, Deserialize)]
pub struct Notification {
    #[serde(default)]
    pub object: String,
    #[serde(default)]
    pub entry: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
pub struct Entry {
    #[serde(default)]
    pub changes: Vec<Change>,
}

#[derive(Debug, Deserialize)]
pub struct Change {
    #[serde(default)]
    pub field: String,
    pub value: Option<ChangeValue>,
}

#[derive(Debug, Deserialize)]
pub struct ChangeValue {
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub messages: Vec<Incoming>,
    #[serde(default)]
    pub statuses: Vec<StatusReport>,
}

#[derive(Debug, Deserialize)]
pub struct Metadata {
    pub phone_number_id: String,
}

#[derive(Debug, Deserialize)]
pub struct Incoming {
    pub from: String,
    pub id: String,
    pub text: Option<IncomingText>,
    pub button: Option<IncomingButton>,
}

#[derive(Debug, Deserialize)]
pub struct IncomingText {
    pub body: String,
}

#[derive(Debug, Deserialize)]
pub struct IncomingButton {
    pub text: String,
}

#[derive(Debug, Deserialize)]
pub struct StatusReport {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub errors: Vec<StatusError>,
}

#[derive(Debug, Deserialize)]
pub struct StatusError {
    pub code: Option<i64>,
    pub title: Option<String>,
}

impl Incoming {
    /// What the patient wrote (a text, or a quick-reply button's label).
    pub fn words(&self) -> &str {
        self.text
            .as_ref()
            .map(|t| t.body.as_str())
            .or_else(|| self.button.as_ref().map(|b| b.text.as_str()))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_published_x_hub_signature_256_vector() {
        // The sha256 HMAC header scheme Meta uses (`X-Hub-Signature-256`), with
        // GitHub's published example for the same scheme.
        let secret = "It's a Secret to Everybody";
        let body = b"Hello, World!";
        let expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(signature(secret, body), expected);
        assert!(verify(secret, body, expected));
        assert!(verify(
            secret,
            body,
            &expected.to_uppercase().replace("SHA256=", "sha256=")
        ));
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231_case_2() {
        // RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn anything_else_is_not_believed() {
        let good = signature("secret", b"{}");
        assert!(!verify("secret", b"{ }", &good));
        assert!(!verify("other", b"{}", &good));
        assert!(
            !verify("", b"{}", &signature("", b"{}")),
            "no secret configured"
        );
        assert!(!verify("secret", b"{}", good.trim_start_matches("sha256=")));
        assert!(!verify("secret", b"{}", "sha256=zz"));
        assert!(!verify("secret", b"{}", ""));
    }

    #[test]
    fn message_bodies_follow_the_cloud_api() {
        let text = body("+14155550123", &Content::Text("Hello"));
        assert_eq!(text["to"], "14155550123");
        assert_eq!(text["type"], "text");
        assert_eq!(text["text"]["body"], "Hello");
        assert_eq!(text["messaging_product"], "whatsapp");
        let template = body(
            "+14155550123",
            &Content::Template {
                name: "appointment_news",
                language: "en_US",
                clinic: "Acme",
            },
        );
        assert_eq!(template["type"], "template");
        assert_eq!(template["template"]["name"], "appointment_news");
        assert_eq!(template["template"]["language"]["code"], "en_US");
        assert_eq!(
            template["template"]["components"][0]["parameters"][0]["text"],
            "Acme"
        );
    }

    #[test]
    fn connection_fields_are_checked() {
        assert!(is_phone_number_id("106540352242922"));
        assert!(!is_phone_number_id("10654abc"));
        assert!(is_template_name("appointment_news_2"));
        assert!(!is_template_name("Appointment News"));
        assert!(is_language("en") && is_language("en_US") && is_language("pt_BR"));
        assert!(!is_language("english") && !is_language("en-us") && !is_language(""));
    }
}
