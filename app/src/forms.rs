//! Forms that work before the page's code arrives.
//!
//! Every form is an `ActionForm`: once the page is hydrated it calls its server
//! function from the browser. Before that (a slow phone, a tap while the wasm is
//! still on its way, JavaScript off) the browser posts the form natively. The
//! server then answers like a classic web application (`server/src/plain_forms.rs`):
//! it runs the same server function and redirects (303) either where the
//! function says the person goes next ([`lands_on`]), or back to the page the
//! form is on, leaving a [`FormOutcome`] in the session for that page's next
//! render: the error (shown by the page's own `FieldError`/`FormError`, because
//! Leptos seeds the action with it), what was typed ([`typed`]) and whether it
//! succeeded ([`succeeded`]). The outcome is embedded in the page so hydration
//! sees the same state the server rendered. Nothing of it travels in the URL.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What a plain form post left for the page it returned to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FormOutcome {
    /// The server function posted to (`/api/sign_in`).
    pub path: String,
    /// Its error, encoded as Leptos expects in `ServerActionError` (base64 of the
    /// error's JSON); `None` when it succeeded.
    pub error: Option<String>,
    /// What was typed, secrets left out; kept only when the post failed.
    pub fields: Vec<(String, String)>,
    /// The error as a sentence, for forms posted without a Leptos action.
    #[serde(default)]
    pub message: Option<String>,
}

/// The session key holding the outcome until the next page render takes it.
pub const SESSION_KEY: &str = "form_outcome";

/// Id of the `<script type="application/json">` element carrying the outcome.
pub const ELEMENT_ID: &str = "form-outcome";

/// The response header through which a server function names the page the person
/// goes to next (the browser's code reads the function's result instead).
pub const NEXT_HEADER: &str = "x-medisync-next";

/// Fields never kept for re-display: passwords and one-time codes are typed again.
pub fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["password", "code", "secret", "token_value"]
        .iter()
        .any(|s| name.contains(s))
}

impl FormOutcome {
    /// Makes the outcome visible to this render: Leptos seeds the posted form's
    /// action with the error (`ServerAction::new` reads `ServerActionError`).
    pub fn provide(self) {
        if let Some(err) = &self.error {
            provide_context(leptos::server::ServerActionError::new(&self.path, err));
        }
        provide_context(self);
    }

