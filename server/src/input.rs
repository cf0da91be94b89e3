//! One check on every server function's arguments before they are decoded: each
//! text value is bounded in length and free of control characters. Types at the
//! edges validate meaning (an email, a slug, a search); this check guarantees that
//! no argument, of any function present or future, can carry a NUL byte (which
//! PostgreSQL text cannot hold) or a megabyte of text into a query.

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::{header, Method, StatusCode};

use app::error::AppError;

/// The longest text any single argument may carry, in characters. Longer prose
/// (visit notes, letters) belongs in its own argument type with its own bound.
pub const MAX_ARGUMENT_CHARS: usize = 8_000;

/// The largest argument body read for checking (uploads are multipart and
/// bypass this check; their decoder enforces its own limits).
const MAX_BODY_BYTES: usize = 256 * 1024;

/// Checks the query string and (for form or JSON bodies) the body of a server
/// function call. Returns the request to go on with, or the 4xx answer.
pub async fn check(req: Request<Body>) -> Result<Request<Body>, Response> {
    if let Some(query) = req.uri().query() {
        check_pairs(form_urlencoded::parse(query.as_bytes())).map_err(refuse)?;
    }
    if req.method() == Method::GET || req.method() == Method::HEAD {
        return Ok(req);
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| {
        refuse(AppError::Invalid(format!(
            "the request is too large (at most {} KB of form data)",
            MAX_BODY_BYTES / 1024
        )))
    })?;
    match content_type.as_str() {
        "application/x-www-form-urlencoded" | "" => {
            if std::str::from_utf8(&bytes).is_err() {
                return Err(refuse(AppError::Invalid(
                    "the form data is not valid UTF-8 text".into(),
                )));
            }
            check_pairs(form_urlencoded::parse(&bytes)).map_err(refuse)?;
        }
        "application/json" => {
            let value: serde_json::Value = serde_json::from_slice(&bytes)
                .map_err(|_| refuse(AppError::Invalid("the request is not valid JSON".into())))?;
            check_json("", &value).map_err(refuse)?;
        }
        _ => {
            return Err(refuse(AppError::Invalid(
                "send the form as application/x-www-form-urlencoded".into(),
            )))
        }
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

fn check_pairs<'a>(
    pairs: impl Iterator<Item = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>,
) -> Result<(), AppError> {
    for (name, value) in pairs {
        check_text(&field_name(&name), &value)?;
    }
    Ok(())
}

fn check_json(name: &str, value: &serde_json::Value) -> Result<(), AppError> {
    match value {
        serde_json::Value::String(s) => check_text(name, s),
        serde_json::Value::Array(items) => items.iter().try_for_each(|v| check_json(name, v)),
        serde_json::Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            check_text(k, k)?;
            check_json(k, v)
        }),
        _ => Ok(()),
    }
}

/// `filter[query]` → `query`: the name a form shows its message under.
fn field_name(raw: &str) -> String {
    let inner = raw
        .rsplit('[')
        .next()
        .map(|s| s.trim_end_matches(']'))
        .unwrap_or(raw);
    inner.chars().take(64).collect()
}

/// One argument's text: bounded, and no control characters except the tab and
/// line breaks of multi-line text.
pub fn check_text(field: &str, value: &str) -> Result<(), AppError> {
    if value.chars().count() > MAX_ARGUMENT_CHARS {
        return Err(AppError::field(
            field,
            format!("this text is too long: at most {MAX_ARGUMENT_CHARS} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(AppError::field(
            field,
            "this text contains a control character (such as a NUL byte); remove it and try again",
        ));
    }
    Ok(())
}

fn refuse(error: AppError) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_string(&error).unwrap_or_default(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_long_text_are_refused_with_the_field_named() {
        for bad in ["a\0b", "\u{1b}[31m", "x\u{7f}", "\u{85}"] {
            let err = check_text("query", bad).expect_err(bad);
            assert!(err.for_field("query").is_some(), "{bad:?}: {err:?}");
        }
        let long = "a".repeat(MAX_ARGUMENT_CHARS + 1);
        assert!(check_text("query", &long)
            .expect_err("too long")
            .for_field("query")
            .is_some());
        for fine in [
            "Amara Okafor",
            "line one\r\nline two\tend",
            "Ünïcödé 健康",
            "",
        ] {
            assert!(check_text("query", fine).is_ok(), "{fine:?}");
        }
    }

    #[test]
    fn bracketed_names_report_the_inner_field() {
        assert_eq!(field_name("filter[query]"), "query");
        assert_eq!(field_name("email"), "email");
    }
}
