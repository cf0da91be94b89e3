//! Tenant resolution: which site a request is for.
//!
//! Order: custom domain → subdomain of the base domain → `/t/{slug}` path prefix.
//! A tenant found by path has the prefix stripped before routing, so every route and
//! server function works the same under all three; [`SiteInfo::base`] keeps the
//! prefix for links.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{header, Uri};

use app::site::SiteInfo;
use app::tenancy::{self, Slug, Tenant};

use crate::status_pages;
use crate::tenant_cache::Key;
use crate::AppState;

/// How the request named its tenant, before any lookup.
#[derive(Debug, PartialEq, Eq)]
pub enum Addressed {
    /// The bare platform domain (or an address we do not serve tenants on).
    Platform,
    /// `{slug}.{base_domain}`; the label is not yet validated.
    Subdomain(String),
    /// Some other host: maybe a tenant's custom domain.
    OtherHost(String),
    /// Not a host name at all (a bracketed text that is no IPv6 address, user
    /// information, a port that is no number): the 404 page.
    Malformed,
}

/// Classifies a request by its Host header (without port, lower-cased).
pub fn classify_host(host: Option<&str>, base_domain: &str) -> Addressed {
    let Some(host) = host else {
        return Addressed::Platform;
    };
    let Some(host) = host_without_port(host) else {
        return Addressed::Malformed;
    };
    if host == base_domain || host.parse::<std::net::IpAddr>().is_ok() || is_ipv6_literal(&host) {
        return Addressed::Platform;
    }
    if !is_plain_host_name(&host) {
        return Addressed::Malformed;
    }
    match host
        .strip_suffix(base_domain)
        .and_then(|h| h.strip_suffix('.'))
    {
        Some("www") => Addressed::Platform,
        Some(label) => Addressed::Subdomain(label.to_owned()),
        None if host == "localhost" => Addressed::Platform,
        None => Addressed::OtherHost(host),
    }
}

/// `[v6-address]`, brackets included.
fn is_ipv6_literal(host: &str) -> bool {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .is_some_and(|inner| inner.parse::<std::net::Ipv6Addr>().is_ok())
}

/// Letters, digits, hyphens and dots only (what DNS names and our slugs use).
fn is_plain_host_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// The host, lower-cased, without a valid port; `None` when the text is not
/// `host[:port]` (a bracketed part must be a whole IPv6 literal).
fn host_without_port(host: &str) -> Option<String> {
    let host = host.trim().to_ascii_lowercase();
    let valid_port =
        |p: &str| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit());
    if host.starts_with('[') {
        let (literal, rest) = match host.find(']') {
            Some(end) => host.split_at(end + 1),
            None => return None,
        };
        let port_ok = rest.is_empty() || rest.strip_prefix(':').is_some_and(valid_port);
        return (is_ipv6_literal(literal) && port_ok).then(|| literal.to_owned());
    }
    match host.rsplit_once(':') {
        Some((h, port)) if valid_port(port) => Some(h.to_owned()),
        Some(_) => None,
        None => Some(host),
    }
}

/// Splits `/t/{slug}/rest` into the slug text and `/rest`.
pub fn split_path_prefix(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/t/")?;
    match rest.find('/') {
        Some(i) => Some((&rest[..i], &rest[i..])),
        None => Some((rest, "/")),
    }
}

/// Paths that never belong to a tenant and need no lookup, session or access
/// check: the built site, public logo files, health and robots.
pub fn is_platform_asset(path: &str) -> bool {
    path.starts_with("/pkg/")
        || path.starts_with("/brand/")
        || matches!(path, "/healthz" | "/favicon.svg" | "/robots.txt")
}

