//! The waitlist's pages as plain HTML: the front desk's (`/waitlist`) and the
//! one an offer's link opens (`/waitlist/offer/…`). Forms, no script.

use chrono::NaiveDate;
use uuid::Uuid;

use super::db::Entry;
use super::offers::{Answer, Shown};
use super::EntryState;
use crate::tenancy::TenantPublic;
use crate::text::escape_html as escape;

pub use crate::scheduling::queue::page::Found;

/// The choices the add form offers.
pub struct Choices<'a> {
    pub types: &'a [(Uuid, String)],
    pub locations: &'a [(Uuid, String)],
    pub practitioners: &'a [(Uuid, String)],
}

pub struct DeskView<'a> {
    pub tenant: &'a TenantPublic,
    pub base: &'a str,
    pub stylesheet: &'a str,
    pub entries: &'a [Entry],
    pub choices: Choices<'a>,
    pub search: Option<&'a str>,
    pub found: &'a [Found],
    pub today: NaiveDate,
    /// The offer window, when the viewer may change it.
    pub offer_minutes: Option<i32>,
    pub message: Option<&'a str>,
    pub error: Option<&'a str>,
}

const FIELD: &str = "rounded border border-slate-300 px-2 py-1";
const BUTTON: &str = "rounded border border-slate-300 bg-white px-2 py-1 text-sm";

