//! Twilio's Messages API and its webhook signatures, as Twilio documents them:
//! `POST {api}/2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded,
//! HTTP Basic with the account SID and auth token; callbacks signed with
//! `X-Twilio-Signature`, base64(HMAC-SHA1(auth token, URL + each parameter's name
//! and value, sorted by name)).

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha1::Sha1;

/// A clinic's Twilio account, secret opened.
#[derive(Clone)]
pub struct Account {
    pub sid: String,
    pub token: String,
    /// An E.164 number, or a messaging service SID (`MG…`).
    pub sender: String,
}

pub use super::Sent;

/// Twilio's error code for a recipient who texted STOP to the sender.
pub const UNSUBSCRIBED_RECIPIENT: i64 = 21610;

#[derive(Deserialize)]
struct Created {
    sid: String,
    #[serde(default)]
    status: String,
}

#[derive(Deserialize)]
struct Problem {
    code: Option<i64>,
    message: Option<String>,
}

/// Sends one SMS.
pub async fn send(
    http: &reqwest::Client,
    api: &str,
    account: &Account,
    to: &str,
    body: &str,
    status_callback: &str,
) -> Sent {
    let url = format!("{api}/2010-04-01/Accounts/{}/Messages.json", account.sid);
    let from_field = if account.sender.starts_with("MG") {
        "MessagingServiceSid"
    } else {
        "From"
    };
    let form = [
        ("To", to),
        (from_field, account.sender.as_str()),
        ("Body", body),
        ("StatusCallback", status_callback),
    ];
    let request = http
        .post(&url)
        .basic_auth(&account.sid, Some(&account.token))
        .form(&form);
    let text = match super::exchange("Twilio", request, problem).await {
        Ok(text) => text,
        Err(sent) => return sent,
    };
    match serde_json::from_str::<Created>(&text) {
        Ok(c) => Sent::Accepted {
            id: c.sid,
            status: c.status,
        },
        Err(_) => Sent::Unknown("Twilio accepted the message but its answer is unreadable".into()),
    }
}

/// Twilio's error body: `{"code": 21211, "message": "..."}`.
fn problem(text: &str) -> (Option<i64>, Option<String>) {
    serde_json::from_str::<Problem>(text).map_or((None, None), |p| (p.code, p.message))
}

fn mac(token: &str, url: &str, params: &[(String, String)]) -> Hmac<Sha1> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = Hmac::<Sha1>::new_from_slice(token.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

/// The signature Twilio puts on a request to `url` with these form parameters.
pub fn signature(token: &str, url: &str, params: &[(String, String)]) -> String {
    data_encoding::BASE64.encode(&mac(token, url, params).finalize().into_bytes())
}

/// Whether `header` is Twilio's signature of this request (compared in
/// constant time).
pub fn verify(token: &str, url: &str, params: &[(String, String)], header: &str) -> bool {
    let Ok(given) = data_encoding::BASE64.decode(header.trim().as_bytes()) else {
        return false;
    };
    mac(token, url, params).verify_slice(&given).is_ok()
}

/// `AC` and 32 hexadecimal digits.
pub fn is_account_sid(text: &str) -> bool {
    is_sid(text, "AC")
}

fn is_sid(text: &str, prefix: &str) -> bool {
    text.len() == 34 && text.starts_with(prefix) && text[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// A sender as the clinic typed it: an E.164 number, or a messaging service SID.
pub fn sender(text: &str) -> Option<String> {
    let text = text.trim();
    if is_sid(text, "MG") {
        return Some(text.to_owned());
    }
    crate::patients::phone::normalize(text, None)
        .ok()
        .filter(|_| text.starts_with('+'))
}

/// Twilio's message status in our words; `None` for statuses of incoming
/// messages.
pub fn state_of(status: &str) -> Option<super::DeliveryState> {
    use super::DeliveryState as S;
    Some(match status {
        "accepted" | "queued" | "scheduled" => S::Accepted,
        "sending" | "sent" => S::Sent,
        "delivered" => S::Delivered,
        "read" => S::Read,
        "failed" | "canceled" => S::Failed,
        "undelivered" => S::Undelivered,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    /// Twilio's published example (its helper libraries' test suites).
    fn documented() -> Vec<(String, String)> {
        pairs(&[
            ("To", "+18005551212"),
            ("CallSid", "CA1234567890ABCDE"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("Caller", "+14158675309"),
        ])
    }

    #[test]
    fn signatures_match_twilios_published_test_vector() {
        assert_eq!(
            signature("12345", URL, &documented()),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
        assert!(verify(
            "12345",
            URL,
            &documented(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
    }

    #[test]
    fn repeated_parameters_sign_in_sorted_order() {
        // Twilio's vector for a parameter given several times.
        let repeated = pairs(&[
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
        ]);
        assert_eq!(
            signature("12345", URL, &repeated),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU="
        );
    }

    #[test]
    fn any_change_breaks_the_signature() {
        let good = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
        assert!(!verify("12346", URL, &documented(), good));
        assert!(!verify(
            "12345",
            "http://mycompany.com/myapp.php?foo=1&bar=2",
            &documented(),
            good
        ));
        let mut tampered = documented();
        tampered[2].1 = "9999".into();
        assert!(!verify("12345", URL, &tampered, good));
        let mut added = documented();
        added.push(("Body".into(), String::new()));
        assert!(!verify("12345", URL, &added, good));
        assert!(!verify("12345", URL, &documented(), ""));
        assert!(!verify("12345", URL, &documented(), "not base64 at all"));
    }

    #[test]
    fn account_sids_and_senders_are_checked() {
        assert!(is_account_sid("AC0123456789abcdef0123456789abcdef"));
        assert!(!is_account_sid("AC0123456789abcdef0123456789abcde"));
        assert!(!is_account_sid("MG0123456789abcdef0123456789abcdef"));
        assert!(!is_account_sid("AC0123456789abcdef0123456789abcdeg"));
        assert_eq!(sender(" +1 415 555 0100 ").as_deref(), Some("+14155550100"));
        assert_eq!(
            sender("MG0123456789abcdef0123456789abcdef").as_deref(),
            Some("MG0123456789abcdef0123456789abcdef")
        );
        assert_eq!(sender("4155550100"), None);
        assert_eq!(sender("clinic"), None);
    }

    #[test]
    fn statuses_only_name_outgoing_progress() {
        use super::super::DeliveryState as S;
        assert_eq!(state_of("queued"), Some(S::Accepted));
        assert_eq!(state_of("delivered"), Some(S::Delivered));
        assert_eq!(state_of("undelivered"), Some(S::Undelivered));
        assert_eq!(state_of("received"), None);
        assert_eq!(state_of(""), None);
    }
}
