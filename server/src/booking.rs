//! `/book` (a stable address): the clinic's public booking pages, answered
//! here as plain HTML (`app::booking` holds the steps and the markup).
//!
//! Every post is counted against the caller's address with the server's rate
//! limiter; a refused or mistaken step shows the page again with the message,
//! what was typed kept in the form (never in an address).

use std::collections::HashMap;
use std::net::IpAddr;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, NaiveDate, Utc};
use http::{header, HeaderValue, StatusCode};
use uuid::Uuid;

use app::booking::db::Pick;
use app::booking::flow::{self, Filter, Typed};
use app::booking::page::{self, Frame};
use app::error::AppError;
use app::site::SiteInfo;
use app::tenancy::TenantPublic;

use crate::{status_pages, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/book", get(offer))
        .route("/book/details", get(details_form).post(details_post))
        .route("/book/verify", get(verify_form).post(verify_post))
        .route("/book/manage", get(manage))
        .route("/book/mine", get(mine))
        .route("/book/cancel", axum::routing::post(cancel))
        .route("/book/waitlist", axum::routing::post(waitlist))
}

/// The most a booking form's body may hold.
const MAX_FORM_BYTES: usize = 16 * 1024;

/// The request's clinic, address base and query.
struct Visit {
    tenant: TenantPublic,
    base: String,
    query: HashMap<String, String>,
    ip: IpAddr,
    meta: app::identity::audit::RequestMeta,
    /// A patient of this clinic signed in to the portal: they book as themselves.
    patient: Option<Patient>,
}

struct Patient {
    id: Uuid,
    account: Uuid,
    email: String,
    name: String,
}

impl Visit {
    fn of(state: &AppState, req: &Request) -> Option<Self> {
        let site: SiteInfo = crate::site_of(req);
        let tenant = site.tenant?;
        let patient = site.viewer.and_then(|v| match v.standing {
            app::identity::Standing::Patient { patient_id } => Some(Patient {
                id: patient_id,
                account: v.account_id,
                email: v.email.to_string(),
                name: v.display_name,
            }),
            _ => None,
        });
        let query = req
            .uri()
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        Some(Self {
            tenant,
            base: site.base,
            query,
            ip: crate::auth::client_ip(&state.config, req).unwrap_or(IpAddr::from([0, 0, 0, 0])),
            meta: crate::meta_of(req),
            patient,
        })
    }

    fn frame(&self) -> Frame<'_> {
        Frame {
            tenant: &self.tenant,
            base: &self.base,
            stylesheet: crate::assets::stylesheet(),
            patient: self.patient.as_ref().map(|p| p.name.as_str()),
            moving: self.patient.as_ref().and(self.id("move")),
        }
    }

    fn own(&self) -> Option<flow::Own<'_>> {
        self.patient.as_ref().map(|p| flow::Own {
            patient: p.id,
            account: p.account,
            email: &p.email,
        })
    }

    /// A short page: why the step cannot go on.
    fn say(&self, status: StatusCode, title: &str, text: &str) -> Response {
        html(status, page::message(&self.frame(), title, text))
    }

    fn id(&self, key: &str) -> Option<Uuid> {
        self.query.get(key).and_then(|v| v.trim().parse().ok())
    }

    fn origin(&self, state: &AppState) -> String {
        crate::platform_origin(&state.config)
    }
}

fn html(status: StatusCode, body: String) -> Response {
    let mut res = (status, Html(body)).into_response();
    let headers = res.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The manage link's secret must not leave in a Referer.
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    res
}

/// The status a refusal is shown with.
fn status_of(e: &AppError) -> StatusCode {
    StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST)
}

/// A step that cannot go on: the clinic without online booking is a 404, a
/// database failure the "unavailable" page, anything else its message.
fn refusal(v: &Visit, title: &str, e: &AppError) -> Response {
    match e {
        AppError::NotFound => v.say(
            StatusCode::NOT_FOUND,
            "Not available",
            "this clinic does not take bookings online here; please call the clinic",
        ),
        AppError::Internal => {
            tracing::error!("booking step failed");
            status_pages::unavailable()
        }
        other => v.say(status_of(other), title, &other.to_string()),
    }
}

