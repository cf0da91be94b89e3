//! The chart's medicines section (prescriptions, the prescription form with
//! its safety review) and `/staff/pharmacy` (the dispensing queue). Every form
//! is a plain form post (`crate::forms`): the safety review comes back as the
//! refused post's outcome, so it works before the page's code arrives and adds
//! no action to the download.

use leptos::prelude::*;
use uuid::Uuid;

use super::api::{dispensing_queue, medications};
use super::{
    Alert, AlertLevel, LineView, MedicationsPanel, PrescriptionStatus, PrescriptionView, Review,
    DOSE_UNITS, FREQUENCIES, OVERRIDE_REASONS, ROUTES,
};
use crate::forms::{kept, refusal, PlainFormError};
use crate::identity::pages::{HydratedMarker, SignedInShell, BUTTON, INPUT};
use crate::shell::PageTitle;
use crate::site::current_site;

const SECTION: &str = "mt-6 rounded-lg border border-slate-200 bg-white p-4 shadow-sm";
const SMALL_BUTTON: &str = "rounded border border-brand px-2 py-1 text-sm text-brand";
const PRESCRIBE: &str = "/api/prescribe";
/// Empty line slots the form offers.
const SLOTS: usize = 3;

fn api(name: &str) -> String {
    current_site().href(&format!("/api/{name}"))
}

/// The review the last refused prescription post left, if that is what it left.
fn pending_review() -> Option<Review> {
    refusal(PRESCRIBE).and_then(|m| serde_json::from_str(&m).ok())
}

/// The chart's "Medications" section; loads its own data.
#[component]
pub fn Medications(patient_id: Uuid) -> impl IntoView {
    let data = Resource::new(move || patient_id, medications);
    view! {
        <section id="medications" class=SECTION data-testid="medications">
            <h2 class="text-lg font-semibold">"Medications"</h2>
            <Suspense fallback=|| view! { <p>"Loading the medicines…"</p> }>
                {move || Suspend::new(async move { match data.await {
                    Err(e) => view! { <p role="alert" class="mt-2">{e.message()}</p> }.into_any(),
                    Ok(panel) => view! { <Panel panel patient_id/> }.into_any(),
                }})}
            </Suspense>
        </section>
    }
}

#[component]
fn Panel(panel: MedicationsPanel, patient_id: Uuid) -> impl IntoView {
    let (active, past): (Vec<_>, Vec<_>) = panel
        .prescriptions
        .into_iter()
        .partition(|p| p.status == PrescriptionStatus::Active);
    let can = panel.can_prescribe;
    let active_ids: Vec<(Uuid, String)> = active
        .iter()
        .map(|p| {
            let what: Vec<String> = p.lines.iter().map(|l| l.medicine.clone()).collect();
            (p.id, what.join(", "))
        })
        .collect();
    let other = panel.other;
    let can_record = panel.can_record;
    view! {
        {if active.is_empty() {
            view! { <p class="mt-2 text-sm text-slate-600" data-testid="no-active-prescriptions">"No active prescriptions."</p> }.into_any()
        } else {
            view! {
                <ul class="mt-2 space-y-3" data-testid="active-prescriptions">
                    {active.into_iter().map(|p| view! { <Prescription p can_end=can patient_id/> }).collect_view()}
                </ul>
            }.into_any()
        }}
        {(!past.is_empty()).then(|| view! {
            <details class="mt-3">
                <summary class="cursor-pointer text-sm font-medium">{format!("Past prescriptions ({})", past.len())}</summary>
                <ul class="mt-2 space-y-3" data-testid="past-prescriptions">
                    {past.into_iter().map(|p| view! { <Prescription p can_end=false patient_id/> }).collect_view()}
                </ul>
            </details>
        })}
        <super::review::OtherAndReview patient_id other active=active_ids can_record can_review=can/>
        {can.then(|| view! {
            <PrescribeForm patient_id formulary=panel.formulary kb_version=panel.kb_version today=panel.today notes=panel.notes/>
        })}
    }
    .into_any()
}

