//! The waitlist: `/waitlist` (the front desk adds and withdraws patients, and
//! sets how long an offer holds its time) and `/waitlist/offer/{secret}` (the
//! page an emailed offer opens, where the patient books the time).
//! `app::scheduling::waitlist` holds the rules, the rows and the markup.

use std::collections::HashMap;
use std::net::IpAddr;

use axum::body::{to_bytes, Body};
use axum::extract::{Path, Request, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use http::StatusCode;
use uuid::Uuid;

use app::error::AppError;
use app::identity::audit::{self, Actor};
use app::identity::permissions::Permission;
use app::scheduling::waitlist::db as waitlist;
use app::scheduling::waitlist::offers::{self, Answer};
use app::scheduling::waitlist::page::{self, Choices, DeskView, OfferView};
use app::scheduling::waitlist::Asked;
use app::tenancy::TenantPublic;

use crate::desk::{form_id, member, private, Member};
use crate::{status_pages, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/waitlist", get(desk_page).post(desk_post))
        .route("/waitlist/offer/{secret}", get(offer_page).post(offer_post))
}

const MAX_FORM_BYTES: usize = 8 * 1024;
/// An offer's link is opened a few times; ten times the per-minute allowance.
const OFFER_ALLOWANCE: u32 = 10;

#[derive(Default)]
struct Said {
    message: Option<String>,
    error: Option<String>,
}

async fn show(state: &AppState, m: &Member, said: Said, status: StatusCode) -> Response {
    let now = Utc::now();
    let today = now.with_timezone(&m.tenant.settings.tz()).date_naive();
    let shown = async {
        let mut tx = state.db.begin_for_read(m.tenant.id).await?;
        let entries = waitlist::list(&mut tx, now - chrono::Duration::days(7)).await?;
        let types: Vec<(Uuid, String)> = app::scheduling::db::types(&mut tx)
            .await?
            .into_iter()
            .filter(|t| t.active)
            .map(|t| (t.id, t.name))
            .collect();
        let locations: Vec<(Uuid, String)> = app::scheduling::db::locations(&mut tx)
            .await?
            .into_iter()
            .filter(|l| l.active)
            .map(|l| (l.id, l.name))
            .collect();
        let practitioners: Vec<(Uuid, String)> = app::scheduling::db::practitioners(&mut tx)
            .await?
            .into_iter()
            .filter(|p| p.active)
            .map(|p| (p.staff_id, p.name))
            .collect();
        let (search, found) = crate::desk::searched(&mut tx, m).await?;
        let minutes = waitlist::offer_minutes(&mut tx).await?;
        tx.commit().await?;
        Ok::<_, AppError>((
            entries,
            types,
            locations,
            practitioners,
            search,
            found,
            minutes,
        ))
    }
    .await;
    let (entries, types, locations, practitioners, search, found, minutes) = match shown {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "waitlist page");
            return status_pages::unavailable();
        }
    };
    let html = page::desk(&DeskView {
        tenant: &m.tenant,
        base: &m.base,
        stylesheet: crate::assets::stylesheet(),
        entries: &entries,
        choices: Choices {
            types: &types,
            locations: &locations,
            practitioners: &practitioners,
        },
        search: search.as_deref(),
        found: &found,
        today,
        offer_minutes: m.viewer.can(Permission::SettingsManage).then_some(minutes),
        message: said.message.as_deref(),
        error: said.error.as_deref(),
    });
    private((status, Html(html)).into_response())
}

async fn desk_page(State(state): State<AppState>, req: Request<Body>) -> Response {
    let m = match member(&req) {
        Ok(m) => m,
        Err(refused) => return *refused,
    };
    let added = req.uri().query().is_some_and(|q| q.contains("added=1"));
    let said = Said {
        message: added.then(|| {
            "Added to the waitlist. Freed time is offered by email, first come first served.".into()
        }),
        error: None,
    };
    show(&state, &m, said, StatusCode::OK).await
}