    /// What was typed, as one `application/x-www-form-urlencoded` string (the
    /// page carries it in an attribute; the browser parses it without serde).
    pub fn fields_encoded(&self) -> String {
        let mut out = String::new();
        for (k, v) in &self.fields {
            if !out.is_empty() {
                out.push('&');
            }
            out.push_str(&encode_component(k));
            out.push('=');
            out.push_str(&encode_component(v));
        }
        out
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The outcome as the page carries it: a `<meta>` element's attributes, escaped
/// like any attribute by the renderer.
#[component]
pub fn EmbeddedOutcome() -> impl IntoView {
    use_context::<FormOutcome>().map(|o| {
        view! {
            <meta
                id=ELEMENT_ID
                name="form-outcome"
                data-path=o.path.clone()
                data-error=o.error.clone()
                data-message=o.message.clone()
                data-fields=o.fields_encoded()
            />
        }
    })
}

/// What was typed in `field` of the form posted to `path`, when that post failed
/// and the page is shown again.
pub fn typed(path: &str, field: &str) -> Option<String> {
    use_context::<FormOutcome>()
        .filter(|o| o.path == path && o.error.is_some())
        .and_then(|o| {
            o.fields
                .into_iter()
                .find(|(k, _)| k == field)
                .map(|(_, v)| v)
        })
}

/// The refusal of the form posted to `path`, as a sentence (for a plain
/// `<form method="post">` without an action to carry it).
pub fn refusal(path: &str) -> Option<String> {
    use_context::<FormOutcome>()
        .filter(|o| o.path == path)
        .and_then(|o| o.message)
}

/// What was typed in `field` of the refused post to `path`, or nothing: the
/// value a plain form's input starts with.
pub fn kept(path: &str, field: &str) -> String {
    typed(path, field).unwrap_or_default()
}

/// The refusal of a plain form posted to `path`, announced as an alert above the
/// form; the page is shown again with what was typed.
#[component]
pub fn PlainFormError(path: &'static str) -> impl IntoView {
    refusal(path).map(|message| {
        view! {
            <p role="alert" data-testid="form-error" class="rounded bg-red-50 p-3 text-sm text-red-800">
                {crate::error::sentence(&message)}
            </p>
        }
    })
}

/// Whether the form posted to `path` just succeeded without JavaScript.
pub fn succeeded(path: &str) -> bool {
    use_context::<FormOutcome>().is_some_and(|o| o.path == path && o.error.is_none())
}

/// The outcome the server embedded in this page, if any.
#[cfg(feature = "hydrate")]
pub fn embedded() -> Option<FormOutcome> {
    let el = document().get_element_by_id(ELEMENT_ID)?;
    let fields = el
        .get_attribute("data-fields")
        .and_then(|f| leptos::web_sys::UrlSearchParams::new_with_str(&f).ok())
        .map(|params| {
            let mut out = Vec::new();
            let keys = leptos::web_sys::js_sys::Array::from(&params.keys().into());
            for key in keys.iter().filter_map(|k| k.as_string()) {
                if let Some(value) = params.get(&key) {
                    out.push((key, value));
                }
            }
            out
        })
        .unwrap_or_default();
    Some(FormOutcome {
        path: el.get_attribute("data-path")?,
        error: el.get_attribute("data-error"),
        fields,
        message: el.get_attribute("data-message"),
    })
}

/// Says where the person goes after this server function succeeds, for a form
/// posted without JavaScript (`url` is a path on this site, as `SiteInfo::href`
/// makes it). The browser's code still decides from the function's result.
#[cfg(feature = "ssr")]
pub fn lands_on(url: &str) {
    if let (Some(res), Ok(value)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::HeaderValue::from_str(url),
    ) {
        res.insert_header(http::HeaderName::from_static(NEXT_HEADER), value);
    }
}

/// [`lands_on`] for a server function's returned address: `Ok(landing(url))`.
#[cfg(feature = "ssr")]
pub fn landing(url: String) -> String {
    lands_on(&url);
    url
}

/// Reading a plain form's fields on the server, each refusal naming its field.
#[cfg(feature = "ssr")]
pub mod input {
    use crate::error::AppError;

    pub fn field(name: &str, message: &str) -> AppError {
        AppError::field(name, message).respond()
    }

    /// Trimmed text of at most `max` characters; `None` when empty.
    pub fn optional(
        name: &str,
        text: Option<String>,
        max: usize,
    ) -> Result<Option<String>, AppError> {
        let text = text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
        if text
            .as_ref()
            .is_some_and(|t| t.chars().count() > max || t.chars().any(char::is_control))
        {
            return Err(field(
                name,
                &format!("keep it under {max} characters, on one line"),
            ));
        }
        Ok(text)
    }

    pub fn number(
        name: &str,
        text: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<i64, AppError> {
        text.trim()
            .parse::<i64>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                field(
                    name,
                    &format!(
                        "give a whole number from {} to {}",
                        range.start(),
                        range.end()
                    ),
                )
            })
    }

    pub fn date(name: &str, text: &str) -> Result<chrono::NaiveDate, AppError> {
        chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .map_err(|_| field(name, "give the date as YYYY-MM-DD"))
    }

    pub fn checked(v: &Option<String>) -> bool {
        v.as_deref()
            .is_some_and(|v| matches!(v, "on" | "true" | "1" | "yes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_never_kept() {
        for name in ["password", "current_password", "code", "new_password"] {
            assert!(is_secret(name), "{name}");
        }
        for name in ["email", "name", "role", "clinic_name"] {
            assert!(!is_secret(name), "{name}");
        }
    }

    #[test]
    fn what_was_typed_travels_percent_encoded() {
        let outcome = FormOutcome {
            path: "/api/x".into(),
            fields: vec![
                ("name".into(), "Zoë & \"Co\" <b>".into()),
                ("email".into(), "a+b@x.example".into()),
            ],
            ..FormOutcome::default()
        };
        let encoded = outcome.fields_encoded();
        assert_eq!(
            encoded,
            "name=Zo%C3%AB%20%26%20%22Co%22%20%3Cb%3E&email=a%2Bb%40x.example"
        );
        assert!(!encoded.contains(['<', '"', ' ']));
    }
}