/// One prescription: its check, lines, dispensing and (for the prescriber) the
/// buttons that end it.
#[component]
pub fn Prescription(p: PrescriptionView, can_end: bool, patient_id: Uuid) -> impl IntoView {
    let check = match p.check_status.as_str() {
        "performed" => format!(
            "Safety check performed (knowledge base {})",
            p.kb_version.clone().unwrap_or_default()
        ),
        _ => format!(
            "Allergy/interaction check NOT performed in full: {}",
            p.check_note.clone().unwrap_or_default()
        ),
    };
    let check_class = if p.check_status == "performed" {
        "text-xs text-slate-600"
    } else {
        "text-sm font-semibold text-red-800"
    };
    view! {
        <li class="rounded border border-slate-200 p-3" data-testid="prescription" data-status=p.status.as_str()>
            <p class="text-sm text-slate-700">
                {format!("Written {} by {} · starts {} · {}", p.written, p.prescriber, p.start_on, p.status.as_str())}
            </p>
            {p.end_reason.clone().map(|r| view! { <p class="text-sm">{format!("Reason: {r}")}</p> })}
            {p.from_note.clone().map(|n| view! { <p class="text-sm text-slate-700" data-testid="from-note">{format!("From {n}")}</p> })}
            <p class=check_class data-testid="check-status" data-state=p.check_status.clone()>{check}</p>
            <ul class="mt-2 space-y-2">
                {p.lines.into_iter().map(|l| view! { <Line l/> }).collect_view()}
            </ul>
            <PrintLinks id=p.id/>
            {can_end.then(|| view! { <EndForm prescription_id=p.id patient_id/> })}
        </li>
    }
    .into_any()
}

#[component]
fn Line(l: LineView) -> impl IntoView {
    view! {
        <li data-testid="prescription-line">
            <p class="font-semibold">{l.medicine.to_uppercase()}</p>
            <p class="text-sm">{l.sig.clone()}</p>
            <p class="text-sm text-slate-700">
                {format!("Quantity {} {} · refills {} · dispensed {} of {}", l.quantity, l.quantity_unit, l.refills, l.dispensed, l.allowed)}
            </p>
            {l.instructions.clone().map(|i| view! { <p class="text-sm italic">{i}</p> })}
            {l.override_reason.clone().map(|r| view! {
                <p class="mt-1 rounded bg-red-50 p-2 text-sm text-red-900" data-testid="override">
                    {format!("Alert overridden: {r}{}", l.override_note.clone().map(|n| format!(" ({n})")).unwrap_or_default())}
                </p>
            })}
            {(!l.alerts.is_empty()).then(|| view! {
                <ul class="mt-1 text-sm">
                    {l.alerts.iter().map(|a| view! { <li class=alert_class(a.level)>{format!("{}: {}", a.title, a.detail)}</li> }).collect_view()}
                </ul>
            })}
        </li>
    }
    .into_any()
}

pub(crate) fn alert_class(level: AlertLevel) -> &'static str {
    match level {
        AlertLevel::Interruptive => "rounded border-2 border-red-700 bg-red-50 p-2 text-red-900",
        AlertLevel::Unchecked => "rounded border-2 border-amber-600 bg-amber-50 p-2 text-amber-900",
        AlertLevel::Warning => "rounded bg-yellow-50 p-2 text-yellow-900",
    }
}

#[component]
fn EndForm(prescription_id: Uuid, patient_id: Uuid) -> impl IntoView {
    view! {
        <form method="post" action=api("end_prescription") class="mt-2 flex flex-wrap items-end gap-2" data-testid="end-prescription">
            <PlainFormError path="/api/end_prescription"/>
            <input type="hidden" name="patient_id" value=patient_id.to_string()/>
            <input type="hidden" name="prescription_id" value=prescription_id.to_string()/>
            <label class="text-sm">"Reason (to discontinue) "
                <input name="reason" class="rounded border border-slate-300 px-2 py-1 text-sm"/>
            </label>
            <button type="submit" name="status" value="discontinued" class=SMALL_BUTTON>"Discontinue"</button>
            <button type="submit" name="status" value="completed" class=SMALL_BUTTON>"Mark completed"</button>
        </form>
    }
    .into_any()
}

fn options(
    list: &'static [&'static str],
    chosen: String,
    blank: Option<&'static str>,
) -> impl IntoView {
    view! {
        {blank.map(|b| view! { <option value="">{b}</option> })}
        {list.iter().map(|v| view! { <option value=*v selected=chosen == *v>{*v}</option> }).collect_view()}
    }
}