/// The middleware: resolves the site, or answers 404/403/503 itself.
pub async fn resolve(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if is_platform_asset(req.uri().path()) {
        req.extensions_mut().insert(SiteInfo::platform());
        return next.run(req).await;
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().host().map(str::to_owned));
    let addressed = classify_host(host.as_deref(), &state.config.base_domain);
    match resolve_tenant(&state, addressed, req.uri()).await {
        Ok(Resolution::Platform) => {
            req.extensions_mut().insert(SiteInfo::platform());
            req.extensions_mut()
                .insert(LinkOrigin(state.config.platform_origin()));
            next.run(req).await
        }
        Ok(Resolution::Tenant {
            tenant,
            path_base,
            origin,
        }) => {
            if !tenant.status.is_served() {
                return status_pages::suspended(&tenant);
            }
            if let Some(base) = &path_base {
                match strip_base(req.uri(), base) {
                    Some(uri) => *req.uri_mut() = uri,
                    None => return status_pages::not_found(),
                }
            }
            req.extensions_mut().insert(SiteInfo {
                tenant: Some(tenant.public()),
                base: path_base.unwrap_or_default(),
                viewer: None,
            });
            req.extensions_mut().insert(ResolvedTenant(tenant));
            req.extensions_mut().insert(LinkOrigin(origin));
            next.run(req).await
        }
        Ok(Resolution::UnknownTenant) | Ok(Resolution::Malformed) => status_pages::not_found(),
        Err(e) => {
            tracing::error!(error = %e, "tenant lookup failed");
            status_pages::unavailable()
        }
    }
}

enum Resolution {
    Platform,
    Tenant {
        tenant: Arc<Tenant>,
        path_base: Option<String>,
        /// Where links to this site point, from configuration (never the Host header).
        origin: String,
    },
    UnknownTenant,
    Malformed,
}

/// `scheme://host[:port]` of the site this request resolved to, built from
/// configuration and the tenant's row: the only origin links in emails may use.
#[derive(Clone, Debug)]
pub struct LinkOrigin(pub String);

/// The tenant this request addresses, whole (sign-in rules included), for the
/// layers after resolution. Pages and server functions see [`SiteInfo`].
#[derive(Clone)]
pub struct ResolvedTenant(pub Arc<Tenant>);

async fn resolve_tenant(
    state: &AppState,
    addressed: Addressed,
    uri: &Uri,
) -> Result<Resolution, app::db::DbError> {
    if addressed == Addressed::Malformed {
        return Ok(Resolution::Malformed);
    }
    let prefix = split_path_prefix(uri.path());
    if addressed == Addressed::Platform && prefix.is_none() {
        return Ok(Resolution::Platform); // the platform's own pages need no lookup
    }
    let by_host = match &addressed {
        Addressed::Subdomain(label) => {
            let Ok(slug) = Slug::parse(label) else {
                return Ok(Resolution::UnknownTenant);
            };
            match lookup(state, Key::Slug(slug.as_str().to_owned())).await? {
                Some(tenant) => Some(tenant),
                None => return Ok(Resolution::UnknownTenant),
            }
        }
        Addressed::OtherHost(host) => lookup(state, Key::Domain(host.clone())).await?,
        Addressed::Platform | Addressed::Malformed => None,
    };
    if let Some(tenant) = by_host {
        let host = match &addressed {
            // Found by its verified domain: the row's value, equal to the host.
            Addressed::OtherHost(_) => tenant.custom_domain.clone().unwrap_or_default(),
            _ => format!("{}.{}", tenant.slug, state.config.base_domain),
        };
        return Ok(Resolution::Tenant {
            origin: state.config.origin_of(&host),
            tenant,
            path_base: None,
        });
    }
    // A host that is neither ours nor any clinic's domain serves nothing (a removed
    // custom domain, a stray DNS record).
    if matches!(addressed, Addressed::OtherHost(_)) {
        return Ok(Resolution::UnknownTenant);
    }
    let Some((label, _)) = prefix else {
        return Ok(Resolution::Platform);
    };
    let Ok(slug) = Slug::parse(label) else {
        return Ok(Resolution::UnknownTenant);
    };
    Ok(
        match lookup(state, Key::Slug(slug.as_str().to_owned())).await? {
            Some(tenant) => Resolution::Tenant {
                path_base: Some(format!("/t/{}", tenant.slug)),
                origin: state.config.platform_origin(),
                tenant,
            },
            None => Resolution::UnknownTenant,
        },
    )
}