/// Pages are browsed more often than forms are sent: they get ten times the
/// server's per-minute allowance.
const PAGE_ALLOWANCE: u32 = 10;

async fn over_limit(state: &AppState, v: &Visit, endpoint: &'static str) -> Option<Response> {
    let counted = if endpoint == "book_page" {
        crate::ratelimit::RateLimiter::new(
            state
                .config
                .rate_limit_per_minute
                .saturating_mul(PAGE_ALLOWANCE),
            std::time::Duration::from_secs(60),
        )
        .allow(&state.db, endpoint, v.ip)
        .await
    } else {
        state.limiter.allow(&state.db, endpoint, v.ip).await
    };
    match counted {
        Ok(true) => None,
        Ok(false) => {
            let mut res = v.say(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many tries",
                "too many tries from your network; wait a minute and try again",
            );
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
            Some(res)
        }
        Err(e) => {
            tracing::error!(error = %e, "booking rate limit could not be counted");
            Some(status_pages::unavailable())
        }
    }
}

/// The visit a request makes, counted against its address; refused on the
/// platform's own site (no clinic) and over the limit.
async fn enter(
    state: &AppState,
    visit: Option<Visit>,
    endpoint: &'static str,
) -> Result<Visit, Response> {
    let Some(v) = visit else {
        return Err(status_pages::not_found());
    };
    match over_limit(state, &v, endpoint).await {
        Some(refused) => Err(refused),
        None => Ok(v),
    }
}

/// A form post counted against its sender (`endpoint`), with its fields; the
/// page titled `title` says so when the form cannot be read.
async fn posted(
    state: &AppState,
    req: Request,
    endpoint: &'static str,
    title: &str,
) -> Result<(Visit, HashMap<String, String>), Box<Response>> {
    let v = enter(state, Visit::of(state, &req), endpoint)
        .await
        .map_err(Box::new)?;
    match form_of(req).await {
        Some(fields) => Ok((v, fields)),
        None => Err(Box::new(v.say(
            StatusCode::BAD_REQUEST,
            title,
            "the form could not be read; please try again",
        ))),
    }
}

async fn form_of(req: Request) -> Option<HashMap<String, String>> {
    let bytes = to_bytes(req.into_body(), MAX_FORM_BYTES).await.ok()?;
    Some(form_urlencoded::parse(&bytes).into_owned().collect())
}

fn pick_of(fields: &HashMap<String, String>) -> Option<Pick> {
    let id = |k: &str| fields.get(k).and_then(|v| v.trim().parse::<Uuid>().ok());
    let start = fields
        .get("start")
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))?;
    Some(Pick {
        type_id: id("type")?,
        staff_id: id("staff")?,
        location_id: id("location")?,
        starts_at: start,
    })
}

/// `GET /book`: the soonest times, or a week of one type's (`?type=`).
async fn offer(State(state): State<AppState>, req: Request<Body>) -> Response {
    let v = match enter(&state, Visit::of(&state, &req), "book_page").await {
        Ok(v) => v,
        Err(refused) => return refused,
    };
    let now = Utc::now();
    let Some(type_id) = v.id("type") else {
        return match flow::soonest(&state.db, &v.tenant, now).await {
            Ok(choices) => html(StatusCode::OK, page::soonest(&v.frame(), &choices)),
            Err(e) => refusal(&v, "Book an appointment", &e),
        };
    };
    let filter = Filter {
        type_id: Some(type_id),
        staff_id: v.id("staff"),
        location_id: v.id("location"),
        from: v
            .query
            .get("from")
            .and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok()),
    };
    match flow::week(&state.db, &v.tenant, filter, now).await {
        Ok(week) => html(StatusCode::OK, page::week(&v.frame(), &week)),
        Err(e) => refusal(&v, "Book an appointment", &e),
    }
}

