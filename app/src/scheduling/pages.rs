//! `/staff/calendar`: the front desk's day. A column per practitioner at one
//! location, with the day's appointments and the chosen visit type's free
//! times. Booking a known patient: choose a free time, search, press "Book".
//! Everything is a link or a plain form, so it works before the page's code
//! arrives; the address holds the day, place, type and chosen time, never a
//! patient's details.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use uuid::Uuid;

use super::api::day_calendar;
use super::{
    AppointmentStatus, AppointmentView, Column, DayView, PatientChoice, SchedulingPage, SlotView,
};

const PILL: &str = "rounded border border-slate-300 px-2 py-1 text-sm hover:bg-slate-50";

/// The calendar's address for a day, place and type (and optionally a chosen time).
fn calendar_href(v: &DayView, date: &str, extra: &str) -> String {
    let location = v
        .location
        .as_ref()
        .map(|l| l.id.to_string())
        .unwrap_or_default();
    let kind = v.type_id.map(|t| t.to_string()).unwrap_or_default();
    crate::site::current_site().href(&format!(
        "/staff/calendar?date={date}&location={location}&type={kind}{extra}"
    ))
}

#[component]
pub fn CalendarPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |k: &str| query.with(|q| q.get(k)).filter(|v| !v.is_empty());
    let day = Resource::new(
        move || {
            (
                param("date"),
                param("location"),
                param("type"),
                param("series"),
            )
        },
        |(date, location, kind, series)| async move {
            day_calendar(
                date,
                location.and_then(|l| l.parse().ok()),
                kind.and_then(|t| t.parse().ok()),
                series.and_then(|s| s.parse().ok()),
            )
            .await
            .map(SchedulingPage::Day)
        },
    );
    view! {
        <crate::shell::PageTitle text="Calendar"/>
        <crate::identity::pages::SignedInShell testid="calendar-page">
            <h1 class="text-xl font-semibold">"Calendar"</h1>
            <crate::forms::PlainFormError path="/api/book_appointment"/>
            <crate::forms::PlainFormError path="/api/book_series"/>
            <crate::forms::PlainFormError path="/api/set_appointment_status"/>
            <crate::forms::PlainFormError path="/api/reschedule_appointment"/>
            <crate::forms::PlainFormError path="/api/draft_invoice"/>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match day.await {
                        Err(e) => view! { <p role="alert" class="mt-4">{e.message()}</p> }.into_any(),
                        Ok(SchedulingPage::Day(v)) if v.needs_setup => view! { <NeedsSetup can=v.can_setup/> }.into_any(),
                        Ok(SchedulingPage::Day(v)) => view! {
                            <Day v=v chosen_slot=param("slot") staff=param("staff")/>
                        }.into_any(),
                        Ok(SchedulingPage::Setup(_)) => ().into_any(),
                    }
                })}
            </Suspense>
            <crate::identity::pages::HydratedMarker/>
        </crate::identity::pages::SignedInShell>
    }
    .into_any()
}

#[component]
fn NeedsSetup(can: bool) -> impl IntoView {
    let href = crate::site::current_site().href("/staff/scheduling");
    view! {
        <p class="mt-4 rounded bg-amber-50 p-3 text-amber-900" data-testid="calendar-needs-setup">
            "Scheduling is not set up yet: the clinic needs a location and a visit type with a practitioner's hours. "
            {can.then(|| view! { <a class="underline" href=href>"Set up scheduling"</a> })}
        </p>
    }
}

