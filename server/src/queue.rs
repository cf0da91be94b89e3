//! The waiting-room queue: `/queue` (the front desk's page: walk-in tokens and
//! the day's lines) and `/queue/board/{secret}` (the waiting room's screen,
//! kept live by server-sent events at `…/events`). `app::scheduling::queue`
//! holds the rules, the rows and the markup.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{Path, Request, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use http::StatusCode;
use uuid::Uuid;

use app::error::AppError;
use app::identity::audit::{self, Actor};
use app::scheduling::queue::desk::Desk;
use app::scheduling::queue::page::{self, Board, DeskView};
use app::scheduling::queue::{self, Action};
use app::tenancy::TenantPublic;

use crate::desk::{form_id, member, private, Member};
use crate::security::RequestNonce;
use crate::{status_pages, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/queue", get(desk_page).post(desk_post))
        .route("/queue/board/{secret}", get(board_page))
        .route("/queue/board/{secret}/events", get(board_events))
}

/// The most a desk form's body may hold.
const MAX_FORM_BYTES: usize = 8 * 1024;
/// How often an open screen looks for a change.
const BOARD_POLL: Duration = Duration::from_secs(2);
/// A screen's event stream ends after this long and the browser reconnects,
/// so a revoked link stops within it at the latest.
const BOARD_STREAM_FOR: Duration = Duration::from_secs(30 * 60);
/// A screen reloads rarely; ten times the per-minute allowance, as for feeds.
const BOARD_ALLOWANCE: u32 = 10;

fn desk_of(m: &Member) -> Desk<'_> {
    Desk {
        tenant: &m.tenant,
        viewer: &m.viewer,
        meta: &m.meta,
    }
}

/// What the desk page shows after a step.
#[derive(Default)]
struct Said {
    message: Option<String>,
    error: Option<String>,
    board_url: Option<String>,
}

async fn show(state: &AppState, m: &Member, said: Said, status: StatusCode) -> Response {
    let now = Utc::now();
    let desk = desk_of(m);
    let shown = async {
        let lines = desk.lines(&state.db, now).await?;
        let mut tx = state.db.begin_for_read(m.tenant.id).await?;
        let practitioners: Vec<(Uuid, String)> = app::scheduling::db::practitioners(&mut tx)
            .await?
            .into_iter()
            .filter(|p| p.active)
            .map(|p| (p.staff_id, p.name))
            .collect();
        let (search, found) = crate::desk::searched(&mut tx, m).await?;
        let made = queue::db::board_made_at(&mut tx).await?;
        tx.commit().await?;
        Ok::<_, AppError>((lines, practitioners, search, found, made))
    }
    .await;
    let (lines, practitioners, search, found, made) = match shown {
        Ok(shown) => shown,
        Err(e) => {
            tracing::error!(error = %e, "queue page");
            return status_pages::unavailable();
        }
    };
    let made = made.map(|t| m.tenant.settings.format_datetime(t));
    let board = match (&said.board_url, &made) {
        (Some(url), _) => Board::Made { url },
        (None, Some(made)) => Board::On { made },
        (None, None) => Board::Off,
    };
    let date_label = desk.today(now).format("%A %-d %B %Y").to_string();
    let html = page::desk(&DeskView {
        tenant: &m.tenant,
        base: &m.base,
        stylesheet: crate::assets::stylesheet(),
        date_label: &date_label,
        lines: &lines,
        now,
        practitioners: &practitioners,
        search: search.as_deref(),
        found: &found,
        message: said.message.as_deref(),
        error: said.error.as_deref(),
        board,
    });
    private((status, Html(html)).into_response())
}