/// The prescription form. After a refused post it comes back with what was
/// typed and the safety review: every alert, a reason box on each line with an
/// interruptive one, and an acknowledgement when a check could not run.
#[component]
fn PrescribeForm(
    patient_id: Uuid,
    formulary: Vec<String>,
    kb_version: Option<String>,
    today: String,
    notes: Vec<super::NoteChoice>,
) -> impl IntoView {
    let review = pending_review();
    // The note chosen before (a refused post), else the one "Prescribe from
    // this note" named.
    let from_note = Some(kept(PRESCRIBE, "visit_note_id"))
        .filter(|v| !v.is_empty())
        .or_else(|| leptos_router::hooks::use_query_map().with_untracked(|q| q.get("from_note")))
        .unwrap_or_default();
    let plain_error = refusal(PRESCRIBE).filter(|_| review.is_none());
    let seen = review
        .as_ref()
        .map(|r| {
            r.alerts
                .iter()
                .map(|a| a.key.clone())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let unchecked = review
        .as_ref()
        .is_some_and(|r| r.alerts.iter().any(|a| a.level == AlertLevel::Unchecked));
    let general: Vec<Alert> = review
        .as_ref()
        .map(|r| {
            r.alerts
                .iter()
                .filter(|a| a.line.is_none())
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let kb_text = match &kb_version {
        Some(v) => format!("Checked on saving against allergies, current medicines and each other (knowledge base {v})."),
        None => "The medication knowledge base is unavailable: the allergy/interaction check will NOT be performed.".to_owned(),
    };
    view! {
        <form method="post" action=api("prescribe") id="prescribe-form" class="mt-4 space-y-3" data-testid="prescribe-form">
            <h3 class="font-medium">"New prescription"</h3>
            <p class=if kb_version.is_some() { "text-xs text-slate-600" } else { "text-sm font-semibold text-red-800" }>{kb_text}</p>
            {plain_error.map(|m| view! {
                <p role="alert" data-testid="form-error" class="rounded bg-red-50 p-3 text-sm text-red-800">{crate::error::sentence(&m)}</p>
            })}
            {review.is_some().then(|| view! {
                <p role="alert" class="rounded bg-red-700 p-3 font-semibold text-white" data-testid="safety-review">
                    "Not saved yet: read the alerts below and answer each one, then save again."
                </p>
            })}
            {general.into_iter().map(|a| view! {
                <p class=alert_class(a.level) data-testid="alert" data-level=a.level.as_str()>
                    <strong>{a.title.clone()}</strong>" "{a.detail.clone()}
                </p>
            }).collect_view()}
            <input type="hidden" name="patient_id" value=patient_id.to_string()/>
            <input type="hidden" name="seen" value=seen/>
            <datalist id="formulary">
                {formulary.into_iter().map(|m| view! { <option value=m></option> }).collect_view()}
            </datalist>
            <datalist id="frequencies">
                {FREQUENCIES.iter().map(|f| view! { <option value=*f></option> }).collect_view()}
            </datalist>
            <label class="block text-sm">"From visit note"
                <select name="visit_note_id" class="mt-1 block w-full max-w-md rounded border border-slate-300 px-2 py-1" data-testid="prescribe-note">
                    <option value="">"None"</option>
                    {notes.into_iter().map(|n| {
                        let id = n.id.to_string();
                        let chosen = id == from_note;
                        view! { <option value=id selected=chosen>{n.label}</option> }
                    }).collect_view()}
                </select>
            </label>
            {(0..SLOTS).map(|n| view! { <LineInputs n review=review.clone()/> }).collect_view()}
            <label class="block text-sm">"Starts on "
                <input type="date" name="start_on" class="rounded border border-slate-300 px-2 py-1" value=kept(PRESCRIBE, "start_on") min=today.clone()/>
            </label>
            {unchecked.then(|| view! {
                <label class="flex items-start gap-2 rounded border-2 border-amber-600 bg-amber-50 p-2 text-sm font-semibold text-amber-900">
                    <input type="checkbox" name="acknowledge" value="yes" data-testid="acknowledge"/>
                    "I acknowledge that the allergy/interaction check was NOT performed in full, and I have checked this prescription myself."
                </label>
            })}
            <button type="submit" class=BUTTON data-testid="prescribe-submit">"Save prescription"</button>
        </form>
    }
    .into_any()
}

/// One line's inputs (`lines[n][...]`), with its alerts and, for an
/// interruptive one, the reason to go ahead.
#[component]
fn LineInputs(n: usize, review: Option<Review>) -> impl IntoView {
    let name = move |f: &str| format!("lines[{n}][{f}]");
    let keep = move |f: &str| kept(PRESCRIBE, &name(f));
    let alerts: Vec<Alert> = review
        .map(|r| r.alerts.into_iter().filter(|a| a.line == Some(n)).collect())
        .unwrap_or_default();
    let interrupts = alerts.iter().any(|a| a.level == AlertLevel::Interruptive);
    let label = |f: &str, text: &'static str| view! { <label for=format!("l{n}-{f}") class="block text-xs font-medium">{text}</label> };
    view! {
        <fieldset class="rounded border border-slate-200 p-3" data-testid="prescription-line-input">
            <legend class="text-sm font-medium">{format!("Medicine {}", n + 1)}</legend>
            {alerts.iter().map(|a| view! {
                <p class=format!("mb-2 {}", alert_class(a.level)) data-testid="alert" data-level=a.level.as_str()>
                    <strong>{a.title.clone()}</strong>" "{a.detail.clone()}
                </p>
            }).collect_view()}
            <div class="grid gap-2 sm:grid-cols-4">
                <div class="sm:col-span-4">
                    {label("medicine", "Medicine (from the formulary, or type a name)")}
                    <input id=format!("l{n}-medicine") name=name("medicine") list="formulary" class=INPUT value=keep("medicine")/>
                </div>
                <div>
                    {label("dose", "Dose")}
                    <input id=format!("l{n}-dose") name=name("dose") inputmode="decimal" class=INPUT value=keep("dose")/>
                </div>
                <div>
                    {label("dose_unit", "Unit")}
                    <select id=format!("l{n}-dose_unit") name=name("dose_unit") class=INPUT>{options(DOSE_UNITS, keep("dose_unit"), None)}</select>
                </div>
                <div>
                    {label("route", "Route")}
                    <select id=format!("l{n}-route") name=name("route") class=INPUT>{options(ROUTES, keep("route"), Some("The medicine's own"))}</select>
                </div>
                <div>
                    {label("frequency", "Frequency")}
                    <input id=format!("l{n}-frequency") name=name("frequency") list="frequencies" placeholder="1-0-1" class=INPUT value=keep("frequency")/>
                </div>
                <div>
                    {label("duration_days", "Days")}
                    <input id=format!("l{n}-duration_days") name=name("duration_days") inputmode="numeric" class=INPUT value=keep("duration_days")/>
                </div>
                <div>
                    {label("quantity", "Quantity (blank: counted)")}
                    <input id=format!("l{n}-quantity") name=name("quantity") inputmode="numeric" class=INPUT value=keep("quantity")/>
                </div>
                <div>
                    {label("refills", "Refills")}
                    <input id=format!("l{n}-refills") name=name("refills") inputmode="numeric" placeholder="0" class=INPUT value=keep("refills")/>
                </div>
                <div>
                    {label("prn_indication", "When needed, for")}
                    <input id=format!("l{n}-prn_indication") name=name("prn_indication") class=INPUT value=keep("prn_indication")/>
                </div>
                <div class="sm:col-span-4">
                    {label("instructions", "Instructions to the patient")}
                    <input id=format!("l{n}-instructions") name=name("instructions") class=INPUT value=keep("instructions")/>
                </div>
                {interrupts.then(|| view! {
                    <div class="sm:col-span-2">
                        {label("override_reason", "Reason to go ahead despite the alert")}
                        <select id=format!("l{n}-override_reason") name=name("override_reason") class=INPUT data-testid="override-reason">
                            {options(OVERRIDE_REASONS, keep("override_reason"), Some("Choose a reason"))}
                        </select>
                    </div>
                    <div class="sm:col-span-2">
                        {label("override_note", "Note (required for Other)")}
                        <input id=format!("l{n}-override_note") name=name("override_note") class=INPUT value=keep("override_note")/>
                    </div>
                })}
            </div>
        </fieldset>
    }
    .into_any()
}

/// `/staff/pharmacy`: active prescriptions with something left to dispense.
#[component]
pub fn PharmacyPage() -> impl IntoView {
    let queue = Resource::new(|| (), |_| dispensing_queue());
    view! {
        <PageTitle text="Dispensing"/>
        <SignedInShell testid="pharmacy-page">
            <h1 class="text-xl font-semibold">"Dispensing"</h1>
            <p class="mt-1 text-sm text-slate-600">"Prescriptions waiting, oldest first. Overridden alerts are shown in red: read them before dispensing."</p>
            <PlainFormError path="/api/dispense"/>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move { match queue.await {
                    Err(e) => view! { <p role="alert" class="mt-4">{e.message()}</p> }.into_any(),
                    Ok(items) if items.is_empty() => view! {
                        <p class="mt-4 text-sm" data-testid="queue-empty">"Nothing to dispense."</p>
                    }.into_any(),
                    Ok(items) => view! {
                        <ul class="mt-4 space-y-4" data-testid="dispensing-queue">
                            {items.into_iter().map(|item| {
                                let id = item.prescription.id;
                                let lines = item.prescription.lines.clone();
                                let patient = item.prescription.patient_id;
                                view! {
                                    <li class="rounded-lg border border-slate-200 bg-white p-4" data-testid="queue-item">
                                        <p class="font-semibold">{format!("{} · {}", item.patient_name, item.mrn)}</p>
                                        // A prescription is a list item: inside a list of its own.
                                        <ul class="mt-2"><Prescription p=item.prescription can_end=false patient_id=patient/></ul>
                                        {lines.into_iter().filter(|l| l.dispensed < l.allowed).map(|l| view! {
                                            <DispenseForm prescription_id=id line=l/>
                                        }).collect_view()}
                                    </li>
                                }.into_any()
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                }})}
            </Suspense>
            <HydratedMarker/>
        </SignedInShell>
    }
}

#[component]
fn DispenseForm(prescription_id: Uuid, line: LineView) -> impl IntoView {
    let left = line.allowed - line.dispensed;
    let fill = line.quantity.min(left);
    view! {
        <form method="post" action=api("dispense") class="mt-2 flex flex-wrap items-end gap-2 border-t border-slate-200 pt-2" data-testid="dispense-form">
            <p class="w-full text-sm font-medium">{format!("Dispense {} ({} {} left)", line.medicine, left, line.quantity_unit)}</p>
            <input type="hidden" name="prescription_id" value=prescription_id.to_string()/>
            <input type="hidden" name="line_id" value=line.id.to_string()/>
            <label class="text-sm">"Quantity "
                <input name="quantity" inputmode="numeric" value=fill.to_string() class="w-24 rounded border border-slate-300 px-2 py-1"/>
            </label>
            <label class="text-sm">"Batch "
                <input name="batch" class="w-32 rounded border border-slate-300 px-2 py-1"/>
            </label>
            <label class="text-sm">"Expires "
                <input name="expires_on" type="date" class="rounded border border-slate-300 px-2 py-1"/>
            </label>
            <button type="submit" class=SMALL_BUTTON>"Record dispensing"</button>
        </form>
    }
    .into_any()
}

/// Print (A4, A5) and PDF links of a prescription.
#[component]
pub fn PrintLinks(id: Uuid) -> impl IntoView {
    let href = |what: &str| current_site().href(&format!("/prescriptions/{id}/{what}"));
    view! {
        <p class="mt-2 text-sm" data-testid="print-links">
            <a class="text-brand underline" href=href("print") target="_blank">"Print A4"</a>" · "
            <a class="text-brand underline" href=href("print?size=a5") target="_blank">"A5"</a>" · "
            <a class="text-brand underline" href=href("pdf") download="">"PDF"</a>
        </p>
    }
}

/// Owners' report: prescribing alerts shown and overridden, per rule, so a
/// clinic sees which rules are noise (mostly overridden) and which work.
#[component]
pub fn AlertReport(rows: Vec<super::AlertRuleCount>) -> impl IntoView {
    view! {
        <section class="mt-6" data-testid="alert-report">
            <h2 class="text-lg font-semibold">"Prescribing alerts"</h2>
            {if rows.is_empty() {
                view! { <p class="mt-2 text-sm">"No alerts yet."</p> }.into_any()
            } else {
                view! {
                    <div class="overflow-x-auto">
                    <table class="mt-2 text-sm">
                        <thead><tr><th class="pr-4 text-left">"Rule"</th><th class="pr-4 text-left">"Level"</th><th class="pr-4 text-right">"Shown"</th><th class="text-right">"Overridden"</th></tr></thead>
                        <tbody>
                            {rows.into_iter().map(|r| view! {
                                <tr><td class="pr-4 break-all">{r.rule}</td><td class="pr-4">{r.level}</td><td class="pr-4 text-right">{r.shown.to_string()}</td><td class="text-right">{r.overridden.to_string()}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
    .into_any()
}
