//! Practitioners' private calendar feeds: `/calendar/feed` (the signed-in
//! practitioner makes or revokes their link) and `/calendar/{secret}.ics` (the
//! feed their calendar app reads). `app::scheduling::feed` holds the rest.

use std::net::IpAddr;

use axum::body::{to_bytes, Body};
use axum::extract::{Path, Request, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use http::{header, HeaderValue};
use uuid::Uuid;

use app::identity::audit::{self, Actor};
use app::identity::Standing;
use app::scheduling::feed::{self, Shown};
use app::site::SiteInfo;
use app::tenancy::TenantPublic;

use crate::{status_pages, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/calendar/feed", get(feed_page).post(change_feed))
        .route("/calendar/{file}", get(calendar))
}

/// A calendar app polls every few minutes; ten times the per-minute allowance.
const FEED_ALLOWANCE: u32 = 10;

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

/// The signed-in staff member of this clinic, or where to send the visitor.
struct Member {
    tenant: TenantPublic,
    base: String,
    staff: Uuid,
    account: Uuid,
    email: String,
}

fn member(req: &Request) -> Result<Member, Box<Response>> {
    let site: SiteInfo = crate::site_of(req);
    let Some(tenant) = site.tenant else {
        return Err(Box::new(status_pages::not_found()));
    };
    let signin = Box::new(Redirect::to(&format!("{}/signin", site.base)).into_response());
    let Some(viewer) = site.viewer else {
        return Err(signin);
    };
    match viewer.standing {
        // An operator's support session acts for the clinic, not as one of its practitioners.
        Standing::Staff { member_id, .. }
            if viewer.support.is_none() && !viewer.must_set_up_two_factor =>
        {
            Ok(Member {
                tenant,
                base: site.base,
                staff: member_id,
                account: viewer.account_id,
                email: viewer.email.to_string(),
            })
        }
        Standing::Staff { .. } => Err(Box::new(status_pages::forbidden())),
        _ => Err(signin),
    }
}

fn show(m: &Member, shown: Shown<'_>) -> Response {
    let html = feed::page(&m.tenant.name, crate::assets::stylesheet(), &m.base, shown);
    no_store(Html(html).into_response())
}

/// `GET /calendar/feed`: whether the signed-in practitioner's feed is on.
async fn feed_page(State(state): State<AppState>, req: Request<Body>) -> Response {
    let m = match member(&req) {
        Ok(m) => m,
        Err(refused) => return *refused,
    };
    let shown = async {
        let mut tx = state.db.begin_for_read(m.tenant.id).await?;
        if !feed::is_practitioner(&mut tx, m.staff).await? {
            return Ok(None);
        }
        feed::made_at(&mut tx, m.staff).await.map(Some)
    }
    .await;
    match shown {
        Ok(None) => show(&m, Shown::NotPractitioner),
        Ok(Some(None)) => show(&m, Shown::Off),
        Ok(Some(Some(made))) => {
            let made = m.tenant.settings.format_date(made);
            show(&m, Shown::On { made: &made })
        }
        Err::<_, app::db::DbError>(e) => {
            tracing::error!(error = %e, "calendar feed page");
            status_pages::unavailable()
        }
    }
}

/// `POST /calendar/feed` (`action` = `renew` or `revoke`).
async fn change_feed(State(state): State<AppState>, req: Request<Body>) -> Response {
    let m = match member(&req) {
        Ok(m) => m,
        Err(refused) => return *refused,
    };
    let meta = crate::meta_of(&req);
    let Ok(body) = to_bytes(req.into_body(), 4096).await else {
        return status_pages::not_found();
    };
    let renew = form_urlencoded::parse(&body).any(|(k, v)| k == "action" && v == "renew");
    let done = async {
        let mut tx = state.db.begin_for(m.tenant.id).await?;
        if !feed::is_practitioner(&mut tx, m.staff).await? {
            return Ok(None);
        }
        let actor = Actor::account(m.account, &m.email);
        let token = if renew {
            let token = feed::renew(&mut tx, m.staff, Utc::now()).await?;
            audit::record(&mut tx, actor, "calendar_feed.created", None, &meta).await?;
            Some(token)
        } else {
            if feed::revoke(&mut tx, m.staff).await? {
                audit::record(&mut tx, actor, "calendar_feed.revoked", None, &meta).await?;
            }
            None
        };
        tx.commit().await?;
        Ok(Some(token))
    }
    .await;
    match done {
        Ok(None) => show(&m, Shown::NotPractitioner),
        Ok(Some(Some(token))) => {
            let url = format!(
                "{}/t/{}/calendar/{token}.ics",
                crate::platform_origin(&state.config),
                m.tenant.slug
            );
            show(&m, Shown::Made { url: &url })
        }
        Ok(Some(None)) => show(&m, Shown::Off),
        Err::<_, app::db::DbError>(e) => {
            tracing::error!(error = %e, "calendar feed change");
            status_pages::unavailable()
        }
    }
}

/// `GET /calendar/{secret}.ics`: the feed, for whoever holds the secret.
async fn calendar(
    State(state): State<AppState>,
    Path(file): Path<String>,
    req: Request<Body>,
) -> Response {
    let site: SiteInfo = crate::site_of(&req);
    let (Some(tenant), Some(token)) = (site.tenant, file.strip_suffix(".ics")) else {
        return status_pages::not_found();
    };
    let ip = crate::auth::client_ip(&state.config, &req).unwrap_or(IpAddr::from([0, 0, 0, 0]));
    if let Err(refused) =
        crate::ratelimit::secret_link(&state, "calendar_feed", ip, FEED_ALLOWANCE).await
    {
        return refused;
    }
    let origin = crate::platform_origin(&state.config);
    let answer = async {
        let mut tx = state.db.begin_for_read(tenant.id).await?;
        let Some(staff) = feed::owner(&mut tx, token).await? else {
            return Ok(None);
        };
        feed::calendar(&mut tx, &tenant.name, staff, &origin, Utc::now())
            .await
            .map(Some)
    }
    .await;
    match answer {
        Ok(Some(ics)) => no_store(
            (
                [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")],
                ics,
            )
                .into_response(),
        ),
        Ok(None) => status_pages::not_found(),
        Err::<_, app::db::DbError>(e) => {
            tracing::error!(error = %e, "calendar feed");
            status_pages::unavailable()
        }
    }
}
