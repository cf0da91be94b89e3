//! The public booking pages as plain HTML. They carry no script at all: a
//! stranger's phone downloads the clinic's stylesheet and a few kilobytes of
//! markup, every step is a link or a form post, and nothing of the app's wasm
//! is loaded (or grows because of them).

use chrono::NaiveDate;
use uuid::Uuid;

use super::flow::{Booking, Choice, Time, Typed, Week};
use crate::scheduling::AppointmentStatus;
use crate::tenancy::TenantPublic;
use crate::text::escape_html as escape;

/// What every page needs: the clinic, the site's base path and the stylesheet.
pub struct Frame<'a> {
    pub tenant: &'a TenantPublic,
    /// `/t/{slug}` under the path fallback, else empty.
    pub base: &'a str,
    pub stylesheet: &'a str,
    /// The signed-in patient's name, when a patient of the clinic is signed in.
    pub patient: Option<&'a str>,
    /// The signed-in patient's visit being moved, carried from page to page.
    pub moving: Option<Uuid>,
}

impl Frame<'_> {
    fn href(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The whole document around `body`.
    pub fn page(&self, testid: &str, title: &str, body: &str) -> String {
        let t = self.tenant;
        let primary = t.branding.primary_color.to_string();
        let on_primary = t.branding.primary_color.readable_text().to_string();
        let logo = t
            .branding
            .logo_url
            .as_deref()
            .filter(|u| u.starts_with("https://") || u.starts_with('/'))
            .map(|u| {
                format!(
                    r#"<img src="{}" alt="" class="mr-2 inline h-8 w-auto align-middle">"#,
                    escape(u)
                )
            })
            .unwrap_or_default();
        format!(
            r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">
<title>{title} · {clinic}</title><link rel="stylesheet" href="{css}"></head>
<body class="min-h-screen bg-slate-50 text-slate-900">
<header class="px-4 py-3 sm:px-8" style="background:{primary};color:{on_primary}">
<a href="{home}" class="text-lg font-semibold">{logo}{clinic}</a><span class="ml-2 text-sm">Book online</span>{mine}</header>
<main data-testid="{testid}" class="mx-auto max-w-2xl px-4 py-6 sm:px-8">{body}</main></body></html>"#,
            title = escape(title),
            clinic = escape(&t.name),
            css = escape(self.stylesheet),
            primary = escape(&primary),
            on_primary = escape(&on_primary),
            home = escape(&self.href("/book")),
            mine = if self.patient.is_some() {
                format!(
                    r#"<a class="ml-4 text-sm underline" href="{}">Your appointments</a><a class="ml-4 text-sm underline" href="{}">Patient portal</a>"#,
                    escape(&self.href("/book/mine")),
                    escape(&self.href("/portal"))
                )
            } else {
                String::new()
            },
        )
    }

    /// `&move=…` while a signed-in patient moves a visit.
    fn moving_query(&self) -> String {
        self.moving
            .map_or_else(String::new, |m| format!("&move={m}"))
    }
}

const H1: &str = "text-2xl font-semibold";
const CARD: &str = "mt-4 rounded-lg border border-slate-200 bg-white p-4";
const TIME: &str = "inline-block rounded border border-slate-300 bg-white px-3 py-2 text-sm font-medium hover:bg-slate-100 focus:outline-none focus:ring-2 focus:ring-slate-500";
const BUTTON: &str = "mt-4 rounded bg-slate-900 px-4 py-2 font-semibold text-white hover:bg-slate-700 focus:outline-none focus:ring-2 focus:ring-slate-500";
const INPUT: &str = "mt-1 block w-full rounded border border-slate-400 px-3 py-2";
const LINK: &str = "underline";

fn notice_of(notice: Option<&str>) -> String {
    notice.map_or_else(String::new, |n| {
        format!(
            r#"<p role="status" data-testid="book-notice" class="mt-4 rounded border border-green-300 bg-green-50 p-3 text-green-900">{}</p>"#,
            escape(n)
        )
    })
}

fn alert(error: Option<&str>) -> String {
    error.map_or_else(String::new, |e| {
        format!(
            r#"<p role="alert" data-testid="book-error" class="mt-4 rounded border border-red-300 bg-red-50 p-3 text-red-800">{}</p>"#,
            escape(&crate::error::sentence(e))
        )
    })
}

