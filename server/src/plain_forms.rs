//! Server functions called by a plain HTML form post (before the page hydrated,
//! or without JavaScript) answer like a classic web application: post, then
//! redirect, then the page shows the outcome (`app::forms` tells the page's side).
//!
//! The browser's own code asks for JSON; a native form post asks for HTML. For the
//! latter this layer runs the same server function (every check, the access rules
//! and rate limits included, since it wraps them), then answers `303 See Other`:
//! - success: to where the function said the person goes next
//!   ([`app::forms::NEXT_HEADER`]), or back to the form's page marked as done;
//! - refusal: back to the form's page, with the error and what was typed (secrets
//!   left out) kept in the session for that page's next render.
//!
//! Nothing typed travels in a URL; a refused post never shows raw JSON.

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use http::{header, HeaderValue, Method};
use tower_sessions::Session;

use app::error::AppError;
use app::forms::{self, FormOutcome};

/// The most a plain form's body may hold (the same bound as `input::check`).
const MAX_BODY_BYTES: usize = 256 * 1024;

/// The most error text kept for the page (an `AppError` is a sentence or two).
const MAX_ERROR_BYTES: usize = 16 * 1024;

/// Wraps every `/api/...` call; does nothing unless it is a plain form post.
pub async fn answer_plain_posts(req: Request, next: Next) -> Response {
    if !is_plain_form_post(&req) {
        return next.run(req).await;
    }
    let path = req.uri().path().to_owned();
    let back = back_to(&req);
    let session = req.extensions().get::<Session>().cloned();
    let (mut parts, body) = req.into_parts();
    // Ask the function for its JSON answer, as the browser's code would.
    parts
        .headers
        .insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    // An upload streams through to its function (which bounds it); nothing of a
    // file is kept to show again.
    let (body, fields) = if is_upload(&parts.headers) {
        (body, Vec::new())
    } else {
        let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
            let error = AppError::Invalid("the form holds too much text to send".into());
            return refused(session, &path, &back, &error, Vec::new()).await;
        };
        let fields: Vec<(String, String)> = form_urlencoded::parse(&bytes)
            .filter(|(name, _)| !forms::is_secret(name))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        (Body::from(bytes), fields)
    };
    let res = next.run(Request::from_parts(parts, body)).await;
    if res.status().is_success() {
        let target = res
            .headers()
            .get(forms::NEXT_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|t| is_local_path(t))
            .map(str::to_owned);
        if let Some(target) = target {
            return see_other(&target);
        }
        let done = FormOutcome {
            path,
            ..FormOutcome::default()
        };
        keep(session, done).await;
        return see_other(&back);
    }
    let error = match to_bytes(res.into_body(), MAX_ERROR_BYTES).await {
        Ok(body) => serde_json::from_slice::<AppError>(&body).unwrap_or(AppError::Internal),
        Err(_) => AppError::Internal,
    };
    refused(session, &path, &back, &error, fields).await
}

/// A form's address is the server function's own (`/api/...`): a clinic reached by
/// path (`/t/{slug}/...`) would have its plain posts land on the platform. Such a
/// post goes to the clinic of the page it came from (same host; path addressing
/// gives clinics no origin of their own, so this grants nothing a page could not
/// already do by posting to `/t/{slug}/api/...` itself).
pub async fn to_the_referring_clinic(mut req: Request, next: Next) -> Response {
    if is_plain_form_post(&req) {
        let slug = referring_page(&req)
            .and_then(|page| crate::site::split_path_prefix(&page).map(|(slug, _)| slug.to_owned()))
            .filter(|slug| app::tenancy::Slug::parse(slug).is_ok());
        if let Some(slug) = slug {
            let path_and_query = req
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned();
            if let Ok(uri) = format!("/t/{slug}{path_and_query}").parse() {
                *req.uri_mut() = uri;
            }
        }
    }
    next.run(req).await
}

/// A native form submission: a POST of form fields from a page that accepts HTML.
fn is_plain_form_post(req: &Request) -> bool {
    let header_has = |name: header::HeaderName, needle: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains(needle))
    };
    let upload = crate::UPLOAD_FUNCTIONS.contains(&req.uri().path()) && is_upload(req.headers());
    req.method() == Method::POST
        && req.uri().path().starts_with("/api/")
        && (header_has(header::CONTENT_TYPE, "application/x-www-form-urlencoded") || upload)
        && header_has(header::ACCEPT, "text/html")
}

/// A multipart body: a form with a file.
fn is_upload(headers: &http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"))
}

/// The page the form was on: the `Referer`'s path when it is this site's, else
/// the site's home.
fn back_to(req: &Request) -> String {
    referring_page(req)
        .filter(|p| is_local_path(p))
        .unwrap_or_else(|| {
            req.extensions()
                .get::<app::site::SiteInfo>()
                .cloned()
                .unwrap_or_default()
                .href("/")
        })
}

/// `/path?query` of the page that sent the request, when it is on this host.
fn referring_page(req: &Request) -> Option<String> {
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    local_part(header(header::REFERER)?, header(header::HOST)?)
}

/// `/path?query` of `url` when `url` is on `host` (any scheme).
fn local_part(url: &str, host: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    (authority.eq_ignore_ascii_case(host)).then(|| {
        let path = path.split('#').next().unwrap_or("");
        if path.is_empty() {
            "/".to_owned()
        } else {
            path.to_owned()
        }
    })
}

/// A path on this site (never `//elsewhere` or a scheme).
fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.chars().any(char::is_control)
}

fn encode(error: &AppError) -> String {
    data_encoding::BASE64URL.encode(serde_json::to_string(error).unwrap_or_default().as_bytes())
}

async fn refused(
    session: Option<Session>,
    path: &str,
    back: &str,
    error: &AppError,
    fields: Vec<(String, String)>,
) -> Response {
    let outcome = FormOutcome {
        path: path.to_owned(),
        error: Some(encode(error)),
        fields,
        message: Some(error.message()),
    };
    keep(session, outcome).await;
    see_other(back)
}

/// Keeps the outcome for the next page render (which takes it out).
async fn keep(session: Option<Session>, outcome: FormOutcome) {
    if let Some(session) = session {
        if let Err(e) = session.insert(forms::SESSION_KEY, outcome).await {
            tracing::warn!(error = %e, "a form's outcome could not be kept for its page");
        }
    }
}

fn see_other(target: &str) -> Response {
    Redirect::to(target).into_response()
}

/// Takes the outcome a plain form post left for this page render, if any.
pub async fn take_outcome(session: Option<Session>) -> Option<FormOutcome> {
    let session = session?;
    // Read first: removing marks the session changed (a write on every page).
    let outcome = session
        .get::<FormOutcome>(forms::SESSION_KEY)
        .await
        .ok()
        .flatten()?;
    let _ = session.remove_value(forms::SESSION_KEY).await;
    Some(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_sites_pages_are_gone_back_to() {
        assert_eq!(
            local_part(
                "http://acme.localhost:3000/signin?next=%2Fstaff",
                "acme.localhost:3000"
            )
            .as_deref(),
            Some("/signin?next=%2Fstaff")
        );
        assert_eq!(
            local_part("https://acme.example", "acme.example").as_deref(),
            Some("/")
        );
        assert_eq!(
            local_part("https://evil.example/signin", "acme.example"),
            None
        );
        assert_eq!(
            local_part("https://acme.example.evil.example/x", "acme.example"),
            None
        );
        assert!(!is_local_path("//evil.example/x"));
        assert!(!is_local_path("/\\evil.example"));
        assert!(!is_local_path("https://evil.example"));
        assert!(is_local_path("/t/acme/staff"));
    }
}
