//! The queue's pages as plain HTML: the front desk's page (forms, no script)
//! and the waiting-room screen (large type in the clinic's colours, kept live
//! by a few lines of script reading server-sent events; without script it
//! reloads itself). The screen shows token numbers and practitioners' names,
//! never a patient's name.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Action, Line, QueueState};
use crate::tenancy::TenantPublic;
use crate::text::escape_html as escape;

/// A patient the desk's search found.
pub struct Found {
    pub id: Uuid,
    pub name: String,
    pub mrn: String,
    pub born: String,
}

/// What the desk page shows besides the lines.
pub struct DeskView<'a> {
    pub tenant: &'a TenantPublic,
    pub base: &'a str,
    pub stylesheet: &'a str,
    pub date_label: &'a str,
    pub lines: &'a [Line],
    pub now: DateTime<Utc>,
    /// Whoever may be given a token (active practitioners), for the walk-in form.
    pub practitioners: &'a [(Uuid, String)],
    pub search: Option<&'a str>,
    pub found: &'a [Found],
    pub message: Option<&'a str>,
    pub error: Option<&'a str>,
    pub board: Board<'a>,
}

/// The waiting-room screen's link, as the desk sees it.
pub enum Board<'a> {
    Off,
    On {
        made: &'a str,
    },
    /// Just made: the one time its address is shown.
    Made {
        url: &'a str,
    },
}

fn button(name: &str, value: &str, label: &str, testid: &str) -> String {
    format!(
        r#"<button type="submit" name="{}" value="{}" data-testid="{}" class="rounded border border-slate-300 bg-white px-2 py-1 text-sm">{}</button>"#,
        escape(name),
        escape(value),
        escape(testid),
        escape(label)
    )
}

fn state_text(
    line: &Line,
    index_in_waiting: Option<usize>,
    state: QueueState,
    now: DateTime<Utc>,
) -> String {
    match (state, index_in_waiting) {
        (QueueState::Waiting, Some(i)) => format!("Waiting · about {} min", line.wait_of(i, now)),
        _ => state.label().to_owned(),
    }
}

fn line_table(v: &DeskView<'_>, line: &Line) -> String {
    let tz = v.tenant.settings.tz();
    let waiting: Vec<Uuid> = line.waiting().iter().map(|e| e.id).collect();
    let mut rows = String::new();
    for e in &line.entries {
        let booked = e.booked_at.map_or_else(
            || "Walk-in".to_owned(),
            |t| format!("Booked {}", t.with_timezone(&tz).format("%H:%M")),
        );
        let skips = if e.skips > 0 && e.state.is_live() {
            format!(" · skipped {}×", e.skips)
        } else {
            String::new()
        };
        let index = waiting.iter().position(|id| *id == e.id);
        let actions: String = Action::offered(e.state)
            .iter()
            .map(|a| {
                button(
                    "do",
                    a.as_str(),
                    a.label(),
                    &format!("queue-{}", a.as_str()),
                )
            })
            .collect::<Vec<_>>()
            .join(" ");
        let form = if actions.is_empty() {
            String::new()
        } else {
            format!(
                r#"<form method="post" class="flex flex-wrap gap-2"><input type="hidden" name="action" value="act"><input type="hidden" name="entry" value="{}">{actions}</form>"#,
                e.id
            )
        };
        rows.push_str(&format!(
            r#"<tr data-testid="queue-entry" data-token="{token}" data-state="{state}" class="border-t border-slate-200"><td class="py-2 pr-2 text-lg font-semibold">{token}</td><td class="py-2 pr-2">{name}<div class="text-xs text-slate-600">{mrn}</div></td><td class="py-2 pr-2 text-sm">{booked}</td><td class="py-2 pr-2 text-sm">{status}{skips}</td><td class="py-2">{form}</td></tr>"#,
            token = e.token,
            state = e.state.as_str(),
            name = escape(&e.patient_name),
            mrn = escape(&e.mrn),
            booked = escape(&booked),
            status = escape(&state_text(line, index, e.state, v.now)),
        ));
    }
    if rows.is_empty() {
        rows = r#"<tr><td colspan="5" class="py-2 text-sm text-slate-600">Nobody in line yet.</td></tr>"#.into();
    }
    format!(
        r#"<section data-testid="queue-line" class="mt-6 rounded border border-slate-200 bg-white p-4"><h2 class="text-lg font-semibold">{name}</h2><p class="text-sm text-slate-600">About {avg} min a visit today</p><div class="overflow-x-auto"><table class="mt-2 w-full text-left"><thead><tr class="text-sm text-slate-600"><th class="pr-2">Token</th><th class="pr-2">Patient</th><th class="pr-2">Visit</th><th class="pr-2">Status</th><th>Actions</th></tr></thead><tbody>{rows}</tbody></table></div></section>"#,
        name = escape(&line.practitioner),
        avg = line.average_minutes,
    )
}

