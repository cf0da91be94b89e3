//! Browser-facing protections: security headers with a per-request CSP nonce, and
//! a same-origin check on every state-changing request.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, Method, StatusCode};
use leptos::nonce::Nonce;

/// The nonce of this request's inline scripts, shared with the page renderer.
#[derive(Clone)]
pub struct RequestNonce(pub Nonce);

/// Whether the site is served over TLS (HSTS, Secure cookies).
#[derive(Clone, Copy)]
pub struct Tls(pub bool);

fn csp(nonce: &str) -> String {
    // wasm needs 'wasm-unsafe-eval'; Leptos' hydration scripts carry the nonce.
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; connect-src 'self'; \
         font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// Adds the security headers; pages get a fresh nonce each.
pub async fn headers(tls: Tls, mut req: Request, next: Next) -> Response {
    // The built files (`/pkg`: scripts, wasm, styles) are never documents: the
    // document policies below mean nothing on them, while a page fetches dozens
    // of small chunks, each paying ~500 bytes for them. They keep `nosniff` (and
    // HSTS); the scripts run under the policy of the page that loads them.
    let built_file = req.uri().path().starts_with("/pkg/");
    let nonce = Nonce::new();
    let value = csp(nonce.as_inner());
    req.extensions_mut().insert(RequestNonce(nonce));
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !built_file {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
        // A page that asks for less (a page whose address holds a secret) keeps its own.
        h.entry(header::REFERRER_POLICY)
            .or_insert(HeaderValue::from_static("strict-origin-when-cross-origin"));
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            "permissions-policy",
            HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
        );
    }
    if tls.0 {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    res
}

/// Whether a state-changing request comes from a page of the same origin.
///
/// Browsers send `Sec-Fetch-Site` (modern) and `Origin` on such requests; either
/// naming another site refuses the request. A request with neither is not from a
/// browser, so cookies cannot have been forged into it.
pub fn is_same_origin(req: &Request) -> bool {
    let h = req.headers();
    if let Some(site) = h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    match h.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(origin) => {
            let host = h.get(header::HOST).and_then(|v| v.to_str().ok());
            let origin_host = origin.split_once("://").map(|(_, rest)| rest);
            host.is_some() && origin_host == host
        }
    }
}

/// Leptos' preload links carry the CSP nonce as their `crossorigin` value (an
/// invalid value, which browsers read as `anonymous`), putting the nonce where
/// markup and selectors can read it. The head is in the page's first chunk; this
/// rewrites it there to the value browsers already used.
pub fn crossorigin_without_nonce(res: Response, nonce: &str) -> Response {
    use futures_util::StreamExt;
    let (parts, body) = res.into_parts();
    let wrong = format!("crossorigin=\"{nonce}\"");
    let mut first = true;
    let stream = body.into_data_stream().map(move |chunk| {
        let chunk = chunk?;
        if !std::mem::take(&mut first) {
            return Ok::<_, axum::Error>(chunk);
        }
        match std::str::from_utf8(&chunk) {
            Ok(text) if text.contains(&wrong) => Ok(axum::body::Bytes::from(
                text.replace(&wrong, "crossorigin=\"anonymous\""),
            )),
            _ => Ok(chunk),
        }
    });
    let mut res = Response::from_parts(parts, axum::body::Body::from_stream(stream));
    res.headers_mut().remove(header::CONTENT_LENGTH);
    res
}

pub async fn same_origin(req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || is_same_origin(&req) {
        next.run(req).await
    } else {
        tracing::warn!(path = %req.uri().path(), "cross-origin request refused");
        (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "application/json")],
            r#""Forbidden""#,
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn post(headers: &[(&str, &str)]) -> Request {
        let mut b = Request::builder().method("POST").uri("/api/x");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::empty()).expect("request")
    }

    #[test]
    fn cross_site_posts_are_refused() {
        assert!(is_same_origin(&post(&[("sec-fetch-site", "same-origin")])));
        assert!(!is_same_origin(&post(&[("sec-fetch-site", "cross-site")])));
        assert!(!is_same_origin(&post(&[("sec-fetch-site", "same-site")])));
        assert!(is_same_origin(&post(&[
            ("host", "acme.localhost:3000"),
            ("origin", "http://acme.localhost:3000")
        ])));
        assert!(!is_same_origin(&post(&[
            ("host", "acme.localhost:3000"),
            ("origin", "http://evil.example")
        ])));
        assert!(is_same_origin(&post(&[])), "no browser, no ambient cookies");
    }

    #[test]
    fn csp_has_a_nonce_and_no_inline_scripts() {
        let policy = csp("abc");
        assert!(policy.contains("script-src 'self' 'nonce-abc' 'wasm-unsafe-eval'"));
        assert!(!policy.contains("script-src 'self' 'unsafe-inline'"));
        assert!(policy.contains("frame-ancestors 'none'"));
    }
}