async fn refused(state: &AppState, m: &Member, e: AppError) -> Response {
    let Some((status, text)) = crate::desk::refusal(&e, "waitlist") else {
        return status_pages::unavailable();
    };
    let said = Said {
        error: Some(text),
        message: None,
    };
    show(state, m, said, status).await
}

/// `POST /waitlist`: `action` = `search`, `add`, `withdraw` or `window`.
async fn desk_post(State(state): State<AppState>, req: Request<Body>) -> Response {
    let m = match member(&req) {
        Ok(m) => m,
        Err(refused) => return *refused,
    };
    let Ok(body) = to_bytes(req.into_body(), MAX_FORM_BYTES).await else {
        return refused(
            &state,
            &m,
            AppError::Invalid("the form was too large".into()),
        )
        .await;
    };
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let action = form.get("action").map(String::as_str).unwrap_or_default();
    if action != "search" {
        if let Some(why) = crate::queue::cannot_change(&m.tenant) {
            return refused(&state, &m, AppError::Upgrade(why)).await;
        }
    }
    let done = match action {
        "search" => crate::desk::remember_search(&state, &m, form.get("query").cloned())
            .await
            .map(|()| ""),
        "add" => add(&state, &m, &form).await,
        "withdraw" => match form_id(&form, "entry") {
            Ok(entry) => withdraw(&state, &m, entry).await,
            Err(e) => Err(e),
        },
        "window" => window(&state, &m, form.get("minutes").map(String::as_str)).await,
        _ => Err(AppError::field("action", "unknown step")),
    };
    match done {
        Ok(to) => Redirect::to(&format!("{}/waitlist{to}", m.base)).into_response(),
        Err(e) => refused(&state, &m, e).await,
    }
}

async fn add(
    state: &AppState,
    m: &Member,
    form: &HashMap<String, String>,
) -> Result<&'static str, AppError> {
    let patient = form_id(form, "patient")?;
    let asked = Asked::read(form)?;
    let today = Utc::now()
        .with_timezone(&m.tenant.settings.tz())
        .date_naive();
    let mut tx = state.db.begin_for(m.tenant.id).await?;
    app::scheduling::waitlist::ensure_visible(&mut tx, &m.viewer, patient).await?;
    let entry = asked
        .entry(&mut tx, patient, today, ("desk", Some(m.staff), None))
        .await?;
    waitlist::add(&mut tx, &entry, Utc::now()).await?;
    m.audit_patient(&mut tx, patient, "waitlist.joined", None)
        .await?;
    tx.commit().await?;
    Ok("?added=1")
}

async fn withdraw(state: &AppState, m: &Member, entry: Uuid) -> Result<&'static str, AppError> {
    let now = Utc::now();
    let mut tx = state.db.begin_for(m.tenant.id).await?;
    let e = waitlist::entry(&mut tx, entry)
        .await?
        .ok_or(AppError::NotFound)?;
    app::scheduling::waitlist::ensure_visible(&mut tx, &m.viewer, e.patient_id).await?;
    app::scheduling::waitlist::withdraw(&mut tx, &e, now).await?;
    m.audit_patient(&mut tx, e.patient_id, "waitlist.withdrawn", None)
        .await?;
    tx.commit().await?;
    Ok("")
}

async fn window(
    state: &AppState,
    m: &Member,
    minutes: Option<&str>,
) -> Result<&'static str, AppError> {
    if !m.viewer.can(Permission::SettingsManage) {
        return Err(AppError::Forbidden);
    }
    let minutes = minutes
        .and_then(|v| v.trim().parse::<i32>().ok())
        .filter(|v| (5..=1440).contains(v))
        .ok_or_else(|| AppError::field("minutes", "give a number of minutes from 5 to 1440"))?;
    let mut tx = state.db.begin_for(m.tenant.id).await?;
    waitlist::set_offer_minutes(&mut tx, minutes).await?;
    audit::record(
        &mut tx,
        Actor::account(m.viewer.account_id, m.viewer.email.as_str()),
        "waitlist.window_changed",
        Some(&minutes.to_string()),
        &m.meta,
    )
    .await?;
    tx.commit().await?;
    Ok("")
}