fn walk_in(v: &DeskView<'_>) -> String {
    let options: String = v
        .practitioners
        .iter()
        .map(|(id, name)| format!(r#"<option value="{id}">{}</option>"#, escape(name)))
        .collect();
    let found: String = v
        .found
        .iter()
        .map(|p| {
            format!(
                r#"<li data-testid="queue-found" class="mt-2 flex flex-wrap items-center gap-2"><span>{name} · {mrn} · {born}</span><form method="post" class="flex flex-wrap items-center gap-2"><input type="hidden" name="action" value="issue"><input type="hidden" name="patient" value="{id}"><label class="text-sm">With <select name="practitioner" class="rounded border border-slate-300 px-2 py-1">{options}</select></label>{give}</form></li>"#,
                name = escape(&p.name),
                mrn = escape(&p.mrn),
                born = escape(&p.born),
                id = p.id,
                give = button("give", "1", "Give a token", "queue-give"),
            )
        })
        .collect();
    let none = match (v.search, v.found.is_empty()) {
        (Some(_), true) => {
            r#"<p class="mt-2 text-sm">No patient matches. Check the spelling, or register the patient first.</p>"#
        }
        _ => "",
    };
    format!(
        r#"<section class="mt-4 rounded border border-slate-200 bg-white p-4"><h2 class="text-lg font-semibold">A walk-in</h2><form method="post" class="mt-2 flex flex-wrap items-end gap-2"><input type="hidden" name="action" value="search"><label class="text-sm">Find the patient (name, record number, phone or date of birth)<br><input name="query" value="{q}" maxlength="100" data-testid="queue-search" class="rounded border border-slate-300 px-2 py-1"></label>{search}</form><ul>{found}</ul>{none}<p class="mt-2 text-sm"><a class="underline" href="{new}">Register a new patient</a></p></section>"#,
        q = escape(v.search.unwrap_or_default()),
        search = button("find", "1", "Search", "queue-find"),
        new = escape(&format!("{}/staff/patients/new", v.base)),
    )
}

fn board_section(v: &DeskView<'_>) -> String {
    let body = match v.board {
        Board::Off => format!(
            r#"<p class="text-sm">Show the line on a screen in the waiting room: token numbers and practitioners only, never a name.</p><form method="post" class="mt-2"><input type="hidden" name="action" value="board">{}</form>"#,
            button("board", "renew", "Make a screen link", "queue-board-make")
        ),
        Board::On { made } => format!(
            r#"<p class="text-sm">The screen link was made on {}. A new link stops the old one.</p><form method="post" class="mt-2 flex gap-2"><input type="hidden" name="action" value="board">{}{}</form>"#,
            escape(made),
            button("board", "renew", "Make a new link", "queue-board-make"),
            button("board", "revoke", "Turn the screen off", "queue-board-off")
        ),
        Board::Made { url } => format!(
            r#"<p class="text-sm">Open this address on the waiting room's screen. It is shown only now; anyone with it sees the token numbers.</p><input readonly value="{u}" aria-label="The screen's address" data-testid="queue-board-url" class="mt-2 w-full rounded border border-slate-300 px-2 py-1 text-sm"><p class="mt-2"><a class="underline" href="{u}">Open the screen here</a></p>"#,
            u = escape(url)
        ),
    };
    format!(
        r#"<section class="mt-6 rounded border border-slate-200 bg-white p-4"><h2 class="text-lg font-semibold">Waiting-room screen</h2>{body}</section>"#
    )
}

/// The front desk's queue page.
pub fn desk(v: &DeskView<'_>) -> String {
    let note = match (v.error, v.message) {
        (Some(e), _) => format!(
            r#"<p role="alert" data-testid="queue-error" class="mt-4 rounded border border-red-300 bg-red-50 p-3 text-red-800">{}</p>"#,
            escape(e)
        ),
        (None, Some(m)) => format!(
            r#"<p role="status" data-testid="queue-message" class="mt-4 rounded border border-green-300 bg-green-50 p-3 text-green-800">{}</p>"#,
            escape(m)
        ),
        _ => String::new(),
    };
    let lines: String = v.lines.iter().map(|l| line_table(v, l)).collect();
    let lines = if lines.is_empty() {
        r#"<p class="mt-6 text-sm">No practitioner is set up to see patients yet.</p>"#.to_owned()
    } else {
        lines
    };
    let body = format!(
        r#"<h1 class="text-2xl font-semibold">Waiting-room queue</h1><p class="text-sm text-slate-600">{date}</p>{note}{walk_in}{lines}{board}"#,
        date = escape(v.date_label),
        walk_in = walk_in(v),
        board = board_section(v),
    );
    format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>Queue · {clinic}</title><link rel="stylesheet" href="{css}"></head><body class="min-h-screen bg-slate-50 text-slate-900"><header class="flex flex-wrap gap-4 border-b border-slate-200 bg-white px-4 py-3 sm:px-8"><span class="font-semibold">{clinic}</span><a class="underline" href="{staff}">Home</a><a class="underline" href="{calendar}">Calendar</a><a class="underline" href="{queue}">Refresh</a></header><main data-testid="queue-desk" class="mx-auto max-w-5xl px-4 py-6 sm:px-8">{body}</main></body></html>"#,
        clinic = escape(&v.tenant.name),
        css = escape(v.stylesheet),
        staff = escape(&format!("{}/staff", v.base)),
        calendar = escape(&format!("{}/staff/calendar", v.base)),
        queue = escape(&format!("{}/queue", v.base)),
    )
}

/// The screen's content (also what each server-sent event carries).
pub fn board_content(lines: &[Line], now: DateTime<Utc>) -> String {
    let mut out = String::new();
    for line in lines {
        let now_seeing = line
            .in_consultation()
            .map_or_else(|| "–".to_owned(), |e| e.token.to_string());
        let called: Vec<String> = line.called().iter().map(|e| e.token.to_string()).collect();
        let waiting = line.waiting();
        let next: Vec<String> = waiting
            .iter()
            .take(5)
            .map(|e| e.token.to_string())
            .collect();
        let called = if called.is_empty() {
            String::new()
        } else {
            format!(
                r#"<p class="called">Please come in: <strong data-testid="board-called">{}</strong></p>"#,
                called.join(" · ")
            )
        };
        let wait = if waiting.is_empty() {
            String::new()
        } else {
            format!(
                "<p>{} waiting · about {} min for someone arriving now</p>",
                waiting.len(),
                line.wait_of(waiting.len(), now)
            )
        };
        out.push_str(&format!(
            r#"<section data-testid="board-line"><h2>{name}</h2><p class="now">Now seeing <strong data-testid="board-now">{now_seeing}</strong></p>{called}<p>Next: <span data-testid="board-next">{next}</span></p>{wait}</section>"#,
            name = escape(&line.practitioner),
            next = if next.is_empty() { "–".to_owned() } else { next.join(" · ") },
        ));
    }
    if out.is_empty() {
        out.push_str("<p>No practitioner is seeing patients today.</p>");
    }
    out
}

/// The waiting-room screen: its content, refreshed by `events` (a path).
pub fn board(tenant: &TenantPublic, content: &str, nonce: &str) -> String {
    let primary = tenant.branding.primary_color.to_string();
    let on_primary = tenant.branding.primary_color.readable_text().to_string();
    format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>Queue · {clinic}</title><noscript><meta http-equiv="refresh" content="20"></noscript><style nonce="{nonce}">body{{margin:0;font-family:system-ui,sans-serif;background:#f8fafc;color:#0f172a}}h1{{background:{primary};color:{on_primary};padding:1rem 2rem;margin:0;font-size:2rem}}main{{display:grid;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr));gap:1.5rem;padding:2rem}}section{{background:#fff;border:1px solid #cbd5e1;border-radius:.75rem;padding:1.5rem;font-size:1.5rem}}h2{{margin:0 0 .5rem;font-size:2rem}}.now strong{{font-size:4rem;display:block;line-height:1.1}}.called{{color:#b91c1c;font-weight:700}}</style></head><body><header><h1>{clinic}</h1></header><main id="board" data-testid="queue-board" aria-live="polite">{content}</main><script nonce="{nonce}">(function(){{if(!window.EventSource)return;var b=document.getElementById('board');var s=new EventSource(location.pathname.replace(/\/$/,'')+'/events');s.addEventListener('board',function(e){{b.innerHTML=e.data;}});}})();</script></body></html>"#,
        clinic = escape(&tenant.name),
        primary = escape(&primary),
        on_primary = escape(&on_primary),
        nonce = escape(nonce),
    )
}
