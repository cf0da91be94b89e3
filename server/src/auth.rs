//! Sessions and access control at the HTTP edge.
//!
//! [`load_viewer`] turns a session cookie into the viewer of this site (or nobody),
//! enforcing the tenant binding and the idle and absolute limits; [`guard`] then
//! checks every server function and protected page against the access table
//! before any of it runs.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, Utc};
use http::{header, StatusCode};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, Session, SessionManagerLayer};

use app::error::AppError;
use app::identity::access::{self, Decision, Rule};
use app::identity::audit::{self, Actor, RequestMeta};
use app::identity::auth::{self as app_auth, SessionLimits};
use app::identity::sessions::{DbSessionStore, SignedIn, SIGNED_IN};
use app::identity::{api::sign_in_path, Audience};
use app::site::SiteInfo;

use crate::AppState;

/// The session cookie: host-only, HttpOnly, SameSite=Lax, and `__Host-` prefixed
/// when Secure (a prefix browsers only accept on Secure, path-`/` cookies).
pub fn session_layer(state: &AppState) -> SessionManagerLayer<DbSessionStore> {
    let secure = state.config.cookie_secure;
    let name = if secure {
        "__Host-medisync"
    } else {
        "medisync_session"
    };
    let absolute = time::Duration::hours(i64::from(state.config.absolute_timeout_hours));
    SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name(name)
        .with_secure(secure)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(absolute))
}

pub fn limits(state: &AppState) -> SessionLimits {
    SessionLimits {
        idle: Duration::seconds(i64::from(state.config.idle_timeout_seconds)),
        absolute: Duration::hours(i64::from(state.config.absolute_timeout_hours)),
        development: state.config.environment == crate::config::Environment::Development,
    }
}

/// Set when this request's session ended by timeout, so the sign-in page can say so.
#[derive(Clone, Copy)]
pub struct SessionExpired;

/// The client's address: the socket's peer, or, when that peer is one of
/// `server.trusted_proxies`, the nearest address in `X-Forwarded-For` that is not
/// itself a trusted proxy (entries further left are the client's own claims).
pub fn client_ip(config: &crate::config::Config, req: &Request) -> Option<IpAddr> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())?;
    if !config.trusted_proxies.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|part| part.trim().parse::<IpAddr>())
        .collect::<Result<_, _>>()
        .unwrap_or_default(); // a garbled header names nobody: keep the proxy's address
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !config.trusted_proxies.contains(ip))
            .unwrap_or(peer),
    )
}

/// Where the request came from and which site it addressed, for audit and links.
/// Both origins come from configuration and the resolved tenant, never from the
/// request's own Host header.
pub fn request_meta(state: &AppState, req: &Request) -> RequestMeta {
    let platform_origin = state.config.platform_origin();
    RequestMeta {
        origin: req
            .extensions()
            .get::<crate::site::LinkOrigin>()
            .map_or_else(|| platform_origin.clone(), |o| o.0.clone()),
        platform_origin,
        ip: client_ip(&state.config, req).map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    }
}

/// Resolves the viewer from the session and puts it into the request's [`SiteInfo`].
pub async fn load_viewer(
    State(state): State<AppState>,
    session: Session,
    mut req: Request,
    next: Next,
) -> Response {
    if crate::site::is_platform_asset(req.uri().path()) {
        return next.run(req).await;
    }
    let meta = request_meta(&state, &req);
    req.extensions_mut().insert(meta);
    let mut site = req
        .extensions()
        .get::<SiteInfo>()
        .cloned()
        .unwrap_or_default();
    let tenant = req
        .extensions()
        .get::<crate::site::ResolvedTenant>()
        .map(|t| t.0.clone());
    match viewer_of(&state, &session, &site, tenant.as_deref()).await {
        Ok(Lookup::Viewer(viewer)) => site.viewer = Some(*viewer),
        Ok(Lookup::Expired) => {
            req.extensions_mut().insert(SessionExpired);
        }
        Ok(Lookup::Nobody) => {}
        Err(e) => {
            tracing::error!(error = %e, "could not load the session");
            return crate::status_pages::unavailable();
        }
    }
    req.extensions_mut().insert(site);
    next.run(req).await
}

enum Lookup {
    Viewer(Box<app::identity::Viewer>),
    Expired,
    Nobody,
}