fn query_of(req: &Request) -> HashMap<String, String> {
    req.uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

/// `GET /queue`: the day's lines and the walk-in form.
async fn desk_page(State(state): State<AppState>, req: Request<Body>) -> Response {
    let m = match member(&req) {
        Ok(m) => m,
        Err(refused) => return *refused,
    };
    let query = query_of(&req);
    let message = query
        .get("token")
        .and_then(|t| t.parse::<u16>().ok())
        .map(|t| format!("Token {t} given. It is on the waiting-room screen now."));
    show(
        &state,
        &m,
        Said {
            message,
            ..Said::default()
        },
        StatusCode::OK,
    )
    .await
}

/// A refused step: the page again, with why.
async fn refused(state: &AppState, m: &Member, e: AppError) -> Response {
    let Some((status, text)) = crate::desk::refusal(&e, "queue") else {
        return status_pages::unavailable();
    };
    let said = Said {
        error: Some(text),
        ..Said::default()
    };
    show(state, m, said, status).await
}

/// `POST /queue`: `action` = `search`, `issue`, `act` or `board`.
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
        if let Some(why) = cannot_change(&m.tenant) {
            return refused(&state, &m, AppError::Upgrade(why)).await;
        }
    }
    let now = Utc::now();
    let done = match action {
        "search" => crate::desk::remember_search(&state, &m, form.get("query").cloned())
            .await
            .map(|()| None),
        "issue" => match (form_id(&form, "patient"), form_id(&form, "practitioner")) {
            (Ok(patient), Ok(practitioner)) => desk_of(&m)
                .walk_in(&state.db, practitioner, patient, now)
                .await
                .map(|token| Some(m.href(&format!("/queue?token={token}")))),
            (Err(e), _) | (_, Err(e)) => Err(e),
        },
        "act" => {
            let act = form
                .get("do")
                .and_then(|a| a.parse::<Action>().ok())
                .ok_or_else(|| AppError::field("do", "choose an action from the list"));
            match (form_id(&form, "entry"), act) {
                (Ok(entry), Ok(act)) => desk_of(&m)
                    .act(&state.db, entry, act, now)
                    .await
                    .map(|_| Some(m.href("/queue"))),
                (Err(e), _) | (_, Err(e)) => Err(e),
            }
        }
        "board" => {
            return match board_link(&state, &m, form.get("board").map(String::as_str)).await {
                Ok(url) => {
                    let said = Said {
                        board_url: url,
                        message: None,
                        error: None,
                    };
                    show(&state, &m, said, StatusCode::OK).await
                }
                Err(e) => refused(&state, &m, e).await,
            };
        }
        _ => Err(AppError::field("action", "unknown step")),
    };
    match done {
        Ok(Some(to)) => Redirect::to(&to).into_response(),
        Ok(None) => Redirect::to(&m.href("/queue")).into_response(),
        Err(e) => refused(&state, &m, e).await,
    }
}

/// Why this clinic's records cannot change now (plan or arrears), if so.
pub(crate) fn cannot_change(tenant: &TenantPublic) -> Option<String> {
    if tenant.read_only_at(Utc::now()) {
        return Some(
            "This clinic's records are read-only because MediSync's subscription is unpaid. \
             The clinic's owner can pay on the Plan and usage page."
                .into(),
        );
    }
    let feature = app::plans::Feature::Appointments;
    (!tenant.has(feature)).then(|| {
        format!(
            "{} is not part of this clinic's plan. An owner can upgrade on the Plan and usage page.",
            feature.label()
        )
    })
}

/// Makes (`renew`) or turns off (`revoke`) the screen's link; answers the new
/// address when one was made.
async fn board_link(
    state: &AppState,
    m: &Member,
    what: Option<&str>,
) -> Result<Option<String>, AppError> {
    let mut tx = state.db.begin_for(m.tenant.id).await?;
    let actor = Actor::account(m.viewer.account_id, m.viewer.email.as_str());
    let url = match what {
        Some("renew") => {
            let token = queue::db::renew_board(&mut tx, Utc::now()).await?;
            audit::record(&mut tx, actor, "queue_board.created", None, &m.meta).await?;
            Some(format!(
                "{}/t/{}/queue/board/{token}",
                crate::platform_origin(&state.config),
                m.tenant.slug
            ))
        }
        Some("revoke") => {
            if queue::db::revoke_board(&mut tx).await? {
                audit::record(&mut tx, actor, "queue_board.revoked", None, &m.meta).await?;
            }
            None
        }
        _ => return Err(AppError::field("board", "unknown step")),
    };
    tx.commit().await?;
    Ok(url)
}