/// The details step for a chosen time, or word that it went meanwhile.
async fn details_page(
    state: &AppState,
    v: &Visit,
    pick: Option<Pick>,
    typed: &Typed,
    error: Option<&AppError>,
) -> Response {
    let gone = || {
        v.say(
            StatusCode::CONFLICT,
            "That time is not free",
            "that time is no longer free online; please choose another",
        )
    };
    let Some(pick) = pick else {
        return gone();
    };
    let (time, type_name) = match flow::chosen(&state.db, &v.tenant, &pick, Utc::now()).await {
        Ok(Some(found)) => found,
        Ok(None) => return gone(),
        Err(e) => return refusal(v, "Your details", &e),
    };
    let (message, field) = match error {
        Some(AppError::Field(name, m)) => (None, Some((name.as_str(), m.as_str()))),
        Some(other) => (Some(other.to_string()), None),
        None => (None, None),
    };
    let status = error.map_or(StatusCode::OK, status_of);
    let message = message.or_else(|| field.map(|(_, m)| m.to_owned()));
    if let Some(own) = v.own() {
        let moving = match v.frame().moving {
            Some(id) => match flow::own_booking(&state.db, &v.tenant, &own, id, Utc::now()).await {
                Ok(b) => Some(b),
                Err(e) => return refusal(v, "Move your visit", &e),
            },
            None => None,
        };
        let body = page::details_own(
            &v.frame(),
            &time,
            &type_name,
            moving.as_ref(),
            message.as_deref(),
        );
        return html(status, body);
    }
    html(
        status,
        page::details(
            &v.frame(),
            &time,
            &type_name,
            typed,
            message.as_deref(),
            field,
        ),
    )
}

/// `GET /book/details?type=&location=&staff=&start=`: who is coming.
async fn details_form(State(state): State<AppState>, req: Request<Body>) -> Response {
    let v = match enter(&state, Visit::of(&state, &req), "book_page").await {
        Ok(v) => v,
        Err(refused) => return refused,
    };
    let pick = pick_of(&v.query);
    details_page(&state, &v, pick, &Typed::default(), None).await
}

/// `POST /book/details`: holds the time and emails the code; on to the code page.
async fn details_post(State(state): State<AppState>, req: Request<Body>) -> Response {
    let (v, fields) = match posted(&state, req, "book_request", "Your details").await {
        Ok(posted) => posted,
        Err(refused) => return *refused,
    };
    let text = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let typed = Typed {
        given_name: text("given_name"),
        family_name: text("family_name"),
        birth_date: text("birth_date"),
        sex: text("sex"),
        email: text("email"),
        phone: text("phone"),
    };
    let pick = pick_of(&fields);
    // A form robot fills the hidden field; a person never sees it.
    if !text("website").trim().is_empty() {
        return details_page(
            &state,
            &v,
            pick,
            &typed,
            Some(&AppError::Invalid("the form could not be sent".into())),
        )
        .await;
    }
    let Some(chosen) = pick else {
        return details_page(&state, &v, None, &typed, None).await;
    };
    if let Some(own) = v.own() {
        let moving = fields
            .get("move")
            .and_then(|m| m.trim().parse::<Uuid>().ok());
        return match flow::book_own(
            &state.db,
            &v.tenant,
            &own,
            &chosen,
            moving,
            &v.meta,
            Utc::now(),
        )
        .await
        {
            Ok(_) => {
                let done = if moving.is_some() { "moved" } else { "booked" };
                Redirect::to(&format!("{}/book/mine?done={done}", v.base)).into_response()
            }
            Err(AppError::Taken(m)) => v.say(StatusCode::CONFLICT, "That time was just taken", &m),
            Err(e @ (AppError::Field(..) | AppError::Invalid(_))) => {
                details_page(&state, &v, Some(chosen), &typed, Some(&e)).await
            }
            Err(e) => refusal(&v, "Book this time", &e),
        };
    }
    let origin = v.origin(&state);
    match flow::request(
        &state.db,
        &v.tenant,
        &chosen,
        typed.clone(),
        &origin,
        Utc::now(),
    )
    .await
    {
        Ok(id) => Redirect::to(&format!("{}/book/verify?request={id}", v.base)).into_response(),
        Err(AppError::Taken(m)) => v.say(StatusCode::CONFLICT, "That time was just taken", &m),
        Err(e @ (AppError::Field(..) | AppError::Invalid(_))) => {
            details_page(&state, &v, Some(chosen), &typed, Some(&e)).await
        }
        Err(e) => refusal(&v, "Your details", &e),
    }
}