/// The link that opens the details step for `time`.
fn time_href(frame: &Frame<'_>, time: &Time) -> String {
    frame.href(&format!(
        "/book/details?type={}&location={}&staff={}&start={}{}",
        time.type_id,
        time.location_id,
        time.staff_id,
        time.starts_at.timestamp(),
        frame.moving_query()
    ))
}

fn time_link(frame: &Frame<'_>, time: &Time, with_day: bool) -> String {
    let when = if with_day {
        format!("{} {}", time.day, time.time)
    } else {
        time.time.clone()
    };
    format!(
        r#"<li><a data-testid="book-time" class="{TIME}" href="{href}"><span class="font-semibold">{when}</span> <span class="text-slate-600">({offset}) · {who} · {place}</span></a></li>"#,
        href = escape(&time_href(frame, time)),
        when = escape(&when),
        offset = escape(&time.offset),
        who = escape(&time.practitioner),
        place = escape(&time.location),
    )
}

fn price_line(c: &Choice) -> String {
    match &c.price {
        Some(p) => format!("{} min · {}", c.minutes, escape(p)),
        None => format!("{} min", c.minutes),
    }
}

/// The first screen: each visit type with its soonest free times.
pub fn soonest(frame: &Frame<'_>, choices: &[Choice]) -> String {
    let mut body = format!(
        r#"<h1 class="{H1}">Book an appointment</h1><p class="mt-1 text-slate-700">The soonest free times at {}. Choose one, or see more times for a visit.</p>"#,
        escape(&frame.tenant.name)
    );
    if choices.is_empty() {
        body.push_str(r#"<p class="mt-4">There are no visits to book online yet. Please call the clinic.</p>"#);
    }
    for c in choices {
        let times: String = c
            .soonest
            .iter()
            .map(|t| time_link(frame, t, true))
            .collect();
        let times = if times.is_empty() {
            r#"<p class="mt-2 text-slate-700">No free times online in the coming weeks. Please call the clinic.</p>"#.to_owned()
        } else {
            format!(r#"<ul class="mt-3 flex flex-col gap-2">{times}</ul>"#)
        };
        body.push_str(&format!(
            r#"<section data-testid="book-type" class="{CARD}"><h2 class="text-lg font-semibold">{name}</h2><p class="text-sm text-slate-600">{price}</p>{times}<p class="mt-3"><a class="{LINK}" href="{more}">More times for {name}</a></p></section>"#,
            name = escape(&c.name),
            price = price_line(c),
            more = escape(&frame.href(&format!("/book?type={}", c.type_id))),
        ));
    }
    frame.page("book-page", "Book an appointment", &body)
}

fn options(all: &[(Uuid, String)], chosen: Option<Uuid>, any: &str) -> String {
    let mut out = format!(r#"<option value="">{}</option>"#, escape(any));
    for (id, name) in all {
        let selected = if chosen == Some(*id) { " selected" } else { "" };
        out.push_str(&format!(
            r#"<option value="{id}"{selected}>{}</option>"#,
            escape(name)
        ));
    }
    out
}

fn week_href(frame: &Frame<'_>, w: &Week, from: NaiveDate) -> String {
    let mut q = format!(
        "/book?type={}&from={from}{}",
        w.choice.type_id,
        frame.moving_query()
    );
    if let Some(s) = w.filter.staff_id {
        q.push_str(&format!("&staff={s}"));
    }
    if let Some(l) = w.filter.location_id {
        q.push_str(&format!("&location={l}"));
    }
    frame.href(&q)
}

/// A week of one visit type's times, narrowed by practitioner and place.
pub fn week(frame: &Frame<'_>, w: &Week) -> String {
    let mut body = format!(
        r#"<p><a class="{LINK}" href="{back}">All visits</a></p><h1 class="{H1} mt-2">{name}</h1><p class="text-sm text-slate-600">{price}</p>
<form method="get" action="{action}" class="mt-4 grid gap-3 sm:grid-cols-3">
<input type="hidden" name="type" value="{type_id}">{moving}
<label class="text-sm font-medium">Practitioner<select name="staff" class="{INPUT}">{staff}</select></label>
<label class="text-sm font-medium">Place<select name="location" class="{INPUT}">{places}</select></label>
<label class="text-sm font-medium">From<input type="date" name="from" value="{from}" class="{INPUT}"></label>
<button class="rounded bg-slate-900 px-4 py-2 font-semibold text-white sm:col-span-3">Show times</button></form>"#,
        back = escape(&frame.href("/book")),
        name = escape(&w.choice.name),
        price = price_line(&w.choice),
        action = escape(&frame.href("/book")),
        type_id = w.choice.type_id,
        staff = options(&w.practitioners, w.filter.staff_id, "Any practitioner"),
        places = options(&w.locations, w.filter.location_id, "Any place"),
        from = w.from,
        moving = frame.moving.map_or_else(String::new, |m| format!(
            r#"<input type="hidden" name="move" value="{m}">"#
        )),
    );
    if w.days.is_empty() {
        body.push_str(r#"<p class="mt-6" data-testid="book-none">No free times in these days. Try later days or another practitioner.</p>"#);
    }
    for (day, times) in &w.days {
        let list: String = times.iter().map(|t| time_link(frame, t, false)).collect();
        body.push_str(&format!(
            r#"<section class="{CARD}"><h2 class="font-semibold">{}</h2><ul class="mt-2 flex flex-col gap-2">{list}</ul></section>"#,
            escape(day)
        ));
    }
    let mut nav = String::new();
    if let Some(earlier) = w.earlier {
        nav.push_str(&format!(
            r#"<a class="{LINK}" href="{}">Earlier days</a>"#,
            escape(&week_href(frame, w, earlier))
        ));
    }
    if let Some(later) = w.later {
        nav.push_str(&format!(
            r#"<a class="{LINK} ml-auto" href="{}">Later days</a>"#,
            escape(&week_href(frame, w, later))
        ));
    }
    body.push_str(&format!(r#"<nav class="mt-6 flex gap-4">{nav}</nav>"#));
    frame.page("book-week", &w.choice.name, &body)
}

fn summary(time: &Time, type_name: Option<&str>) -> String {
    format!(
        r#"<div data-testid="book-summary" class="{CARD}"><p class="font-semibold">{what}{day} at {at} <span class="text-sm font-normal text-slate-600">(UTC{offset})</span></p><p class="text-slate-700">{who} · {place}</p></div>"#,
        what = type_name.map_or_else(String::new, |n| format!("{}: ", escape(n))),
        day = escape(&time.day),
        at = escape(&time.time),
        offset = escape(&time.offset),
        who = escape(&time.practitioner),
        place = escape(&time.location),
    )
}

/// The chosen time as a form's hidden fields.
fn pick_fields(time: &Time) -> String {
    format!(
        r#"<input type="hidden" name="type" value="{}"><input type="hidden" name="location" value="{}"><input type="hidden" name="staff" value="{}"><input type="hidden" name="start" value="{}">"#,
        time.type_id,
        time.location_id,
        time.staff_id,
        time.starts_at.timestamp()
    )
}

fn field_error(error: Option<(&str, &str)>, name: &str) -> String {
    match error {
        Some((field, message)) if field == name => format!(
            r#"<span class="mt-1 block text-sm text-red-700" id="{name}-error">{}</span>"#,
            escape(&crate::error::sentence(message))
        ),
        _ => String::new(),
    }
}

fn input(
    label: &str,
    name: &str,
    kind: &str,
    value: &str,
    extra: &str,
    error: Option<(&str, &str)>,
) -> String {
    let invalid = if error.is_some_and(|(f, _)| f == name) {
        format!(r#" aria-invalid="true" aria-describedby="{name}-error""#)
    } else {
        String::new()
    };
    format!(
        r#"<label class="mt-3 block text-sm font-medium">{label}<input type="{kind}" name="{name}" value="{value}" class="{INPUT}"{extra}{invalid}>{err}</label>"#,
        label = escape(label),
        value = escape(value),
        err = field_error(error, name),
    )
}

/// The details step: who is coming, and where the code goes.
pub fn details(
    frame: &Frame<'_>,
    time: &Time,
    type_name: &str,
    typed: &Typed,
    error: Option<&str>,
    field: Option<(&str, &str)>,
) -> String {
    let sexes = [
        ("unknown", "Prefer not to say"),
        ("female", "Female"),
        ("male", "Male"),
        ("other", "Other"),
    ];
    let sex_options: String = sexes
        .iter()
        .map(|(v, l)| {
            let selected = if typed.sex == *v { " selected" } else { "" };
            format!(r#"<option value="{v}"{selected}>{l}</option>"#)
        })
        .collect();
    let body = format!(
        r#"<p><a class="{LINK}" href="{back}">Choose another time</a></p><h1 class="{H1} mt-2">Your details</h1>{summary}{alert}
<form method="post" action="{action}" class="mt-4" novalidate>
{hidden}
{given}{family}{born}
<label class="mt-3 block text-sm font-medium">Sex<select name="sex" class="{INPUT}">{sex_options}</select></label>
{email}{phone}
<div class="hidden" aria-hidden="true"><label>Leave this empty<input type="text" name="website" tabindex="-1" autocomplete="off"></label></div>
<p class="mt-3 text-sm text-slate-600">We email you a code to confirm the booking. The clinic registers you as a new patient; if you have been here before, the front desk links your records.</p>
<button class="{BUTTON}" data-testid="book-send-code">Send me a code</button></form>"#,
        back = escape(&frame.href(&format!("/book?type={}", time.type_id))),
        summary = summary(time, Some(type_name)),
        alert = alert(error),
        action = escape(&frame.href("/book/details")),
        hidden = pick_fields(time),
        given = input(
            "Given name",
            "given_name",
            "text",
            &typed.given_name,
            r#" autocomplete="given-name" required"#,
            field
        ),
        family = input(
            "Family name",
            "family_name",
            "text",
            &typed.family_name,
            r#" autocomplete="family-name" required"#,
            field
        ),
        born = input(
            "Date of birth",
            "birth_date",
            "date",
            &typed.birth_date,
            r#" autocomplete="bday" required"#,
            field
        ),
        email = input(
            "Email",
            "email",
            "email",
            &typed.email,
            r#" autocomplete="email" required"#,
            field
        ),
        phone = input(
            "Mobile phone (optional)",
            "phone",
            "tel",
            &typed.phone,
            r#" autocomplete="tel""#,
            field
        ),
    );
    frame.page("book-details", "Your details", &body)
}

/// The code step.
pub fn verify(
    frame: &Frame<'_>,
    request: Uuid,
    time: &Time,
    minutes: i32,
    error: Option<&str>,
) -> String {
    let body = format!(
        r#"<h1 class="{H1}">Check your email</h1>{summary}<p class="mt-4">We sent a 6-digit code to your email address. This time is held for you for {minutes} minutes.</p>{alert}
<form method="post" action="{action}" class="mt-2"><input type="hidden" name="request" value="{request}">
<label class="mt-3 block text-sm font-medium">Code<input type="text" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="12" class="{INPUT}" required></label>
<button class="{BUTTON}" data-testid="book-confirm">Confirm booking</button></form>
<p class="mt-4 text-sm"><a class="{LINK}" href="{back}">Start again</a></p>"#,
        summary = summary(time, None),
        alert = alert(error),
        action = escape(&frame.href("/book/verify")),
        back = escape(&frame.href("/book")),
    );
    frame.page("book-verify", "Check your email", &body)
}

/// The patient's own page for a booking, reached by the link in their email.
pub fn manage(
    frame: &Frame<'_>,
    token: &str,
    b: &Booking,
    notice: Option<&str>,
    error: Option<&str>,
) -> String {
    let status = match b.status {
        AppointmentStatus::Booked => "Booked",
        other => other.label(),
    };
    let notice = notice_of(notice);
    let action = if b.can_change {
        format!(
            r#"<form method="post" action="{action}" class="mt-4"><input type="hidden" name="token" value="{token}">
<p class="text-sm text-slate-700">You can cancel online until {until}.</p>
<button class="mt-2 rounded border border-red-700 px-4 py-2 font-semibold text-red-800 hover:bg-red-50" data-testid="book-cancel">Cancel this booking</button></form>"#,
            action = escape(&frame.href("/book/cancel")),
            token = escape(token),
            until = escape(&b.change_until),
        )
    } else if b.status == AppointmentStatus::Booked {
        r#"<p class="mt-4 text-slate-700">To change or cancel this booking now, please call the clinic.</p>"#.to_owned()
    } else {
        String::new()
    };
    let address = b
        .address
        .as_deref()
        .map_or_else(String::new, |a| format!("<br>{}", escape(a)));
    let body = format!(
        r#"<h1 class="{H1}">Your booking</h1>{notice}{alert}<div class="{CARD}"><p class="font-semibold">{type_name}</p>
<p>{date} at {time}</p><p class="text-slate-700">{who}</p><p class="text-slate-700">{place}{address}</p>
<p class="mt-2">Status: <span data-testid="book-status" class="font-semibold">{status}</span></p></div>{action}
<p class="mt-6 text-sm"><a class="{LINK}" href="{book}">Book another visit</a></p>"#,
        alert = alert(error),
        type_name = escape(&b.type_name),
        date = escape(&b.date),
        time = escape(&b.time),
        who = escape(&b.practitioner),
        place = escape(&b.location),
        book = escape(&frame.href("/book")),
    );
    frame.page("book-manage", "Your booking", &body)
}

/// A short page: the step could not go on, and where to go instead.
pub fn message(frame: &Frame<'_>, title: &str, text: &str) -> String {
    let body = format!(
        r#"<h1 class="{H1}">{}</h1><p role="alert" data-testid="book-error" class="mt-3 text-slate-800">{}</p><p class="mt-6"><a class="{LINK}" href="{}">See the free times</a></p>"#,
        escape(title),
        escape(&crate::error::sentence(text)),
        escape(&frame.href("/book")),
    );
    frame.page("book-message", title, &body)
}

/// The details step for a signed-in patient: nothing to type, one button.
pub fn details_own(
    frame: &Frame<'_>,
    time: &Time,
    type_name: &str,
    moving: Option<&Booking>,
    error: Option<&str>,
) -> String {
    let (title, button, from) = match moving {
        Some(b) => (
            "Move your visit",
            "Move my visit here",
            format!(
                r#"<p class="mt-4 text-slate-700">Now: {} at {} with {}.</p><input type="hidden" name="move" value="{}">"#,
                escape(&b.date),
                escape(&b.time),
                escape(&b.practitioner),
                b.id
            ),
        ),
        None => ("Book this time", "Book this time", String::new()),
    };
    let body = format!(
        r#"<p><a class="{LINK}" href="{back}">Choose another time</a></p><h1 class="{H1} mt-2">{title}</h1>{summary}{alert}
<form method="post" action="{action}" class="mt-2">{from}
{hidden}
<p class="mt-4">For <span class="font-semibold" data-testid="book-for">{name}</span></p>
<button class="{BUTTON}" data-testid="book-own">{button}</button></form>"#,
        back = escape(&frame.href(&format!(
            "/book?type={}{}",
            time.type_id,
            frame.moving_query()
        ))),
        summary = summary(time, Some(type_name)),
        alert = alert(error),
        action = escape(&frame.href("/book/details")),
        hidden = pick_fields(time),
        name = escape(frame.patient.unwrap_or_default()),
    );
    frame.page("book-details", title, &body)
}

/// A signed-in patient's visits, each to move or cancel within the clinic's notice.
pub fn mine(
    frame: &Frame<'_>,
    visits: &[Booking],
    waiting: &super::flow::Waiting,
    notice: Option<&str>,
    error: Option<&str>,
) -> String {
    let notice = notice_of(notice);
    let mut list = String::new();
    for b in visits {
        let status = match b.status {
            AppointmentStatus::Booked => "Booked",
            other => other.label(),
        };
        let actions = if b.can_change {
            format!(
                r#"<div class="mt-3 flex flex-wrap items-center gap-3"><a class="{TIME}" data-testid="book-move" href="{move_href}">Move</a>
<form method="post" action="{cancel}"><input type="hidden" name="appointment" value="{id}">
<button class="rounded border border-red-700 px-3 py-2 text-sm font-semibold text-red-800 hover:bg-red-50" data-testid="book-cancel">Cancel</button></form>
<span class="text-sm text-slate-600">Online until {until}</span></div>"#,
                move_href = escape(&frame.href(&format!("/book?type={}&move={}", b.type_id, b.id))),
                cancel = escape(&frame.href("/book/cancel")),
                id = b.id,
                until = escape(&b.change_until),
            )
        } else if b.status == AppointmentStatus::Booked {
            r#"<p class="mt-2 text-sm text-slate-700">To change it now, please call the clinic.</p>"#.to_owned()
        } else {
            String::new()
        };
        list.push_str(&format!(
            r#"<li data-testid="my-visit" class="{CARD}"><p class="font-semibold">{date} at {time} · {type_name}</p><p class="text-slate-700">{who} · {place}</p>
<p class="mt-1 text-sm">Status: <span data-testid="book-status" class="font-semibold">{status}</span></p>{actions}</li>"#,
            date = escape(&b.date),
            time = escape(&b.time),
            type_name = escape(&b.type_name),
            who = escape(&b.practitioner),
            place = escape(&b.location),
        ));
    }
    if visits.is_empty() {
        list.push_str(r#"<li class="mt-4 text-slate-700">You have no upcoming visits.</li>"#);
    }
    let body = format!(
        r#"<h1 class="{H1}">Your appointments</h1>{notice}{alert}<ul>{list}</ul><p class="mt-6"><a class="{BUTTON} inline-block" href="{book}">Book a visit</a></p>{waitlist}"#,
        alert = alert(error),
        book = escape(&frame.href("/book")),
        waitlist = waitlist(frame, waiting),
    );
    frame.page("book-mine", "Your appointments", &body)
}

fn choices(list: &[(Uuid, String)]) -> String {
    list.iter()
        .map(|(id, name)| format!(r#"<option value="{id}">{}</option>"#, escape(name)))
        .collect()
}

/// The patient's waitlist: what they wait for (to withdraw), and a form to
/// wait for a visit that has no free time they like.
fn waitlist(frame: &Frame<'_>, w: &super::flow::Waiting) -> String {
    let action = escape(&frame.href("/book/waitlist"));
    let entries: String = w
        .entries
        .iter()
        .map(|e| {
            let withdraw = if matches!(
                e.state(),
                crate::scheduling::waitlist::EntryState::Waiting
                    | crate::scheduling::waitlist::EntryState::Offered
            ) {
                format!(
                    r#"<form method="post" action="{action}" class="mt-2"><input type="hidden" name="action" value="withdraw"><input type="hidden" name="entry" value="{}"><button class="rounded border border-slate-300 px-3 py-2 text-sm" data-testid="waitlist-leave">Leave the waitlist</button></form>"#,
                    e.id
                )
            } else {
                String::new()
            };
            format!(
                r#"<li data-testid="my-waitlist" class="{CARD}"><p class="font-semibold">{kind} · {place}</p><p class="text-sm text-slate-700">With {who}, {from} to {until} · {state}</p>{withdraw}</li>"#,
                kind = escape(&e.type_name),
                place = escape(&e.location),
                who = escape(e.practitioner.as_deref().unwrap_or("anyone")),
                from = e.from_date,
                until = e.until_date,
                state = e.state().label(),
            )
        })
        .collect();
    if w.types.is_empty() || w.locations.is_empty() {
        return String::new();
    }
    let until = w.today + chrono::Duration::days(30);
    format!(
        r#"<h2 class="mt-8 text-lg font-semibold">Waitlist</h2><p class="text-sm text-slate-700">No time that suits you? Wait for one: when a time frees up, we email you, and the first to answer books it.</p><ul>{entries}</ul><form method="post" action="{action}" class="{CARD}" data-testid="waitlist-join"><input type="hidden" name="action" value="join"><label class="block text-sm">Visit<select name="type" class="{INPUT}">{types}</select></label><label class="mt-2 block text-sm">Where<select name="location" class="{INPUT}">{locations}</select></label><label class="mt-2 block text-sm">With<select name="practitioner" class="{INPUT}"><option value="">Anyone</option>{people}</select></label><label class="mt-2 block text-sm">From<input type="date" name="from" value="{today}" class="{INPUT}"></label><label class="mt-2 block text-sm">Until<input type="date" name="until" value="{until}" class="{INPUT}"></label><button class="{BUTTON}" data-testid="waitlist-join-button">Join the waitlist</button></form>"#,
        types = choices(&w.types),
        locations = choices(&w.locations),
        people = choices(&w.practitioners),
        today = w.today,
    )
}