/// The clinic a screen's request is for, and the caller's address (read off the
/// request before anything is awaited: a request is not shared across threads).
struct Caller {
    tenant: Option<TenantPublic>,
    ip: IpAddr,
}

impl Caller {
    fn of(state: &AppState, req: &Request) -> Self {
        Self {
            tenant: crate::site_of(req).tenant,
            ip: crate::auth::client_ip(&state.config, req).unwrap_or(IpAddr::from([0, 0, 0, 0])),
        }
    }
}

/// The clinic and whether the secret opens its screen, counted against the
/// caller's address (a wrong secret is a guess).
async fn open_board(
    state: &AppState,
    secret: &str,
    caller: Caller,
) -> Result<TenantPublic, Response> {
    let Caller { tenant, ip } = caller;
    let Some(tenant) = tenant else {
        return Err(status_pages::not_found());
    };
    crate::ratelimit::secret_link(state, "queue_board", ip, BOARD_ALLOWANCE).await?;
    match is_board(state, &tenant, secret).await {
        Ok(true) => Ok(tenant),
        Ok(false) => Err(status_pages::not_found()),
        Err(e) => {
            tracing::error!(error = %e, "queue board");
            Err(status_pages::unavailable())
        }
    }
}

async fn is_board(
    state: &AppState,
    tenant: &TenantPublic,
    secret: &str,
) -> Result<bool, app::db::DbError> {
    let mut tx = state.db.begin_for_read(tenant.id).await?;
    let open = queue::db::is_board(&mut tx, secret).await?;
    tx.commit().await?;
    Ok(open)
}

/// Today's board (its content) and the queue's revision.
async fn board_now(
    state: &AppState,
    tenant: &TenantPublic,
) -> Result<(String, String), app::db::DbError> {
    let now = Utc::now();
    let today = now.with_timezone(&tenant.settings.tz()).date_naive();
    let mut tx = state.db.begin_for_read(tenant.id).await?;
    let revision = queue::db::revision(&mut tx, today).await?;
    let lines = queue::db::day(&mut tx, today, None).await?;
    tx.commit().await?;
    Ok((page::board_content(&lines, now), revision))
}

/// `GET /queue/board/{secret}`: the waiting room's screen.
async fn board_page(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    req: Request<Body>,
) -> Response {
    let nonce = req
        .extensions()
        .get::<RequestNonce>()
        .map(|n| n.0.as_inner().to_string())
        .unwrap_or_default();
    let tenant = match open_board(&state, &secret, Caller::of(&state, &req)).await {
        Ok(t) => t,
        Err(refused) => return refused,
    };
    match board_now(&state, &tenant).await {
        Ok((content, _)) => private(Html(page::board(&tenant, &content, &nonce)).into_response()),
        Err(e) => {
            tracing::error!(error = %e, "queue board");
            status_pages::unavailable()
        }
    }
}

/// `GET /queue/board/{secret}/events`: a `board` event with the screen's new
/// content whenever the queue changes (and once at the start).
async fn board_events(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    req: Request<Body>,
) -> Response {
    let tenant = match open_board(&state, &secret, Caller::of(&state, &req)).await {
        Ok(t) => t,
        Err(refused) => return refused,
    };
    let until = tokio::time::Instant::now() + BOARD_STREAM_FOR;
    let start = (state, tenant, secret, String::new(), true);
    let stream = futures_util::stream::unfold(
        start,
        move |(state, tenant, secret, last, first)| async move {
            if !first {
                tokio::time::sleep(BOARD_POLL).await;
            }
            loop {
                if tokio::time::Instant::now() >= until {
                    return None;
                }
                // A link turned off stops its open screens too.
                if !matches!(is_board(&state, &tenant, &secret).await, Ok(true)) {
                    return None;
                }
                match board_now(&state, &tenant).await {
                    Ok((content, revision)) if revision != last || last.is_empty() => {
                        let event = Event::default().event("board").data(content);
                        return Some((
                            Ok::<_, Infallible>(event),
                            (state, tenant, secret, revision, false),
                        ));
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "queue board events"),
                }
                tokio::time::sleep(BOARD_POLL).await;
            }
        },
    );
    private(
        Sse::new(stream)
            .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
            .into_response(),
    )
}