async fn verify_page(
    state: &AppState,
    v: &Visit,
    request: Option<Uuid>,
    error: Option<&AppError>,
) -> Response {
    let expired = || {
        v.say(
            StatusCode::GONE,
            "This request has ended",
            "this booking request has expired or was finished; please choose a time again",
        )
    };
    let Some(request) = request else {
        return expired();
    };
    let time = match flow::waiting(&state.db, &v.tenant, request, Utc::now()).await {
        Ok(Some(time)) => time,
        Ok(None) => return expired(),
        Err(e) => return refusal(v, "Check your email", &e),
    };
    let minutes = hold_minutes(state, &v.tenant).await;
    let status = error.map_or(StatusCode::OK, status_of);
    let message = error.map(ToString::to_string);
    html(
        status,
        page::verify(&v.frame(), request, &time, minutes, message.as_deref()),
    )
}

async fn hold_minutes(state: &AppState, tenant: &TenantPublic) -> i32 {
    let Ok(mut tx) = state.db.begin_for_read(tenant.id).await else {
        return 10;
    };
    app::scheduling::db::rules(&mut tx)
        .await
        .map_or(10, |r| r.hold_minutes)
}

/// `GET /book/verify?request=`: the code form.
async fn verify_form(State(state): State<AppState>, req: Request<Body>) -> Response {
    let v = match enter(&state, Visit::of(&state, &req), "book_page").await {
        Ok(v) => v,
        Err(refused) => return refused,
    };
    verify_page(&state, &v, v.id("request"), None).await
}

/// `POST /book/verify`: books the visit; on to the patient's own page.
async fn verify_post(State(state): State<AppState>, req: Request<Body>) -> Response {
    let (v, fields) = match posted(&state, req, "book_confirm", "Check your email").await {
        Ok(posted) => posted,
        Err(refused) => return *refused,
    };
    let Some(request) = fields
        .get("request")
        .and_then(|r| r.trim().parse::<Uuid>().ok())
    else {
        return verify_page(&state, &v, None, None).await;
    };
    let code = fields.get("code").map_or("", String::as_str);
    let origin = v.origin(&state);
    match flow::confirm(
        &state.db,
        &v.tenant,
        request,
        code,
        &origin,
        &v.meta,
        Utc::now(),
    )
    .await
    {
        Ok(token) => {
            Redirect::to(&format!("{}/book/manage?token={token}&booked=1", v.base)).into_response()
        }
        Err(e @ AppError::Field(..)) => verify_page(&state, &v, Some(request), Some(&e)).await,
        Err(AppError::Taken(m)) => v.say(StatusCode::CONFLICT, "That time was just taken", &m),
        Err(e) => refusal(&v, "Check your email", &e),
    }
}

async fn manage_page(
    state: &AppState,
    v: &Visit,
    token: &str,
    notice: Option<&str>,
    error: Option<&AppError>,
) -> Response {
    match flow::booking(&state.db, &v.tenant, token, Utc::now()).await {
        Ok(b) => {
            let message = error.map(ToString::to_string);
            let status = error.map_or(StatusCode::OK, status_of);
            html(
                status,
                page::manage(&v.frame(), token, &b, notice, message.as_deref()),
            )
        }
        Err(AppError::NotFound) => v.say(
            StatusCode::NOT_FOUND,
            "Booking not found",
            "this link does not lead to a booking; check the link in your email",
        ),
        Err(e) => refusal(v, "Your booking", &e),
    }
}

/// `GET /book/manage?token=`: the booking behind the patient's private link.
async fn manage(State(state): State<AppState>, req: Request<Body>) -> Response {
    let v = match enter(&state, Visit::of(&state, &req), "book_page").await {
        Ok(v) => v,
        Err(refused) => return refused,
    };
    let token = v.query.get("token").cloned().unwrap_or_default();
    let notice = v.query.contains_key("booked").then_some(
        "Your appointment is booked. We have emailed you the confirmation with a calendar entry.",
    );
    manage_page(&state, &v, &token, notice, None).await
}