#[component]
fn Day(v: DayView, chosen_slot: Option<String>, staff: Option<String>) -> impl IntoView {
    let prev = (v.date - chrono::Duration::days(1)).to_string();
    let next = (v.date + chrono::Duration::days(1)).to_string();
    let today_href = calendar_href(&v, "", "");
    let prev_href = calendar_href(&v, &prev, "");
    let next_href = calendar_href(&v, &next, "");
    let action = crate::site::current_site().href("/staff/calendar");
    let chosen = chosen_slot
        .zip(staff.and_then(|s| s.parse::<Uuid>().ok()))
        .and_then(|(slot, staff)| {
            v.columns
                .iter()
                .find(|c| c.practitioner.staff_id == staff)
                .and_then(|c| {
                    c.free
                        .iter()
                        .find(|f| f.start.to_rfc3339() == slot)
                        .map(|f| (c.practitioner.name.clone(), f.clone()))
                })
        });
    let location_id = v
        .location
        .as_ref()
        .map(|l| l.id.to_string())
        .unwrap_or_default();
    let type_id = v.type_id.map(|t| t.to_string()).unwrap_or_default();
    let date = v.date.to_string();
    let empty = v.columns.is_empty();
    view! {
        <form method="get" action=action class="mt-3 flex flex-wrap items-end gap-2 print:hidden" data-testid="calendar-filters">
            <a class=PILL href=prev_href aria-label="Previous day">"←"</a>
            <label class="text-sm">"Day"<input type="date" name="date" value=date.clone() class=crate::identity::pages::INPUT/></label>
            <a class=PILL href=next_href aria-label="Next day">"→"</a>
            <a class=PILL href=today_href>"Today"</a>
            <label class="text-sm">"Location"<select name="location" class=crate::identity::pages::INPUT>
                {v.locations.iter().map(|l| {
                    let selected = v.location.as_ref().is_some_and(|c| c.id == l.id);
                    view! { <option value=l.id.to_string() selected=selected>{l.name.clone()}</option> }
                }).collect_view()}
            </select></label>
            <label class="text-sm">"Visit type"<select name="type" class=crate::identity::pages::INPUT>
                {v.types.iter().map(|t| {
                    let selected = v.type_id == Some(t.id);
                    view! { <option value=t.id.to_string() selected=selected>{format!("{} ({} min)", t.name, t.duration_min)}</option> }
                }).collect_view()}
            </select></label>
            <button type="submit" class=crate::identity::pages::BUTTON>"Show"</button>
            <a class="ml-auto text-sm underline" href=crate::site::current_site().href("/queue") rel="external" data-testid="queue-link">"Waiting-room queue"</a>
            <a class="text-sm underline" href=crate::site::current_site().href("/waitlist") rel="external" data-testid="waitlist-link">"Waitlist"</a>
            <a class="text-sm underline" href=crate::site::current_site().href("/calendar/feed") rel="external" data-testid="feed-link">"Calendar feed"</a>
        </form>
        <h2 class="mt-4 text-lg font-medium" data-testid="calendar-date">{v.date_label.clone()}{v.location.as_ref().map(|l| format!(" · {}", l.name))}</h2>
        {v.series.clone().map(|r| view! { <SeriesPanel r/> })}
        {chosen.map(|(name, s)| view! {
            <BookPanel name s search=v.search.clone() found=v.found.clone() location_id=location_id.clone() type_id=type_id.clone()/>
        })}
        {empty.then(|| view! { <p class="mt-3 text-slate-600" data-testid="calendar-empty">"Nobody is working here this day."</p> })}
        <div class="mt-3 grid gap-3 md:grid-flow-col md:auto-cols-fr" data-testid="calendar-columns">
            {v.columns.iter().map(|c| view! { <PractitionerColumn c=c.clone() v=v.clone()/> }.into_any()).collect_view()}
        </div>
    }
    .into_any()
}