async fn viewer_of(
    state: &AppState,
    session: &Session,
    site: &SiteInfo,
    tenant: Option<&app::tenancy::Tenant>,
) -> Result<Lookup, String> {
    let signed_in: Option<SignedIn> = session.get(SIGNED_IN).await.map_err(|e| e.to_string())?;
    let Some(mut signed_in) = signed_in else {
        return Ok(Lookup::Nobody);
    };
    // Another tenant's (or the platform's) session does not count here, and is
    // left alone: it is that site's to end.
    let site_tenant = site.tenant.as_ref().map(|t| t.id);
    // An operator's open support grant counts on that one clinic as well.
    let supporting = signed_in
        .support
        .as_ref()
        .is_some_and(|grant| Some(grant.tenant) == site_tenant);
    if signed_in.tenant != site_tenant && !supporting {
        return Ok(Lookup::Nobody);
    }
    let limits = limits(state);
    // The tenant's sign-in rules came with the tenant (no second read of its row).
    let policy = tenant
        .filter(|t| Some(t.id) == signed_in.tenant)
        .map(|t| t.security);
    let rules = app_auth::rules_under(&signed_in, policy, limits);
    let idle = rules.idle;
    if app_auth::check_fresh(&signed_in, idle, limits).is_err() {
        session.flush().await.map_err(|e| e.to_string())?;
        return Ok(Lookup::Expired);
    }
    let Some(mut viewer) = app_auth::resolve_viewer(&state.db, site, &signed_in)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(Lookup::Nobody);
    };
    viewer.must_set_up_two_factor = rules.two_factor_required && !viewer.totp_enabled;
    // Activity keeps the session alive; write at most every tenth of the limit.
    let now = Utc::now();
    let refresh_after = (idle / 10).min(Duration::seconds(60));
    if now - signed_in.last_seen >= refresh_after {
        signed_in.last_seen = now;
        session
            .insert(SIGNED_IN, signed_in)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(Lookup::Viewer(Box::new(viewer)))
}

fn json_error(error: AppError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::FORBIDDEN);
    let body = serde_json::to_string(&error).unwrap_or_else(|_| "\"Forbidden\"".into());
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Checks the access table for server functions and protected pages.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if crate::site::is_platform_asset(&path) {
        return next.run(req).await;
    }
    let site = req
        .extensions()
        .get::<SiteInfo>()
        .cloned()
        .unwrap_or_default();
    if path.starts_with("/api/") {
        let Some(rule) = access::server_function_rule(&path) else {
            // Not in the table: refused for everyone.
            return json_error(AppError::NotFound);
        };
        if let Some(endpoint) = crate::ratelimit::limited_endpoint(&path) {
            let ip = client_ip(&state.config, &req).unwrap_or(IpAddr::from([0, 0, 0, 0]));
            let allowed = match state.limiter.allow(&state.db, endpoint, ip).await {
                Ok(allowed) => allowed,
                Err(e) => {
                    // Refuse rather than let a flood through unmetered.
                    tracing::error!(error = %e, "rate limit could not be counted");
                    return crate::status_pages::unavailable();
                }
            };
            if !allowed {
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [
                        (header::CONTENT_TYPE, "application/json"),
                        (header::RETRY_AFTER, "60"),
                    ],
                    serde_json::to_string(&AppError::Invalid(
                        "too many attempts from your network; wait a minute and try again".into(),
                    ))
                    .unwrap_or_default(),
                )
                    .into_response();
            }
        }
        let decision =
            access::server_function_decision(&path, site.viewer.as_ref()).unwrap_or(Decision::Deny);
        return match enforce_enrolment(rule, decision, &site) {
            Decision::Allow => match missing_feature(&site, &path) {
                Some(message) => upgrade_required(message),
                None => next.run(req).await,
            },
            Decision::SignIn => json_error(AppError::Unauthenticated),
            Decision::Deny => {
                record_denial(&state, meta_of(&req), &site, &path).await;
                json_error(AppError::Forbidden)
            }
        };
    }
    let Some(rule) = access::page_rule(&path) else {
        return next.run(req).await;
    };
    // No such page: the app answers its 404 page, whoever asks (it shows nothing).
    if !state.pages.contains(&path) {
        return next.run(req).await;
    }
    // Tenant areas do not exist on the platform site, nor the console on a tenant's.
    let wrong_site = match rule {
        Rule::Platform(_) => site.tenant.is_some(),
        Rule::Staff(_) | Rule::Patient => site.tenant.is_none(),
        Rule::Public | Rule::SignedIn => false,
    };
    if wrong_site {
        return next.run(req).await;
    }
    let must_enroll = site
        .viewer
        .as_ref()
        .is_some_and(|v| v.must_set_up_two_factor);
    if must_enroll
        && path != "/account/security"
        && rule.decide(site.viewer.as_ref()) == Decision::Allow
    {
        // Two-factor is required here: set it up before anything else opens.
        return Redirect::to(&site.href("/account/security")).into_response();
    }
    match enforce_enrolment(rule, rule.decide(site.viewer.as_ref()), &site) {
        Decision::Allow => {
            let mut res = next.run(req).await;
            // Pages with PHI or account data never go into a shared or disk cache.
            res.headers_mut().insert(
                header::CACHE_CONTROL,
                http::HeaderValue::from_static("no-store"),
            );
            res
        }
        Decision::SignIn => {
            let audience = match rule {
                Rule::Patient => Audience::Patient,
                _ => Audience::Staff,
            };
            let expired = if req.extensions().get::<SessionExpired>().is_some() {
                "&expired=1"
            } else {
                ""
            };
            // Only the path travels in the query: it carries no PHI.
            let target = format!(
                "{}?next={}{expired}",
                site.href(sign_in_path(audience)),
                encode(&path)
            );
            Redirect::to(&target).into_response()
        }
        Decision::Deny => {
            record_denial(&state, meta_of(&req), &site, &path).await;
            crate::status_pages::forbidden()
        }
    }
}