/// `POST /book/cancel`: the patient cancels through their link.
async fn cancel(State(state): State<AppState>, req: Request<Body>) -> Response {
    let (v, fields) = match posted(&state, req, "book_confirm", "Your booking").await {
        Ok(posted) => posted,
        Err(refused) => return *refused,
    };
    let appointment = fields
        .get("appointment")
        .and_then(|a| a.trim().parse::<Uuid>().ok());
    if let (Some(own), Some(id)) = (v.own(), appointment) {
        return match flow::cancel_own(&state.db, &v.tenant, &own, id, &v.meta, Utc::now()).await {
            Ok(()) => mine_page(&state, &v, Some("Your visit is cancelled."), None).await,
            Err(e @ AppError::Invalid(_)) => mine_page(&state, &v, None, Some(&e)).await,
            Err(e) => refusal(&v, "Your appointments", &e),
        };
    }
    let token = fields.get("token").cloned().unwrap_or_default();
    match flow::cancel(&state.db, &v.tenant, &token, &v.meta, Utc::now()).await {
        Ok(()) => manage_page(&state, &v, &token, Some("Your booking is cancelled."), None).await,
        Err(e @ AppError::Invalid(_)) => manage_page(&state, &v, &token, None, Some(&e)).await,
        Err(e) => refusal(&v, "Your booking", &e),
    }
}

async fn mine_page(
    state: &AppState,
    v: &Visit,
    notice: Option<&str>,
    error: Option<&AppError>,
) -> Response {
    let Some(own) = v.own() else {
        return Redirect::to(&format!("{}/portal/signin", v.base)).into_response();
    };
    let now = Utc::now();
    let shown = match flow::own_visits(&state.db, &v.tenant, &own, now).await {
        Ok(visits) => flow::own_waitlist(&state.db, &v.tenant, &own, now)
            .await
            .map(|waiting| (visits, waiting)),
        Err(e) => Err(e),
    };
    match shown {
        Ok((visits, waiting)) => {
            let message = error.map(ToString::to_string);
            let status = error.map_or(StatusCode::OK, status_of);
            html(
                status,
                page::mine(&v.frame(), &visits, &waiting, notice, message.as_deref()),
            )
        }
        Err(e) => refusal(v, "Your appointments", &e),
    }
}

/// `POST /book/waitlist`: a signed-in patient joins the waitlist or leaves it.
async fn waitlist(State(state): State<AppState>, req: Request<Body>) -> Response {
    let (v, fields) = match posted(&state, req, "book_confirm", "Your appointments").await {
        Ok(posted) => posted,
        Err(refused) => return *refused,
    };
    let Some(own) = v.own() else {
        return Redirect::to(&format!("{}/portal/signin", v.base)).into_response();
    };
    match flow::change_waitlist(&state.db, &v.tenant, &own, &fields, &v.meta, Utc::now()).await {
        Ok(done) => Redirect::to(&format!("{}/book/mine?done={done}", v.base)).into_response(),
        Err(e @ (AppError::Invalid(_) | AppError::Field(..))) => {
            mine_page(&state, &v, None, Some(&e)).await
        }
        Err(e) => refusal(&v, "Your appointments", &e),
    }
}

/// `GET /book/mine`: a signed-in patient's visits, to move or cancel; others
/// are sent to the portal's sign-in.
async fn mine(State(state): State<AppState>, req: Request<Body>) -> Response {
    let v = match enter(&state, Visit::of(&state, &req), "book_page").await {
        Ok(v) => v,
        Err(refused) => return refused,
    };
    let notice = match v.query.get("done").map(String::as_str) {
        Some("booked") => Some("Your visit is booked."),
        Some("moved") => Some("Your visit is moved."),
        Some("waiting") => Some("You are on the waitlist. We will email you when a time frees up."),
        Some("left") => Some("You have left the waitlist."),
        _ => None,
    };
    mine_page(&state, &v, notice, None).await
}