/// The clinic an offer's link is for, counted against the caller's address.
async fn offer_site(
    state: &AppState,
    tenant: Option<TenantPublic>,
    ip: IpAddr,
) -> Result<TenantPublic, Response> {
    let Some(tenant) = tenant else {
        return Err(status_pages::not_found());
    };
    crate::ratelimit::secret_link(state, "waitlist_offer", ip, OFFER_ALLOWANCE).await?;
    Ok(tenant)
}

fn caller(state: &AppState, req: &Request) -> (Option<TenantPublic>, String, IpAddr) {
    let site = crate::site_of(req);
    let ip = crate::auth::client_ip(&state.config, req).unwrap_or(IpAddr::from([0, 0, 0, 0]));
    (site.tenant, site.base, ip)
}

async fn shown(
    state: &AppState,
    tenant: &TenantPublic,
    secret: &str,
) -> Result<Option<offers::Shown>, app::db::DbError> {
    let mut tx = state.db.begin_for_read(tenant.id).await?;
    let shown = offers::show(&mut tx, tenant, secret).await?;
    tx.commit().await?;
    Ok(shown)
}

/// `GET /waitlist/offer/{secret}`: the offered time, and a button to book it.
async fn offer_page(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    req: Request<Body>,
) -> Response {
    let (tenant, base, ip) = caller(&state, &req);
    let tenant = match offer_site(&state, tenant, ip).await {
        Ok(t) => t,
        Err(refused) => return refused,
    };
    let s = match shown(&state, &tenant, &secret).await {
        Ok(Some(s)) => s,
        Ok(None) => return status_pages::not_found(),
        Err(e) => {
            tracing::error!(error = %e, "waitlist offer");
            return status_pages::unavailable();
        }
    };
    let css = crate::assets::stylesheet();
    let now = Utc::now();
    let view = match s.offer.state() {
        app::scheduling::waitlist::OfferState::Open if s.offer.expires_at > now => {
            OfferView::Open(&s)
        }
        app::scheduling::waitlist::OfferState::Accepted => {
            return private(
                Html(page::offer(
                    &tenant,
                    css,
                    &base,
                    OfferView::Answered(&Answer::Booked(Uuid::nil()), Some(&s)),
                ))
                .into_response(),
            )
        }
        app::scheduling::waitlist::OfferState::Taken => {
            return private(
                Html(page::offer(
                    &tenant,
                    css,
                    &base,
                    OfferView::Answered(&Answer::Taken, None),
                ))
                .into_response(),
            )
        }
        _ => {
            return private(
                Html(page::offer(
                    &tenant,
                    css,
                    &base,
                    OfferView::Answered(&Answer::Expired, None),
                ))
                .into_response(),
            )
        }
    };
    private(Html(page::offer(&tenant, css, &base, view)).into_response())
}

/// `POST /waitlist/offer/{secret}`: books the offered time.
async fn offer_post(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    req: Request<Body>,
) -> Response {
    let (tenant, base, ip) = caller(&state, &req);
    let tenant = match offer_site(&state, tenant, ip).await {
        Ok(t) => t,
        Err(refused) => return refused,
    };
    let origin = crate::platform_origin(&state.config);
    let answer = offers::accept(&state.db, &tenant, &secret, &origin, Utc::now()).await;
    let css = crate::assets::stylesheet();
    match answer {
        Ok(answer) => {
            let s = shown(&state, &tenant, &secret).await.ok().flatten();
            let status = match answer {
                Answer::Booked(_) => StatusCode::OK,
                Answer::Taken | Answer::Expired => StatusCode::CONFLICT,
            };
            private(
                (
                    status,
                    Html(page::offer(
                        &tenant,
                        css,
                        &base,
                        OfferView::Answered(&answer, s.as_ref()),
                    )),
                )
                    .into_response(),
            )
        }
        Err(AppError::NotFound) => status_pages::not_found(),
        Err(e) => {
            tracing::error!(error = %e, "waitlist offer answer");
            status_pages::unavailable()
        }
    }
}