/// The upgrade message when the clinic's plan lacks the feature `path` needs, or
/// the arrears message when `path` changes records of a clinic that is read-only
/// for want of MediSync's payment.
fn missing_feature(site: &SiteInfo, path: &str) -> Option<String> {
    let tenant = site.tenant.as_ref()?;
    if access::changes_records(path) && tenant.read_only_at(chrono::Utc::now()) {
        let patient = site
            .viewer
            .as_ref()
            .is_some_and(|v| v.audience() == Audience::Patient);
        if patient {
            // Patients are not told about the clinic's account with MediSync.
            return Some(
                "The clinic cannot take this request online at the moment. Please contact the clinic directly."
                    .into(),
            );
        }
        return Some(
            "This clinic's records are read-only because MediSync's subscription is unpaid. \
             Reading and exporting records still work; the clinic's owner can pay on the Plan and usage page."
                .into(),
        );
    }
    let feature = access::required_feature(path)?;
    (!tenant.has(feature)).then(|| {
        format!(
            "{} is not part of this clinic's plan. An owner can upgrade on the Plan and usage page.",
            feature.label()
        )
    })
}

fn upgrade_required(message: String) -> Response {
    let error = AppError::Upgrade(message);
    (
        StatusCode::PAYMENT_REQUIRED,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_string(&error).unwrap_or_default(),
    )
        .into_response()
}

/// `decision` under `rule`, with two-factor set-up enforced before anything but
/// the viewer's own account settings.
fn enforce_enrolment(rule: Rule, decision: Decision, site: &SiteInfo) -> Decision {
    let must_enroll = site
        .viewer
        .as_ref()
        .is_some_and(|v| v.must_set_up_two_factor);
    if decision == Decision::Allow && must_enroll && !matches!(rule, Rule::Public | Rule::SignedIn)
    {
        return Decision::Deny;
    }
    decision
}

async fn record_denial(state: &AppState, meta: RequestMeta, site: &SiteInfo, path: &str) {
    let Some(viewer) = &site.viewer else { return };
    let actor = Actor::account(viewer.account_id, viewer.email.as_str());
    let result = async {
        match site.tenant.as_ref() {
            Some(t) => {
                let mut tx = state.db.begin_for(t.id).await?;
                audit::record(&mut tx, actor, "access.denied", Some(path), &meta).await?;
                tx.commit().await
            }
            None => {
                let mut tx = state.db.begin_platform().await?;
                audit::record_platform(&mut tx, actor, "access.denied", Some(path), &meta).await?;
                tx.commit().await
            }
        }
    }
    .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "could not record an access denial");
    }
}

fn meta_of(req: &Request) -> RequestMeta {
    req.extensions()
        .get::<RequestMeta>()
        .cloned()
        .unwrap_or_default()
}

fn encode(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn request_from(peer: &str, forwarded: &[&str]) -> Request {
        let mut b = Request::builder().uri("/api/sign_in");
        for f in forwarded {
            b = b.header("x-forwarded-for", *f);
        }
        let mut req = b.body(Body::empty()).expect("request");
        let peer: SocketAddr = peer.parse().expect("peer");
        req.extensions_mut().insert(ConnectInfo(peer));
        req
    }

    fn config(trusted: &[&str]) -> crate::config::Config {
        let mut c =
            crate::config::load(std::path::Path::new("/nonexistent"), &|_| None).expect("defaults");
        c.trusted_proxies = trusted.iter().map(|ip| ip.parse().expect("ip")).collect();
        c
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_proxy() {
        let ip = |s: &str| Some(s.parse::<IpAddr>().expect("ip"));
        // Off by default: the header is anyone's claim.
        let direct = request_from("203.0.113.9:5000", &["198.51.100.1"]);
        assert_eq!(client_ip(&config(&[]), &direct), ip("203.0.113.9"));
        // Behind a trusted proxy: the nearest address it did not add itself.
        let proxied = request_from("10.0.0.2:5000", &["198.51.100.1, 198.51.100.7"]);
        assert_eq!(
            client_ip(&config(&["10.0.0.2"]), &proxied),
            ip("198.51.100.7")
        );
        // A chain of trusted proxies is walked from the right; a spoofed entry
        // further left is never chosen.
        let chain = request_from("10.0.0.2:5000", &["6.6.6.6, 198.51.100.7", "10.0.0.3"]);
        assert_eq!(
            client_ip(&config(&["10.0.0.2", "10.0.0.3"]), &chain),
            ip("198.51.100.7")
        );
        // A garbled header names nobody: the proxy's own address.
        let garbled = request_from("10.0.0.2:5000", &["not-an-ip"]);
        assert_eq!(client_ip(&config(&["10.0.0.2"]), &garbled), ip("10.0.0.2"));
        // The same header from an untrusted peer changes nothing.
        let spoofed = request_from("203.0.113.9:5000", &["10.0.0.2, 1.2.3.4"]);
        assert_eq!(
            client_ip(&config(&["10.0.0.2"]), &spoofed),
            ip("203.0.113.9")
        );
    }
}