#[component]
fn PractitionerColumn(c: Column, v: DayView) -> impl IntoView {
    let name = c.practitioner.name.clone();
    let heading = name.clone();
    view! {
        <section class="min-w-0 rounded-lg border border-slate-200 bg-white p-3" data-testid="calendar-column" data-practitioner=name>
            <h3 class="font-semibold">{heading}</h3>
            {c.practitioner.specialty.clone().map(|s| view! { <p class="text-xs text-slate-500">{s}</p> })}
            <ol class="mt-2 space-y-2" aria-label="Appointments">
                {c.appointments.iter().map(|a| {
                    let messages: Vec<_> = v.messages.iter().filter(|m| m.appointment_id == a.id).cloned().collect();
                    view! { <AppointmentItem a=a.clone() can_invoice=v.can_invoice messages/> }.into_any()
                }).collect_view()}
            </ol>
            {(!c.elsewhere.is_empty()).then(|| view! {
                <p class="mt-2 text-sm text-slate-600" data-testid="busy-elsewhere">
                    {format!("Busy at another clinic: {}", c.elsewhere.join(", "))}
                </p>
            })}
            <h4 class="mt-3 text-sm font-medium text-slate-600 print:hidden">"Free"</h4>
            <ul class="mt-1 flex flex-wrap gap-1 print:hidden" data-testid="free-slots">
                {c.free.iter().map(|s| {
                    let extra = format!("&slot={}&staff={}", urlencode(&s.start.to_rfc3339()), s.staff_id);
                    let href = calendar_href(&v, &v.date.to_string(), &extra);
                    view! {
                        <li><a class=PILL href=href data-testid="free-slot" data-start=s.start.to_rfc3339()>
                            {s.time.clone()}
                            {s.seats_left.map(|n| format!(" ({n} seats)"))}
                        </a></li>
                    }
                }).collect_view()}
            </ul>
            {c.free.is_empty().then(|| view! { <p class="text-sm text-slate-500 print:hidden">"No free time for this visit type."</p> })}
        </section>
    }
    .into_any()
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

#[component]
fn AppointmentItem(
    a: AppointmentView,
    can_invoice: bool,
    messages: Vec<crate::engagement::MessageLine>,
) -> impl IntoView {
    let api = |name: &str| crate::site::current_site().href(&format!("/api/{name}"));
    let chart = crate::site::current_site().href(&format!("/staff/patients/{}", a.patient_id));
    let cancelled = a.status == AppointmentStatus::Cancelled;
    let style = format!("border-left: 6px solid {}", a.colour);
    let id = a.id.to_string();
    view! {
        <li class=if cancelled { "rounded bg-slate-50 p-2 text-slate-500 line-through" } else { "rounded bg-slate-50 p-2" }
            style=style data-testid="appointment" data-status=a.status.as_str()>
            <p class="text-sm font-medium">{a.time.clone()}" · "<a class="underline" href=chart>{a.patient.clone()}</a>" · "{a.mrn.clone()}</p>
            <p class="text-xs text-slate-600">{a.type_name.clone()}" · "<span data-testid="appointment-status">{a.status.label()}</span>
                {a.cancel_reason.clone().map(|r| format!(" ({r})"))}</p>
            <div class="mt-1 flex flex-wrap gap-1 print:hidden">
                {a.status.next().iter().map(|s| view! {
                    <form method="post" action=api("set_appointment_status")>
                        <input type="hidden" name="appointment_id" value=id.clone()/>
                        <input type="hidden" name="status" value=s.as_str()/>
                        <button type="submit" class=PILL>{s.label()}</button>
                    </form>
                }).collect_view()}
                {(can_invoice && a.status == AppointmentStatus::Completed).then(|| view! {
                    <form method="post" action=api("draft_invoice")>
                        <input type="hidden" name="patient_id" value=a.patient_id.to_string()/>
                        <input type="hidden" name="appointment_id" value=id.clone()/>
                        <button type="submit" class=PILL data-testid="invoice-visit">"Invoice"</button>
                    </form>
                })}
                {a.status.is_open().then(|| view! {
                    <details>
                        <summary class="cursor-pointer text-sm text-red-700">"Cancel"</summary>
                        <form method="post" action=api("set_appointment_status") class="mt-1 flex gap-1">
                            <input type="hidden" name="appointment_id" value=id.clone()/>
                            <input type="hidden" name="status" value="cancelled"/>
                            <label class="sr-only" for=format!("reason-{id}")>"Reason"</label>
                            <input id=format!("reason-{id}") name="reason" required minlength="3" maxlength="300" placeholder="Reason" class="rounded border px-2 py-1 text-sm"/>
                            <button type="submit" class=PILL>"Cancel visit"</button>
                        </form>
                    </details>
                })}
            </div>
            <crate::engagement::pages::MessageHistory lines=messages/>
        </li>
    }
    .into_any()
}

/// What a recurring series booked, and the dates it could not.
#[component]
fn SeriesPanel(r: super::SeriesReport) -> impl IntoView {
    view! {
        <section class="mt-3 rounded-lg border border-slate-300 bg-white p-3" data-testid="series-report" role="status">
            <h3 class="font-semibold">{r.summary}</h3>
            <ul class="mt-1 text-sm" data-testid="series-booked">
                {r.booked.into_iter().map(|b| view! { <li>{b}</li> }).collect_view()}
            </ul>
            {(!r.missed.is_empty()).then(|| view! {
                <h4 class="mt-2 text-sm font-medium text-red-800">"Not booked"</h4>
                <ul class="text-sm text-red-800" data-testid="series-missed">
                    {r.missed.into_iter().map(|m| view! { <li>{m}</li> }).collect_view()}
                </ul>
            })}
        </section>
    }
}

/// The chosen free time: find the patient, then book.
#[component]
fn BookPanel(
    name: String,
    s: SlotView,
    search: Option<String>,
    found: Vec<PatientChoice>,
    location_id: String,
    type_id: String,
) -> impl IntoView {
    let find = crate::site::current_site().href("/api/booking_search");
    let book = crate::site::current_site().href("/api/book_appointment");
    let series = crate::site::current_site().href("/api/book_series");
    let searched = search.is_some();
    let query = search.unwrap_or_default();
    let start = s.start.to_rfc3339();
    let staff = s.staff_id.to_string();
    view! {
        <section class="mt-3 rounded-lg border-2 border-brand bg-white p-3" data-testid="book-panel">
            <h3 class="font-semibold">{format!("Book {} {} ({}) with {}", s.day, s.time, s.offset, name)}</h3>
            // Posted, not in the address: what is typed names a patient. The
            // server keeps it in the session and sends the page back here.
            <form method="post" action=find class="mt-2 flex flex-wrap items-end gap-2">
                <label class="text-sm">"Find the patient"
                    <input name="query" value=query autofocus placeholder="Name, record number, phone or birth date" class=crate::identity::pages::INPUT data-testid="book-search"/>
                </label>
                <button type="submit" class=crate::identity::pages::BUTTON>"Search"</button>
            </form>
            {(searched && found.is_empty()).then(|| view! { <p class="mt-2 text-sm" data-testid="book-none">"No patient matches; check the spelling or register them first."</p> })}
            <ul class="mt-2 divide-y divide-slate-200" data-testid="book-results">
                {found.into_iter().map(|p| view! {
                    <li class="flex flex-wrap items-center justify-between gap-2 py-2">
                        <span>{p.name.clone()}" · "{p.mrn.clone()}{p.born.clone().map(|b| format!(" · born {b}"))}</span>
                        <form method="post" action=book.clone()>
                            <input type="hidden" name="patient_id" value=p.id.to_string()/>
                            <input type="hidden" name="staff_id" value=staff.clone()/>
                            <input type="hidden" name="location_id" value=location_id.clone()/>
                            <input type="hidden" name="type_id" value=type_id.clone()/>
                            <input type="hidden" name="starts_at" value=start.clone()/>
                            <button type="submit" class=crate::identity::pages::BUTTON data-testid="book-patient">{format!("Book {}", p.name)}</button>
                        </form>
                        <details class="w-full" data-testid="book-repeat">
                            <summary class="cursor-pointer text-sm underline">"Repeat…"</summary>
                            <form method="post" action=series.clone() class="mt-1 flex flex-wrap items-end gap-2">
                                <input type="hidden" name="patient_id" value=p.id.to_string()/>
                                <input type="hidden" name="staff_id" value=staff.clone()/>
                                <input type="hidden" name="location_id" value=location_id.clone()/>
                                <input type="hidden" name="type_id" value=type_id.clone()/>
                                <input type="hidden" name="starts_at" value=start.clone()/>
                                <label class="text-sm">"Every"
                                    <select name="every_weeks" class=crate::identity::pages::INPUT>
                                        <option value="1">"week"</option>
                                        <option value="2">"2 weeks"</option>
                                        <option value="3">"3 weeks"</option>
                                        <option value="4">"4 weeks"</option>
                                    </select>
                                </label>
                                <label class="text-sm">"Visits in all"
                                    <input type="number" name="times" min="2" max="26" value="6" required class=crate::identity::pages::INPUT/>
                                </label>
                                <button type="submit" class=crate::identity::pages::BUTTON data-testid="book-series">"Book the series"</button>
                            </form>
                        </details>
                    </li>
                }).collect_view()}
            </ul>
        </section>
    }
    .into_any()
}