fn options(list: &[(Uuid, String)]) -> String {
    list.iter()
        .map(|(id, name)| format!(r#"<option value="{id}">{}</option>"#, escape(name)))
        .collect()
}

fn add_form(v: &DeskView<'_>, p: &Found) -> String {
    let until = v.today + chrono::Duration::days(30);
    format!(
        r#"<li data-testid="waitlist-found" class="mt-3 rounded border border-slate-200 p-2"><p>{name} · {mrn} · {born}</p><form method="post" class="mt-1 flex flex-wrap items-end gap-2"><input type="hidden" name="action" value="add"><input type="hidden" name="patient" value="{id}"><label class="text-sm">Visit<br><select name="type" class="{FIELD}">{types}</select></label><label class="text-sm">Where<br><select name="location" class="{FIELD}">{locations}</select></label><label class="text-sm">With<br><select name="practitioner" class="{FIELD}"><option value="">Anyone</option>{people}</select></label><label class="text-sm">From<br><input type="date" name="from" value="{today}" class="{FIELD}"></label><label class="text-sm">Until<br><input type="date" name="until" value="{until}" class="{FIELD}"></label><button type="submit" data-testid="waitlist-add" class="{BUTTON}">Add to the waitlist</button></form></li>"#,
        name = escape(&p.name),
        mrn = escape(&p.mrn),
        born = escape(&p.born),
        id = p.id,
        types = options(v.choices.types),
        locations = options(v.choices.locations),
        people = options(v.choices.practitioners),
        today = v.today,
    )
}

fn entry_row(e: &Entry) -> String {
    let state = e.state();
    let withdraw = if matches!(state, EntryState::Waiting | EntryState::Offered) {
        format!(
            r#"<form method="post"><input type="hidden" name="action" value="withdraw"><input type="hidden" name="entry" value="{}"><button type="submit" data-testid="waitlist-withdraw" class="{BUTTON}">Withdraw</button></form>"#,
            e.id
        )
    } else {
        String::new()
    };
    format!(
        r#"<tr data-testid="waitlist-entry" data-state="{st}" class="border-t border-slate-200"><td class="py-2 pr-2">{name}<div class="text-xs text-slate-600">{mrn}</div></td><td class="py-2 pr-2 text-sm">{kind} · {place} · {who}</td><td class="py-2 pr-2 text-sm">{from} – {until}</td><td class="py-2 pr-2 text-sm">{label}</td><td class="py-2">{withdraw}</td></tr>"#,
        st = state.as_str(),
        name = escape(&format!("{} {}", e.given_name, e.family_name)),
        mrn = escape(&e.mrn),
        kind = escape(&e.type_name),
        place = escape(&e.location),
        who = escape(e.practitioner.as_deref().unwrap_or("anyone")),
        from = e.from_date,
        until = e.until_date,
        label = state.label(),
    )
}

/// The front desk's waitlist page.
pub fn desk(v: &DeskView<'_>) -> String {
    let note = match (v.error, v.message) {
        (Some(e), _) => format!(
            r#"<p role="alert" data-testid="waitlist-error" class="mt-4 rounded border border-red-300 bg-red-50 p-3 text-red-800">{}</p>"#,
            escape(e)
        ),
        (None, Some(m)) => format!(
            r#"<p role="status" data-testid="waitlist-message" class="mt-4 rounded border border-green-300 bg-green-50 p-3 text-green-800">{}</p>"#,
            escape(m)
        ),
        _ => String::new(),
    };
    let found: String = v.found.iter().map(|p| add_form(v, p)).collect();
    let none = match (v.search, v.found.is_empty()) {
        (Some(_), true) => {
            r#"<p class="mt-2 text-sm">No patient matches. Check the spelling, or register the patient first.</p>"#
        }
        _ => "",
    };
    let rows: String = v.entries.iter().map(entry_row).collect();
    let rows = if rows.is_empty() {
        r#"<tr><td colspan="5" class="py-2 text-sm text-slate-600">Nobody is waiting.</td></tr>"#
            .to_owned()
    } else {
        rows
    };
    let window = v.offer_minutes.map_or_else(String::new, |m| {
        format!(
            r#"<section class="mt-6 rounded border border-slate-200 bg-white p-4"><h2 class="text-lg font-semibold">Offers</h2><p class="text-sm">When time frees up it is offered by email to the first three patients waiting for it; the first to accept books it. An offer holds the time for:</p><form method="post" class="mt-2 flex flex-wrap items-end gap-2"><input type="hidden" name="action" value="window"><label class="text-sm">Minutes (5 to 1440)<br><input type="number" name="minutes" min="5" max="1440" value="{m}" class="{FIELD}"></label><button type="submit" class="{BUTTON}">Save</button></form></section>"#
        )
    });
    let body = format!(
        r#"<h1 class="text-2xl font-semibold">Waitlist</h1>{note}<section class="mt-4 rounded border border-slate-200 bg-white p-4"><h2 class="text-lg font-semibold">Add a patient</h2><form method="post" class="mt-2 flex flex-wrap items-end gap-2"><input type="hidden" name="action" value="search"><label class="text-sm">Find the patient (name, record number, phone or date of birth)<br><input name="query" value="{q}" maxlength="100" data-testid="waitlist-search" class="{FIELD}"></label><button type="submit" data-testid="waitlist-find" class="{BUTTON}">Search</button></form><ul>{found}</ul>{none}</section><section class="mt-6 rounded border border-slate-200 bg-white p-4"><h2 class="text-lg font-semibold">Waiting</h2><div class="overflow-x-auto"><table class="mt-2 w-full text-left"><thead><tr class="text-sm text-slate-600"><th class="pr-2">Patient</th><th class="pr-2">For</th><th class="pr-2">Dates</th><th class="pr-2">Status</th><th>Actions</th></tr></thead><tbody>{rows}</tbody></table></div></section>{window}"#,
        q = escape(v.search.unwrap_or_default()),
    );
    format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>Waitlist · {clinic}</title><link rel="stylesheet" href="{css}"></head><body class="min-h-screen bg-slate-50 text-slate-900"><header class="flex flex-wrap gap-4 border-b border-slate-200 bg-white px-4 py-3 sm:px-8"><span class="font-semibold">{clinic}</span><a class="underline" href="{staff}">Home</a><a class="underline" href="{calendar}">Calendar</a><a class="underline" href="{queue}">Queue</a></header><main data-testid="waitlist-desk" class="mx-auto max-w-5xl px-4 py-6 sm:px-8">{body}</main></body></html>"#,
        clinic = escape(&v.tenant.name),
        css = escape(v.stylesheet),
        staff = escape(&format!("{}/staff", v.base)),
        calendar = escape(&format!("{}/staff/calendar", v.base)),
        queue = escape(&format!("{}/queue", v.base)),
    )
}

/// What the offer's page says.
pub enum OfferView<'a> {
    Open(&'a Shown),
    Answered(&'a Answer, Option<&'a Shown>),
}

/// The page an offer's link opens.
pub fn offer(tenant: &TenantPublic, stylesheet: &str, base: &str, view: OfferView<'_>) -> String {
    let details = |s: &Shown| {
        format!(
            r#"<p class="mt-3 text-lg" data-testid="offer-time">{kind} with {who} at {place}, {date} at {time}.</p>"#,
            kind = escape(&s.type_name),
            who = escape(&s.practitioner),
            place = escape(&s.location),
            date = escape(&s.date),
            time = escape(&s.time),
        )
    };
    let body = match view {
        OfferView::Open(s) => format!(
            r#"<h1 class="text-2xl font-semibold">A time has opened up</h1>{}<p class="mt-2 text-sm">It is held for you until {}.</p><form method="post" class="mt-4"><button type="submit" data-testid="offer-accept" class="rounded bg-slate-900 px-4 py-2 font-semibold text-white">Book this time</button></form>"#,
            details(s),
            escape(&s.held_until)
        ),
        OfferView::Answered(Answer::Booked(_), s) => format!(
            r#"<h1 class="text-2xl font-semibold" data-testid="offer-booked">Booked</h1>{}<p class="mt-2">You are booked. The clinic looks forward to seeing you.</p>"#,
            s.map(details).unwrap_or_default()
        ),
        OfferView::Answered(Answer::Taken, _) => r#"<h1 class="text-2xl font-semibold" data-testid="offer-taken">Taken</h1><p class="mt-2">Another patient booked this time first. You are still on the waitlist.</p>"#.to_owned(),
        OfferView::Answered(Answer::Expired, _) => r#"<h1 class="text-2xl font-semibold" data-testid="offer-expired">This offer has ended</h1><p class="mt-2">The time was held for a while and has been offered to the next patient. You are still on the waitlist.</p>"#.to_owned(),
    };
    let primary = tenant.branding.primary_color.to_string();
    let on_primary = tenant.branding.primary_color.readable_text().to_string();
    format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>Waitlist · {clinic}</title><link rel="stylesheet" href="{css}"></head><body class="min-h-screen bg-slate-50 text-slate-900"><header class="px-4 py-3 sm:px-8" style="background:{primary};color:{on_primary}"><a href="{home}" class="text-lg font-semibold">{clinic}</a></header><main data-testid="offer-page" class="mx-auto max-w-2xl px-4 py-6 sm:px-8">{body}</main></body></html>"#,
        clinic = escape(&tenant.name),
        css = escape(stylesheet),
        primary = escape(&primary),
        on_primary = escape(&on_primary),
        home = escape(&format!("{base}/book")),
    )
}