/// The tenant at `key`, from the short memory when it is fresh.
async fn lookup(state: &AppState, key: Key) -> Result<Option<Arc<Tenant>>, app::db::DbError> {
    // Read before the lookup: a commit while it runs leaves the entry stale.
    let generation = state.db.platform_generation();
    if let Some(known) = state.tenants.get(&key, generation) {
        return Ok(known);
    }
    let mut tx = state.db.begin_platform_read().await?;
    let found = match &key {
        Key::Slug(slug) => match Slug::parse(slug) {
            Ok(slug) => tenancy::db::find_by_slug(&mut tx, &slug).await?,
            Err(_) => None,
        },
        Key::Domain(host) => tenancy::db::find_by_domain(&mut tx, host).await?,
    }
    .map(Arc::new);
    drop(tx);
    state.tenants.put(key, generation, found.clone());
    Ok(found)
}

/// `/t/acme/staff?x=1` → `/staff?x=1`.
fn strip_base(uri: &Uri, base: &str) -> Option<Uri> {
    let path = uri.path().strip_prefix(base)?;
    let path = if path.is_empty() { "/" } else { path };
    if !path.starts_with('/') {
        return None;
    }
    let path_and_query = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    path_and_query.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_hosts_against_the_base_domain() {
        let base = "medisync.example";
        assert_eq!(
            classify_host(Some("medisync.example"), base),
            Addressed::Platform
        );
        assert_eq!(
            classify_host(Some("www.medisync.example"), base),
            Addressed::Platform
        );
        assert_eq!(
            classify_host(Some("MediSync.Example:443"), base),
            Addressed::Platform
        );
        assert_eq!(classify_host(None, base), Addressed::Platform);
        assert_eq!(
            classify_host(Some("127.0.0.1:3000"), base),
            Addressed::Platform
        );
        assert_eq!(classify_host(Some("[::1]:3000"), base), Addressed::Platform);
        assert_eq!(
            classify_host(Some("acme.medisync.example"), base),
            Addressed::Subdomain("acme".into())
        );
        assert_eq!(
            classify_host(Some("a.b.medisync.example"), base),
            Addressed::Subdomain("a.b".into())
        );
        assert_eq!(
            classify_host(Some("portal.acme-clinic.com"), base),
            Addressed::OtherHost("portal.acme-clinic.com".into())
        );
        // A host merely ending in the base domain's text is not a subdomain.
        assert_eq!(
            classify_host(Some("evilmedisync.example"), base),
            Addressed::OtherHost("evilmedisync.example".into())
        );
        assert_eq!(
            classify_host(Some("acme.localhost:3000"), "localhost"),
            Addressed::Subdomain("acme".into())
        );
        assert_eq!(
            classify_host(Some("localhost:3000"), "localhost"),
            Addressed::Platform
        );
    }

    #[test]
    fn only_real_ipv6_literals_and_plain_names_are_hosts() {
        let base = "medisync.example";
        for ok in ["[::1]", "[::1]:3000", "[2001:db8::7]:443"] {
            assert_eq!(classify_host(Some(ok), base), Addressed::Platform, "{ok}");
        }
        for bad in [
            "[::1]@evil.example",
            "[::1]@evil.example:80",
            "[evil.example]",
            "[::1]x",
            "[::1]:80:80",
            "[::1",
            "[]",
            "evil.example@medisync.example",
            "acme.medisync.example:http",
            "acme.medisync.example:",
            "acme.medisync.example:123456",
            "acme medisync.example",
            "acme.medisync.example/x",
            "acme_x.medisync.example",
            "",
        ] {
            assert_eq!(
                classify_host(Some(bad), base),
                Addressed::Malformed,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn splits_the_path_prefix() {
        assert_eq!(split_path_prefix("/t/acme/staff"), Some(("acme", "/staff")));
        assert_eq!(split_path_prefix("/t/acme"), Some(("acme", "/")));
        assert_eq!(split_path_prefix("/staff"), None);
        assert_eq!(split_path_prefix("/tenants"), None);
    }

    #[test]
    fn strips_the_base_and_keeps_the_query() {
        let uri: Uri = "/t/acme/api/fn?x=1".parse().expect("uri");
        assert_eq!(
            strip_base(&uri, "/t/acme").expect("stripped"),
            "/api/fn?x=1"
        );
        let uri: Uri = "/t/acme".parse().expect("uri");
        assert_eq!(strip_base(&uri, "/t/acme").expect("stripped"), "/");
        let uri: Uri = "/t/acmex/staff".parse().expect("uri");
        assert_eq!(strip_base(&uri, "/t/acme"), None);
    }
}
