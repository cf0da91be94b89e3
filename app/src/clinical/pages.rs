//! `/staff/patients/{id}`: the chart. A header with the allergy banner on top of
//! every section; allergies, problems, vitals (trend charts with a table) and
//! visit notes below. Every form is a plain form post (`crate::forms`): it works
//! before the page's code arrives and adds nothing to the download.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use super::api::chart;
use super::vitals::{polyline, Measure};
use super::{
    AllergyBanner, ConsentKind, EntryStatus, FlagKind, Note, NoteStatus, PatientChart,
    COMMON_ALLERGENS,
};
use crate::forms::{kept, PlainFormError};
use crate::identity::pages::{HydratedMarker, SignedInShell, BUTTON, INPUT};
use crate::shell::PageTitle;
use crate::site::current_site;

const SECTION: &str = "mt-6 rounded-lg border border-slate-200 bg-white p-4 shadow-sm";
const SMALL_BUTTON: &str = "rounded border border-brand px-2 py-1 text-sm text-brand";

fn api(name: &str) -> String {
    current_site().href(&format!("/api/{name}"))
}

#[component]
pub fn ChartPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").and_then(|s| s.parse::<Uuid>().ok())));
    let data = Resource::new(
        move || id.get(),
        |id| async move {
            match id {
                Some(id) => chart(id).await,
                None => Err(crate::error::AppError::NotFound),
            }
        },
    );
    view! {
        <PageTitle text="Patient chart"/>
        <SignedInShell testid="chart-page">
            <Suspense fallback=|| view! { <p>"Loading the chart…"</p> }>
                {move || data.get().map(|c| match c {
                    Err(e) => view! {
                        <h1 class="text-xl font-semibold">"Patient chart"</h1>
                        <p role="alert" class="mt-4" data-testid="chart-error">{e.message()}</p>
                        {matches!(&e, crate::error::AppError::Field(f, _) if f == "restricted")
                            .then(|| id.get_untracked().map(|id| view! { <BreakGlassForm patient_id=id/> }))}
                    }.into_any(),
                    Ok(c) => view! { <ChartView chart=c/> }.into_any(),
                })}
            </Suspense>
            <HydratedMarker/>
        </SignedInShell>
    }
}

/// Each section's view is erased to `AnyView`: the whole page as one static type
/// is too deep for the compiler, and its rendering too deep for a thread's stack.
#[component]
fn ChartView(chart: PatientChart) -> impl IntoView {
    let c = StoredValue::new(chart);
    let h = c.with_value(|c| c.header.clone());
    view! {
        <header class="flex flex-wrap items-center gap-4" data-testid="chart-header">
            <span aria-hidden="true" class="flex h-14 w-14 items-center justify-center rounded-full bg-brand text-xl font-bold text-on-brand">{h.initials.clone()}</span>
            <div class="min-w-0">
                <h1 class="text-xl font-semibold" data-testid="chart-name">{h.name.clone()}</h1>
                <p class="text-sm text-slate-700">
                    {format!("{} years · {} · born {} · {}", h.age, h.sex, h.born, h.mrn)}
                    {h.blood_type.clone().map(|b| format!(" · blood type {b}"))}
                </p>
                {(h.status != "active" || h.archived).then(|| view! {
                    <p class="text-sm font-semibold text-amber-800">
                        {format!("Status: {}{}", h.status, if h.archived { " (archived)" } else { "" })}
                    </p>
                })}
            </div>
        </header>
        {c.with_value(|c| c.merged_into.clone()).map(|(id, mrn)| view! {
            <p role="status" class="mt-2 rounded bg-amber-50 p-3 text-sm text-amber-900" data-testid="merged-banner">
                "This record was merged into "
                <a class="font-semibold underline" href=current_site().href(&format!("/staff/patients/{id}"))>{mrn}</a>
                ". It is kept as it was; new entries go on that record."
            </p>
        })}
        <ErasureBanner c/>
        {view! { <crate::billing::pages::ChartMoney patient_id=h.patient_id/> }.into_any()}
        {c.with_value(|c| c.can_archive && c.merged_into.is_none() && c.erasure.retain_until.is_none()).then(|| {
            let archived = h.archived;
            view! {
                <form method="post" action=api("set_patient_archived") class="mt-2" data-testid="archive-form">
                    <PlainFormError path="/api/set_patient_archived"/>
                    <input type="hidden" name="patient_id" value=h.patient_id.to_string()/>
                    <input type="hidden" name="archived" value=if archived { "false" } else { "true" }/>
                    <button type="submit" class=SMALL_BUTTON>
                        {if archived { "Restore this record" } else { "Archive this record (hide from lists; nothing is deleted)" }}
                    </button>
                </form>
                {(!archived).then(|| view! { <MergeForm patient_id=h.patient_id/> })}
            }
        })}
        <p class="mt-2 text-sm">
            <a class="text-brand underline" data-testid="export-fhir" download=format!("record-{}.fhir.json", h.mrn)
                href=current_site().href(&format!("/fhir/R4/Patient/{}/$everything", h.patient_id))>
                "Export the whole record (FHIR R4)"
            </a>
            " · "
            <a class="text-brand underline" data-testid="export-zip" download="health-record.zip"
                href=current_site().href(&format!("/records/{}/download", h.patient_id))>
                "Download everything as a zip (FHIR and documents)"
            </a>
        </p>
        {view! { <FlagBanner c/> }.into_any()}
        {view! { <Banner banner=c.with_value(|c| c.banner.clone())/> }.into_any()}
        <nav class="mt-4 flex flex-wrap gap-3 text-sm" aria-label="Chart sections">
            <a class="text-brand underline" href="#allergies">"Allergies"</a>
            <a class="text-brand underline" href="#problems">"Problems"</a>
            <a class="text-brand underline" href="#medications">"Medications"</a>
            <a class="text-brand underline" href="#vitals">"Vitals"</a>
            <a class="text-brand underline" href="#notes">"Visit notes"</a>
            <a class="text-brand underline" href="#documents">"Documents"</a>
            <a class="text-brand underline" href="#flags">"Flags and consents"</a>
        </nav>
        {view! { <Allergies c/> }.into_any()}
        {view! { <Problems c/> }.into_any()}
        {view! { <crate::prescribing::pages::Medications patient_id=h.patient_id/> }.into_any()}
        {view! { <Vitals c/> }.into_any()}
        {view! { <Notes c/> }.into_any()}
        {view! { <Documents c/> }.into_any()}
        {view! { <FlagsAndConsents c/> }.into_any()}
        {view! { <Details c/> }.into_any()}
        {view! { <Lists c/> }.into_any()}
    }
}

/// The allergy banner: never blank, so "not asked" cannot pass for "none".
#[component]
fn Banner(banner: AllergyBanner) -> impl IntoView {
    let (class, text, state) = match banner {
        AllergyBanner::Allergies(list) => (
            "bg-red-700 text-white",
            format!("Allergies: {}", list.join(", ")),
            "allergies",
        ),
        AllergyBanner::NoneKnown => (
            "bg-green-50 text-green-900 border border-green-700",
            "No known allergies (asked and recorded)".to_owned(),
            "none-known",
        ),
        AllergyBanner::NotYetAsked => (
            "bg-amber-50 text-amber-900 border border-amber-700",
            "Allergies not yet recorded: ask the patient before prescribing".to_owned(),
            "not-asked",
        ),
    };
    view! {
        <p class=format!("mt-4 rounded p-3 font-semibold {class}") role="status" data-testid="allergy-banner" data-state=state>{text}</p>
    }
}

fn status_buttons(
    endpoint: &'static str,
    patient: Uuid,
    id_name: &'static str,
    id: Uuid,
    choices: &'static [(&'static str, &'static str)],
) -> impl IntoView {
    view! {
        <form method="post" action=api(endpoint) class="mt-1 flex flex-wrap gap-2">
            <input type="hidden" name="patient_id" value=patient.to_string()/>
            <input type="hidden" name=id_name value=id.to_string()/>
            {choices.iter().map(|(value, label)| view! {
                <button type="submit" name="status" value=*value class=SMALL_BUTTON>{*label}</button>
            }).collect_view()}
        </form>
    }
}

#[component]
fn Allergies(c: StoredValue<PatientChart>) -> impl IntoView {
    let (patient, can_write, list) =
        c.with_value(|c| (c.header.patient_id, c.can_write, c.allergies.clone()));
    let path = "/api/add_allergy";
    view! {
        <section id="allergies" class=SECTION data-testid="allergies">
            <h2 class="text-lg font-semibold">"Allergies and intolerances"</h2>
            <ul class="mt-2 space-y-2">
                {list.into_iter().map(|a| {
                    let current = a.status == EntryStatus::Active;
                    let detail = [
                        Some(a.category.as_str().to_owned()),
                        Some(format!("criticality {}", a.criticality.as_str())),
                        a.severity.map(|s| format!("severity {}", s.as_str())),
                        a.reaction.clone().map(|r| format!("reaction: {r}")),
                        a.onset_on.map(|d| format!("since {d}")),
                    ].into_iter().flatten().collect::<Vec<_>>().join(" · ");
                    let when = c.with_value(|c| c.when(a.id));
                    view! {
                        <li class="border-t border-slate-200 pt-2" data-testid="allergy" data-status=a.status.as_str()>
                            <p class=if current { "font-semibold" } else { "text-slate-600 line-through" }>{a.substance.clone()}</p>
                            {(!a.none_known).then(|| view! { <p class="text-sm text-slate-700">{detail}</p> })}
                            <p class="text-xs text-slate-600">{format!("{} · recorded by {} on {when}", a.status.as_str(), a.recorded_by)}</p>
                            {(can_write && current && !a.none_known).then(|| status_buttons("set_allergy_status", patient, "allergy_id", a.id,
                                &[("resolved", "Resolved"), ("inactive", "Inactive"), ("entered-in-error", "Entered in error")]))}
                        </li>
                    }
                }).collect_view()}
            </ul>
            {can_write.then(|| view! {
                <form method="post" action=api("no_known_allergies" ) class="mt-3">
                    <input type="hidden" name="patient_id" value=patient.to_string()/>
                    <PlainFormError path="/api/no_known_allergies"/>
                    <button type="submit" class=SMALL_BUTTON data-testid="no-known-allergies">"Record: no known allergies"</button>
                </form>
                <form method="post" action=api("add_allergy") class="mt-4 grid gap-3 sm:grid-cols-2" data-testid="allergy-form">
                    <h3 class="font-medium sm:col-span-2">"Record an allergy"</h3>
                    <div class="sm:col-span-2"><PlainFormError path=path/></div>
                    <input type="hidden" name="patient_id" value=patient.to_string()/>
                    <div>
                        <label for="substance" class="block text-sm font-medium">"Substance"</label>
                        <input id="substance" name="substance" list="allergens" required class=INPUT value=kept(path, "substance")/>
                        <datalist id="allergens">
                            {COMMON_ALLERGENS.iter().map(|(name, _)| view! { <option value=*name></option> }).collect_view()}
                        </datalist>
                    </div>
                    <div>
                        <label for="category" class="block text-sm font-medium">"Category"</label>
                        <select id="category" name="category" class=INPUT>
                            <option value="medication">"Medication"</option>
                            <option value="food">"Food"</option>
                            <option value="environment">"Environment"</option>
                            <option value="biologic">"Biologic"</option>
                            <option value="other">"Other"</option>
                        </select>
                    </div>
                    <div>
                        <label for="criticality" class="block text-sm font-medium">"Criticality"</label>
                        <select id="criticality" name="criticality" class=INPUT>
                            <option value="high">"High"</option>
                            <option value="low">"Low"</option>
                            <option value="unable-to-assess">"Unable to assess"</option>
                        </select>
                    </div>
                    <div>
                        <label for="severity" class="block text-sm font-medium">"Severity of reaction"</label>
                        <select id="severity" name="severity" class=INPUT>
                            <option value="">"Not known"</option>
                            <option value="mild">"Mild"</option>
                            <option value="moderate">"Moderate"</option>
                            <option value="severe">"Severe"</option>
                        </select>
                    </div>
                    <div>
                        <label for="reaction" class="block text-sm font-medium">"Reaction (optional)"</label>
                        <input id="reaction" name="reaction" class=INPUT value=kept(path, "reaction")/>
                    </div>
                    <div>
                        <label for="allergy_onset" class="block text-sm font-medium">"Since (optional)"</label>
                        <input id="allergy_onset" name="onset_on" type="date" class=INPUT/>
                    </div>
                    <div class="sm:col-span-2"><button type="submit" class=BUTTON data-testid="allergy-submit">"Record allergy"</button></div>
                </form>
            })}
        </section>
    }
}

#[component]
fn Problems(c: StoredValue<PatientChart>) -> impl IntoView {
    let (patient, can_write, list, version) = c.with_value(|c| {
        (
            c.header.patient_id,
            c.can_write,
            c.problems.clone(),
            c.icd10_version.clone(),
        )
    });
    let path = "/api/add_problem";
    view! {
        <section id="problems" class=SECTION data-testid="problems">
            <h2 class="text-lg font-semibold">"Problems and diagnoses"</h2>
            <ul class="mt-2 space-y-2">
                {list.into_iter().map(|p| {
                    let current = p.status.is_current();
                    let when = c.with_value(|c| c.when(p.id));
                    view! {
                        <li class="border-t border-slate-200 pt-2" data-testid="problem" data-status=p.status.as_str()>
                            <p class=if current { "font-semibold" } else { "text-slate-600" }>
                                {p.code.clone().map(|code| format!("{code} · "))}{p.description.clone()}
                            </p>
                            <p class="text-xs text-slate-600">
                                {format!("{} · recorded by {} on {when}", p.status.as_str(), p.recorded_by)}
                                {p.onset_on.map(|d| format!(" · onset {d}"))}
                            </p>
                            {(can_write && p.status != EntryStatus::EnteredInError).then(|| status_buttons("set_problem_status", patient, "problem_id", p.id,
                                &[("active", "Active"), ("chronic", "Chronic"), ("resolved", "Resolved"), ("entered-in-error", "Entered in error")]))}
                        </li>
                    }
                }).collect_view()}
            </ul>
            {can_write.then(|| view! {
                <form method="post" action=api("add_problem") class="mt-4 grid gap-3 sm:grid-cols-2" data-testid="problem-form">
                    <h3 class="font-medium sm:col-span-2">"Record a problem"</h3>
                    <div class="sm:col-span-2"><PlainFormError path=path/></div>
                    <input type="hidden" name="patient_id" value=patient.to_string()/>
                    <div>
                        <label for="code" class="block text-sm font-medium">"ICD-10-CM code (optional)"</label>
                        <input id="code" name="code" class=INPUT value=kept(path, "code") placeholder="E11.9"/>
                        <p class="mt-1 text-xs text-slate-600">{version}</p>
                    </div>
                    <div>
                        <label for="description" class="block text-sm font-medium">"Description (filled from the code when empty)"</label>
                        <input id="description" name="description" class=INPUT value=kept(path, "description")/>
                    </div>
                    <div>
                        <label for="problem_status" class="block text-sm font-medium">"Status"</label>
                        <select id="problem_status" name="status" class=INPUT>
                            <option value="active">"Active"</option>
                            <option value="chronic">"Chronic"</option>
                            <option value="resolved">"Resolved"</option>
                        </select>
                    </div>
                    <div>
                        <label for="problem_onset" class="block text-sm font-medium">"Onset (optional)"</label>
                        <input id="problem_onset" name="onset_on" type="date" class=INPUT/>
                    </div>
                    <div class="sm:col-span-2"><button type="submit" class=BUTTON data-testid="problem-submit">"Record problem"</button></div>
                </form>
            })}
        </section>
    }
}

#[component]
fn Vitals(c: StoredValue<PatientChart>) -> impl IntoView {
    let (patient, can_write, readings, imperial) = c.with_value(|c| {
        (
            c.header.patient_id,
            c.can_write,
            c.vitals.clone(),
            c.imperial,
        )
    });
    let path = "/api/record_vitals";
    let span = readings.len().saturating_sub(1).max(1) as f64;
    let charts = Measure::ALL
        .into_iter()
        .filter_map(|m| {
            let points: Vec<(f64, f64)> = readings
                .iter()
                .enumerate()
                .filter_map(|(i, r)| m.values(&r.measures, imperial).map(|(v, _)| (i as f64 / span, v)))
                .collect();
            (points.len() >= 2).then(|| {
                let (line, lo, hi) = polyline(&points, 240.0, 60.0);
                let latest = readings.iter().rev().find_map(|r| m.text(&r.measures, imperial)).unwrap_or_default();
                view! {
                    <figure class="rounded border border-slate-200 p-2" data-testid="vitals-chart">
                        <figcaption class="text-sm font-medium">{format!("{}: latest {latest}", m.label())}</figcaption>
                        <svg viewBox="0 0 240 60" class="h-16 w-full" role="img"
                            aria-label=format!("{} trend from {lo} to {hi} {}; the table below lists every reading", m.label(), m.unit(imperial))>
                            <polyline points=line fill="none" stroke="currentColor" stroke-width="2" class="text-brand"/>
                        </svg>
                    </figure>
                }
            })
        })
        .collect_view();
    view! {
        <section id="vitals" class=SECTION data-testid="vitals">
            <h2 class="text-lg font-semibold">"Vital signs"</h2>
            <div class="mt-2 grid gap-2 sm:grid-cols-2 lg:grid-cols-3">{charts}</div>
            <div class="relative mt-3 max-w-full overflow-x-auto" tabindex="0" role="region" aria-label="Vital signs readings">
                <table class="w-full text-left text-sm" data-testid="vitals-table">
                    <thead><tr>
                        <th class="p-1">"Taken"</th>
                        {Measure::ALL.into_iter().map(|m| view! { <th class="p-1">{format!("{} ({})", m.label(), m.unit(imperial))}</th> }).collect_view()}
                    </tr></thead>
                    <tbody>
                        {readings.iter().rev().map(|r| {
                            let when = c.with_value(|c| c.when(r.id));
                            view! {
                                <tr class="border-t border-slate-200">
                                    <td class="p-1 whitespace-nowrap">{when}</td>
                                    {Measure::ALL.into_iter().map(|m| {
                                        let text = m.values(&r.measures, imperial).map(|(a, b)| match b {
                                            Some(b) => format!("{a}/{b}"),
                                            None => format!("{a}"),
                                        }).unwrap_or_default();
                                        view! { <td class="p-1">{text}</td> }
                                    }).collect_view()}
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            {can_write.then(|| {
                let (len, mass, temp) = if imperial { ("in", "lb", "°F") } else { ("cm", "kg", "°C") };
                let field = move |name: &'static str, label: String, mode: &'static str| view! {
                    <div>
                        <label for=name class="block text-sm font-medium">{label}</label>
                        <input id=name name=name inputmode=mode class=INPUT value=kept(path, name)/>
                    </div>
                };
                view! {
                    <form method="post" action=api("record_vitals") class="mt-4 grid gap-3 sm:grid-cols-4" data-testid="vitals-form">
                        <h3 class="font-medium sm:col-span-4">"Record vital signs"</h3>
                        <div class="sm:col-span-4"><PlainFormError path=path/></div>
                        <input type="hidden" name="patient_id" value=patient.to_string()/>
                        <input type="hidden" name="units" value=if imperial { "imperial" } else { "metric" }/>
                        {field("height", format!("Height ({len})"), "decimal")}
                        {field("weight", format!("Weight ({mass})"), "decimal")}
                        {field("blood_pressure", "Blood pressure (mmHg, 120/80)".to_owned(), "text")}
                        {field("pulse", "Pulse (/min)".to_owned(), "numeric")}
                        {field("temperature", format!("Temperature ({temp})"), "decimal")}
                        {field("spo2", "SpO₂ (%)".to_owned(), "numeric")}
                        {field("resp_rate", "Respiratory rate (/min)".to_owned(), "numeric")}
                        <div class="flex items-end"><button type="submit" class=BUTTON data-testid="vitals-submit">"Record vitals"</button></div>
                    </form>
                }
            })}
        </section>
    }
}

#[component]
fn Notes(c: StoredValue<PatientChart>) -> impl IntoView {
    let (patient, can_write, notes, me, can_prescribe) = c.with_value(|c| {
        (
            c.header.patient_id,
            c.can_write,
            c.notes.clone(),
            c.viewer_staff_id,
            c.can_prescribe,
        )
    });
    let originals: Vec<Note> = notes
        .iter()
        .filter(|n| n.addendum_to.is_none())
        .cloned()
        .collect();
    let my_draft_count = notes
        .iter()
        .filter(|n| n.status == NoteStatus::Draft && n.author_id == me)
        .count();
    view! {
        <section id="notes" class=SECTION data-testid="notes">
            <h2 class="text-lg font-semibold">"Visit notes"</h2>
            {(my_draft_count > 0).then(|| view! {
                <p class="mt-1 text-sm text-amber-800">{format!("You have {my_draft_count} unsigned draft(s) for this patient.")}</p>
            })}
            {can_write.then(|| view! { <NoteForm patient note=None/> })}
            <ul class="mt-4 space-y-4">
                {originals.into_iter().map(|n| {
                    let addenda: Vec<Note> = notes.iter().filter(|a| a.addendum_to == Some(n.id)).cloned().collect();
                    let mine_draft = can_write && n.status == NoteStatus::Draft && n.author_id == me;
                    view! {
                        <li class="border-t border-slate-200 pt-3" data-testid="note" data-status=n.status.as_str()>
                            {if mine_draft {
                                view! { <NoteForm patient note=Some(n.clone())/> }.into_any()
                            } else {
                                view! { <NoteBody c note=n.clone()/> }.into_any()
                            }}
                            {(can_prescribe && n.status == NoteStatus::Signed).then(|| view! {
                                <a class="mt-1 inline-block text-sm text-brand underline" data-testid="prescribe-from-note" rel="external"
                                    href=format!("?from_note={}#prescribe-form", n.id)>"Prescribe from this note"</a>
                            })}
                            <ul class="ml-4 mt-2 space-y-2 border-l-2 border-slate-200 pl-3">
                                {addenda.into_iter().map(|a| view! { <li data-testid="addendum"><NoteBody c note=a/></li> }).collect_view()}
                            </ul>
                            {(can_write && n.status == NoteStatus::Signed).then(|| view! {
                                <form method="post" action=api("add_addendum") class="mt-2 space-y-2" data-testid="addendum-form">
                                    <PlainFormError path="/api/add_addendum"/>
                                    <input type="hidden" name="patient_id" value=patient.to_string()/>
                                    <input type="hidden" name="note_id" value=n.id.to_string()/>
                                    <label for=format!("addendum-{}", n.id) class="block text-sm font-medium">"Addendum (signed when added)"</label>
                                    <textarea id=format!("addendum-{}", n.id) name="text" rows="2" class=INPUT></textarea>
                                    <button type="submit" class=SMALL_BUTTON data-testid="addendum-submit">"Sign addendum"</button>
                                </form>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}

#[component]
fn NoteBody(c: StoredValue<PatientChart>, note: Note) -> impl IntoView {
    let when = c.with_value(|c| c.when(note.id));
    let status = match note.status {
        NoteStatus::Signed => format!(
            "Signed by {} on {when} · SHA-256 {}",
            note.author,
            note.content_sha256
                .as_deref()
                .map(|h| &h[..16.min(h.len())])
                .unwrap_or_default()
        ),
        NoteStatus::Draft => format!("Draft by {} · started {when}", note.author),
    };
    let sections = [
        ("Subjective", note.soap.subjective.clone()),
        ("Objective", note.soap.objective.clone()),
        ("Assessment", note.soap.assessment.clone()),
        ("Plan", note.soap.plan.clone()),
    ];
    let addendum = note.addendum_to.is_some();
    view! {
        <article>
            <h3 class="font-medium">{note.title.clone()}</h3>
            <p class="text-xs text-slate-600" data-testid="note-status">{status}{note.shareable.then_some(" · shared with the patient")}</p>
            {sections.into_iter().filter(|(_, t)| !t.is_empty()).map(|(label, text)| view! {
                <div class="mt-1">
                    {(!addendum).then(|| view! { <p class="text-xs font-semibold uppercase text-slate-600">{label}</p> })}
                    <p class="whitespace-pre-wrap text-sm">{text}</p>
                </div>
            }).collect_view()}
        </article>
    }
}

/// A new note, or the author's own draft: save as draft, or sign.
#[component]
fn NoteForm(patient: Uuid, note: Option<Note>) -> impl IntoView {
    let path = "/api/save_note";
    let existing = note.clone();
    let value = move |name: &str, current: Option<String>| {
        let typed = kept(path, name);
        if typed.is_empty() {
            current.unwrap_or_default()
        } else {
            typed
        }
    };
    let soap = existing
        .as_ref()
        .map(|n| n.soap.clone())
        .unwrap_or_default();
    let key = existing
        .as_ref()
        .map_or_else(|| "new".to_owned(), |n| n.id.to_string());
    let id = move |name: &str| format!("{name}-{key}");
    let sections = [
        ("subjective", "Subjective", soap.subjective.clone()),
        ("objective", "Objective", soap.objective.clone()),
        ("assessment", "Assessment", soap.assessment.clone()),
        ("plan", "Plan", soap.plan.clone()),
    ];
    let heading = if existing.is_some() {
        "Your draft"
    } else {
        "Write a visit note"
    };
    view! {
        <form method="post" action=api("save_note") class="mt-3 space-y-2" data-testid=if existing.is_some() { "draft-form" } else { "note-form" }>
            <h3 class="font-medium">{heading}</h3>
            <PlainFormError path=path/>
            <input type="hidden" name="patient_id" value=patient.to_string()/>
            {existing.as_ref().map(|n| view! { <input type="hidden" name="note_id" value=n.id.to_string()/> })}
            <label for=id("title") class="block text-sm font-medium">"Title"</label>
            <input id=id("title") name="title" class=INPUT value=value("title", existing.as_ref().map(|n| n.title.clone()))/>
            {sections.into_iter().map(|(name, label, current)| {
                let field_id = id(name);
                view! {
                    <label for=field_id.clone() class="block text-sm font-medium">{label}</label>
                    <textarea id=field_id name=name rows="3" class=INPUT>{value(name, Some(current))}</textarea>
                }
            }).collect_view()}
            <label class="flex items-center gap-2 text-sm">
                <input type="checkbox" name="shareable" value="yes" checked=existing.as_ref().is_some_and(|n| n.shareable)/>
                "Share the signed summary with the patient in the portal"
            </label>
            <div class="flex flex-wrap gap-2">
                <button type="submit" class=SMALL_BUTTON data-testid="note-save">"Save draft"</button>
                <button type="submit" name="sign" value="yes" class=BUTTON data-testid="note-sign">"Sign note"</button>
            </div>
        </form>
    }
}

/// Documents filed on the record: each with its review state, a download link
/// (audited), and for clinicians the review buttons; the upload form below.
#[component]
fn Documents(c: StoredValue<PatientChart>) -> impl IntoView {
    use crate::documents::{download_path, DocumentKind, ReviewStatus};
    let (patient, can_write, can_upload, list) = c.with_value(|c| {
        (
            c.header.patient_id,
            c.can_write,
            c.can_upload,
            c.documents.clone(),
        )
    });
    let site = current_site();
    let path = "/api/upload_document";
    view! {
        <section id="documents" class=SECTION data-testid="documents">
            <h2 class="text-lg font-semibold">"Documents and reports"</h2>
            {list.is_empty().then(|| view! { <p class="mt-2 text-sm text-slate-700">"No documents filed yet."</p> })}
            <ul class="mt-2 space-y-2">
                {list.into_iter().map(|d| {
                    let when = c.with_value(|c| c.when(d.id));
                    let who = match d.status {
                        ReviewStatus::Approved => format!("approved by {} on {when}", d.approved_by.clone().unwrap_or_default()),
                        ReviewStatus::Reviewed => format!("reviewed by {} on {when}", d.reviewed_by.clone().unwrap_or_default()),
                        _ => format!("filed by {} on {when}", d.uploaded_by),
                    };
                    let choices: &'static [(&'static str, &'static str)] = match d.status {
                        ReviewStatus::Pending => &[("reviewed", "Mark reviewed"), ("approved", "Approve and share with the patient"), ("entered_in_error", "Entered in error")],
                        ReviewStatus::Reviewed => &[("approved", "Approve and share with the patient"), ("entered_in_error", "Entered in error")],
                        ReviewStatus::Approved => &[("entered_in_error", "Entered in error")],
                        ReviewStatus::EnteredInError => &[],
                    };
                    let struck = d.status == ReviewStatus::EnteredInError;
                    view! {
                        <li class="border-t border-slate-200 pt-2" data-testid="document" data-status=d.status.as_str()>
                            <p class=if struck { "text-slate-600 line-through" } else { "font-semibold" }>
                                <a class="text-brand underline" href=site.href(&download_path(d.id)) download="">{d.title.clone()}</a>
                            </p>
                            <p class="text-sm text-slate-700">{format!("{} · {} · {}{}", d.kind.label(), d.file_name, d.size_label(),
                                d.report_date.map(|r| format!(" · report of {r}")).unwrap_or_default())}</p>
                            <p class="text-xs text-slate-600" data-testid="document-status">{format!("{} · {who}", d.status.label())}</p>
                            {(can_write && !choices.is_empty()).then(|| view! {
                                <form method="post" action=api("review_document") class="mt-1 flex flex-wrap gap-2">
                                    <input type="hidden" name="patient_id" value=patient.to_string()/>
                                    <input type="hidden" name="document_id" value=d.id.to_string()/>
                                    {choices.iter().map(|(value, label)| view! {
                                        <button type="submit" name="decision" value=*value class=SMALL_BUTTON>{*label}</button>
                                    }).collect_view()}
                                </form>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
            <PlainFormError path="/api/review_document"/>
            {can_upload.then(|| view! {
                <form method="post" action=api("upload_document") enctype="multipart/form-data" class="mt-4 grid gap-3 sm:grid-cols-2" data-testid="document-form">
                    <h3 class="font-medium sm:col-span-2">"File a document"</h3>
                    <div class="sm:col-span-2"><PlainFormError path=path/></div>
                    <input type="hidden" name="patient_id" value=patient.to_string()/>
                    <div>
                        <label for="document_kind" class="block text-sm font-medium">"Kind"</label>
                        <select id="document_kind" name="kind" class=INPUT>
                            {DocumentKind::ALL.into_iter().map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view()}
                        </select>
                    </div>
                    <div>
                        <label for="document_title" class="block text-sm font-medium">"Title"</label>
                        <input id="document_title" name="title" class=INPUT placeholder="e.g. Full blood count"/>
                    </div>
                    <div>
                        <label for="document_date" class="block text-sm font-medium">"Report date"</label>
                        <input id="document_date" name="report_date" type="date" class=INPUT/>
                    </div>
                    <div>
                        <label for="document_file" class="block text-sm font-medium">"File (PDF, JPEG, PNG, Word; up to 10 MB)"</label>
                        <input id="document_file" name="file" type="file" required class=INPUT
                            accept=".pdf,.jpg,.jpeg,.png,.doc,.docx,application/pdf,image/jpeg,image/png"/>
                    </div>
                    <div class="sm:col-span-2"><button type="submit" class=BUTTON data-testid="document-submit">"Upload"</button></div>
                </form>
            })}
        </section>
    }
}

/// The chart's current flags, as a banner under the header.
#[component]
fn FlagBanner(c: StoredValue<PatientChart>) -> impl IntoView {
    let current: Vec<String> = c.with_value(|c| {
        c.flags
            .iter()
            .filter(|f| !f.cleared)
            .map(|f| f.text())
            .collect()
    });
    (!current.is_empty()).then(|| {
        view! {
            <ul class="mt-3 flex flex-wrap gap-2" data-testid="flag-banner" aria-label="Flags">
                {current.into_iter().map(|text| view! {
                    <li class="rounded-full border border-purple-800 bg-purple-50 px-3 py-1 text-sm font-semibold text-purple-900">{text}</li>
                }).collect_view()}
            </ul>
        }
    })
}

#[component]
fn FlagsAndConsents(c: StoredValue<PatientChart>) -> impl IntoView {
    let (patient, can_update, flags, consents) = c.with_value(|c| {
        (
            c.header.patient_id,
            c.can_update,
            c.flags.clone(),
            c.consents.clone(),
        )
    });
    let opt_outs = c.with_value(|c| c.message_opt_outs.clone());
    view! {
        <section id="flags" class=SECTION data-testid="flags">
            <h2 class="text-lg font-semibold">"Flags"</h2>
            <ul class="mt-2 space-y-2">
                {flags.into_iter().map(|f| {
                    let when = c.with_value(|c| c.when(f.id));
                    view! {
                        <li class="border-t border-slate-200 pt-2" data-testid="flag">
                            <p class=if f.cleared { "text-slate-600 line-through" } else { "font-semibold" }>{f.text()}</p>
                            <p class="text-xs text-slate-600">{format!("Set by {} on {when}{}", f.set_by, if f.cleared { " · cleared" } else { "" })}</p>
                            {(can_update && !f.cleared).then(|| view! {
                                <form method="post" action=api("clear_flag")>
                                    <input type="hidden" name="patient_id" value=patient.to_string()/>
                                    <input type="hidden" name="flag_id" value=f.id.to_string()/>
                                    <button type="submit" class=SMALL_BUTTON>"Clear"</button>
                                </form>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
            {can_update.then(|| view! {
                <form method="post" action=api("set_flag") class="mt-3 grid gap-3 sm:grid-cols-3" data-testid="flag-form">
                    <div class="sm:col-span-3"><PlainFormError path="/api/set_flag"/></div>
                    <input type="hidden" name="patient_id" value=patient.to_string()/>
                    <div>
                        <label for="flag_kind" class="block text-sm font-medium">"Flag"</label>
                        <select id="flag_kind" name="kind" class=INPUT>
                            {FlagKind::ALL.into_iter().map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view()}
                        </select>
                    </div>
                    <div>
                        <label for="flag_note" class="block text-sm font-medium">"Detail (required for a note)"</label>
                        <input id="flag_note" name="note" class=INPUT value=kept("/api/set_flag", "note")/>
                    </div>
                    <div class="flex items-end"><button type="submit" class=BUTTON data-testid="flag-submit">"Set flag"</button></div>
                </form>
            })}
            <h2 class="mt-6 text-lg font-semibold">"Consents"</h2>
            <ul class="mt-2 space-y-1 text-sm" data-testid="consents">
                {ConsentKind::ALL.into_iter().map(|kind| {
                    let state = consents.iter().find(|c| c.kind == kind).map_or_else(
                        || "not recorded".to_owned(),
                        |c| format!("{} from {} (recorded by {})", if c.granted { "granted" } else { "revoked" }, c.effective_on, c.recorded_by),
                    );
                    view! { <li data-testid="consent" data-kind=kind.as_str()><span class="font-medium">{kind.label()}</span>": "{state}</li> }
                }).collect_view()}
            </ul>
            {can_update.then(|| view! {
                <form method="post" action=api("record_consent") class="mt-3 grid gap-3 sm:grid-cols-4" data-testid="consent-form">
                    <div class="sm:col-span-4"><PlainFormError path="/api/record_consent"/></div>
                    <input type="hidden" name="patient_id" value=patient.to_string()/>
                    <div>
                        <label for="consent_kind" class="block text-sm font-medium">"Consent"</label>
                        <select id="consent_kind" name="kind" class=INPUT>
                            {ConsentKind::ALL.into_iter().map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view()}
                        </select>
                    </div>
                    <div>
                        <label for="consent_decision" class="block text-sm font-medium">"Decision"</label>
                        <select id="consent_decision" name="decision" class=INPUT>
                            <option value="granted">"Granted"</option>
                            <option value="revoked">"Revoked"</option>
                        </select>
                    </div>
                    <div>
                        <label for="consent_date" class="block text-sm font-medium">"From (default today)"</label>
                        <input id="consent_date" name="effective_on" type="date" class=INPUT/>
                    </div>
                    <div class="flex items-end"><button type="submit" class=BUTTON data-testid="consent-submit">"Record consent"</button></div>
                </form>
            })}
            <h2 class="mt-6 text-lg font-semibold">"Messages about appointments"</h2>
            {[(crate::channels::Channel::Email, "Email", "emails"), (crate::channels::Channel::Sms, "SMS", "texts"), (crate::channels::Channel::Whatsapp, "WhatsApp", "WhatsApp messages")].into_iter().map(|(channel, name, plural)| {
                let off = opt_outs.contains(&channel);
                view! {
                    <p class="mt-2 text-sm" data-testid=format!("message-preference-{}", channel.as_str())>
                        {format!("{name}: {}", if off { "off (the patient's wish)" } else { "on" })}
                    </p>
                    {can_update.then(|| view! {
                        <form method="post" action=api("set_message_opt_out") class="mt-1">
                            <input type="hidden" name="patient_id" value=patient.to_string()/>
                            <input type="hidden" name="channel" value=channel.as_str()/>
                            <input type="hidden" name="choice" value=if off { "on" } else { "off" }/>
                            <button type="submit" class=SMALL_BUTTON>{format!("{} appointment {plural}", if off { "Resume" } else { "Stop" })}</button>
                        </form>
                    })}
                }
            }).collect_view()}
            <PlainFormError path="/api/set_message_opt_out"/>
        </section>
    }
}

/// Emergency contacts, insurance and identifiers from other systems; each entry
/// removable (kept as history), each list with its own small form.
#[component]
fn Lists(c: StoredValue<PatientChart>) -> impl IntoView {
    let (patient, can_update, lists, corrections) = c.with_value(|c| {
        (
            c.header.patient_id,
            c.can_update,
            c.lists.clone(),
            c.corrections.clone(),
        )
    });
    let pending: Vec<_> = corrections
        .into_iter()
        .filter(|r| r.status == crate::patients::lists::CorrectionStatus::Pending)
        .collect();
    let remove = move |list: &'static str, id: Uuid| {
        can_update.then(|| view! {
            <form method="post" action=api("remove_registry_entry") class="inline">
                <input type="hidden" name="patient_id" value=patient.to_string()/>
                <input type="hidden" name="list" value=list/>
                <input type="hidden" name="entry_id" value=id.to_string()/>
                <button type="submit" class="ml-2 text-xs text-brand underline">"Remove"</button>
            </form>
        })
    };
    let hidden =
        move || view! { <input type="hidden" name="patient_id" value=patient.to_string()/> };
    let input = |id: &'static str,
                 name: &'static str,
                 label: &'static str,
                 kind: &'static str,
                 path: &'static str| {
        view! {
            <div>
                <label for=id class="block text-sm font-medium">{label}</label>
                <input id=id name=name type=kind class=INPUT value=kept(path, name)/>
            </div>
        }
    };
    view! {
        {(!pending.is_empty()).then(|| view! {
            <section class="mt-6 rounded-lg border border-amber-700 bg-amber-50 p-4" data-testid="correction-requests">
                <h2 class="text-lg font-semibold">"The patient asked for a correction"</h2>
                <PlainFormError path="/api/decide_correction"/>
                {pending.into_iter().map(|r| view! {
                    <div class="mt-2 border-t border-amber-300 pt-2" data-testid="correction-request">
                        <p class="whitespace-pre-line text-sm">{r.message}</p>
                        {can_update.then(|| view! {
                            <form method="post" action=api("decide_correction") class="mt-2 space-y-2">
                                <input type="hidden" name="patient_id" value=patient.to_string()/>
                                <input type="hidden" name="request_id" value=r.id.to_string()/>
                                <label for=format!("response-{}", r.id) class="block text-sm font-medium">"Answer to the patient (required when declining)"</label>
                                <input id=format!("response-{}", r.id) name="response" class=INPUT/>
                                <div class="flex flex-wrap gap-2">
                                    <button type="submit" name="decision" value="corrected" class=SMALL_BUTTON>"Details corrected"</button>
                                    <button type="submit" name="decision" value="declined" class=SMALL_BUTTON>"Decline"</button>
                                </div>
                            </form>
                        })}
                    </div>
                }).collect_view()}
            </section>
        })}
        <section id="contacts" class=SECTION data-testid="registry-lists">
            <h2 class="text-lg font-semibold">"Emergency contacts"</h2>
            <ul class="mt-2 space-y-1 text-sm" data-testid="contacts">
                {lists.contacts.into_iter().map(|k| view! {
                    <li>
                        <span class="font-medium">{k.name}</span>
                        {format!(" ({}) · {}{}", k.relation, k.phone, if k.primary { " · primary" } else { "" })}
                        {remove("contact", k.id)}
                    </li>
                }).collect_view()}
            </ul>
            {can_update.then(|| view! {
                <form method="post" action=api("add_emergency_contact") class="mt-3 grid gap-3 sm:grid-cols-4" data-testid="contact-form">
                    <div class="sm:col-span-4"><PlainFormError path="/api/add_emergency_contact"/></div>
                    {hidden()}
                    {input("contact_name", "name", "Name", "text", "/api/add_emergency_contact")}
                    {input("contact_relation", "relation", "Relation", "text", "/api/add_emergency_contact")}
                    {input("contact_phone", "phone", "Phone", "tel", "/api/add_emergency_contact")}
                    <div class="flex items-end gap-2">
                        <label class="flex items-center gap-1 text-sm"><input type="checkbox" name="primary" value="yes"/>"Primary"</label>
                        <button type="submit" class=SMALL_BUTTON>"Add contact"</button>
                    </div>
                </form>
            })}
            <h2 class="mt-6 text-lg font-semibold">"Insurance"</h2>
            <ul class="mt-2 space-y-1 text-sm" data-testid="insurance">
                {lists.insurance.into_iter().map(|i| {
                    let cover = match (i.valid_from, i.valid_to) {
                        (None, None) => String::new(),
                        (f, t) => format!(" · cover {} to {}", f.map(|d| d.to_string()).unwrap_or_else(|| "…".into()), t.map(|d| d.to_string()).unwrap_or_else(|| "…".into())),
                    };
                    view! {
                        <li>
                            <span class="font-medium">{i.provider}</span>
                            {format!(" · policy {}{}{}{}{}", i.policy_number,
                                i.group_number.map(|g| format!(" · group {g}")).unwrap_or_default(),
                                i.subscriber.map(|s| format!(" · subscriber {s}")).unwrap_or_default(),
                                cover, if i.primary { " · primary" } else { "" })}
                            {remove("insurance", i.id)}
                        </li>
                    }
                }).collect_view()}
            </ul>
            {can_update.then(|| view! {
                <form method="post" action=api("add_insurance") class="mt-3 grid gap-3 sm:grid-cols-4" data-testid="insurance-form">
                    <div class="sm:col-span-4"><PlainFormError path="/api/add_insurance"/></div>
                    {hidden()}
                    {input("ins_provider", "provider", "Provider", "text", "/api/add_insurance")}
                    {input("ins_policy", "policy_number", "Policy number", "text", "/api/add_insurance")}
                    {input("ins_group", "group_number", "Group (optional)", "text", "/api/add_insurance")}
                    {input("ins_subscriber", "subscriber", "Subscriber (optional)", "text", "/api/add_insurance")}
                    {input("ins_from", "valid_from", "Cover from", "date", "/api/add_insurance")}
                    {input("ins_to", "valid_to", "Cover to", "date", "/api/add_insurance")}
                    <div class="flex items-end gap-2">
                        <label class="flex items-center gap-1 text-sm"><input type="checkbox" name="primary" value="yes"/>"Primary"</label>
                        <button type="submit" class=SMALL_BUTTON>"Add insurance"</button>
                    </div>
                </form>
            })}
            <h2 class="mt-6 text-lg font-semibold">"Identifiers from other systems"</h2>
            <ul class="mt-2 space-y-1 text-sm" data-testid="identifiers">
                {lists.identifiers.into_iter().map(|i| view! {
                    <li><span class="font-medium">{i.system}</span>{format!(": {}", i.value)}{remove("identifier", i.id)}</li>
                }).collect_view()}
            </ul>
            {can_update.then(|| view! {
                <form method="post" action=api("add_identifier") class="mt-3 grid gap-3 sm:grid-cols-3" data-testid="identifier-form">
                    <div class="sm:col-span-3"><PlainFormError path="/api/add_identifier"/></div>
                    {hidden()}
                    {input("id_system", "system", "Issued by (e.g. National ID)", "text", "/api/add_identifier")}
                    {input("id_value", "value", "Number", "text", "/api/add_identifier")}
                    <div class="flex items-end"><button type="submit" class=SMALL_BUTTON>"Add identifier"</button></div>
                </form>
            })}
            <PlainFormError path="/api/remove_registry_entry"/>
        </section>
    }
}

/// The registry details, and (for those who may) the form that corrects them.
#[component]
fn Details(c: StoredValue<PatientChart>) -> impl IntoView {
    use crate::patients::{BloodType, PatientStatus};
    let (p, can_update, custom) =
        c.with_value(|c| (c.record.clone(), c.can_update, c.custom_fields.clone()));
    let custom_rows: Vec<(String, Option<String>)> = custom
        .iter()
        .map(|v| (v.field.label.clone(), v.value.clone()))
        .collect();
    let custom_defs: Vec<_> = custom.iter().map(|v| v.field.clone()).collect();
    let custom_current: Vec<(Uuid, String)> = custom
        .iter()
        .filter_map(|v| v.value.clone().map(|value| (v.field.id, value)))
        .collect();
    let path = "/api/update_patient";
    let refused = crate::forms::refusal(path).is_some();
    // After a refused post, what was typed; otherwise what is on record.
    let value = move |name: &str, current: Option<String>| {
        if refused {
            kept(path, name)
        } else {
            current.unwrap_or_default()
        }
    };
    let d = p.details.clone();
    let rows = [
        ("Preferred name", d.preferred_name.clone()),
        ("Gender identity", d.gender_identity.clone()),
        ("Phone", p.phone.clone()),
        ("Email", p.email.clone()),
        ("Address", d.address.clone()),
        ("Preferred language", d.preferred_language.clone()),
    ];
    let text = move |name: &'static str,
                     label: &'static str,
                     kind: &'static str,
                     current: Option<String>| {
        view! {
            <div>
                <label for=format!("edit-{name}") class="block text-sm font-medium">{label}</label>
                <input id=format!("edit-{name}") name=name type=kind class=INPUT value=value(name, current)/>
            </div>
        }
    };
    let sex = value("sex", Some(p.sex.as_str().to_owned()));
    let blood = value("blood_type", d.blood_type.map(|b| b.as_str().to_owned()));
    let status = value("status", Some(p.status.as_str().to_owned()));
    view! {
        <section id="details" class=SECTION data-testid="details">
            <h2 class="text-lg font-semibold">"Details"</h2>
            <dl class="mt-2 grid grid-cols-1 gap-1 text-sm sm:grid-cols-2">
                {rows.into_iter().map(|(label, v)| view! {
                    <div><dt class="inline font-medium">{label}": "</dt><dd class="inline">{v.unwrap_or_else(|| "—".into())}</dd></div>
                }).collect_view()}
                {custom_rows.into_iter().map(|(label, v)| view! {
                    <div data-testid="custom-value"><dt class="inline font-medium">{label}": "</dt><dd class="inline">{v.unwrap_or_else(|| "—".into())}</dd></div>
                }).collect_view()}
            </dl>
            {can_update.then(|| view! {
                <details class="mt-3" open=refused>
                    <summary class="cursor-pointer text-brand">"Correct the details"</summary>
                    <form method="post" action=api("update_patient") class="mt-3 grid gap-3 sm:grid-cols-2" data-testid="details-form">
                        <div class="sm:col-span-2"><PlainFormError path=path/></div>
                        <input type="hidden" name="patient_id" value=p.id.to_string()/>
                        {text("given_name", "Given name", "text", Some(p.given_name.clone()))}
                        {text("family_name", "Family name", "text", Some(p.family_name.clone()))}
                        {text("preferred_name", "Preferred name", "text", d.preferred_name.clone())}
                        {text("birth_date", "Date of birth", "date", Some(p.birth_date.to_string()))}
                        <div>
                            <label for="edit-sex" class="block text-sm font-medium">"Sex"</label>
                            <select id="edit-sex" name="sex" class=INPUT>
                                {["female", "male", "other", "unknown"].into_iter().map(|v| {
                                    let selected = sex == v;
                                    view! { <option value=v selected=selected>{v}</option> }
                                }).collect_view()}
                            </select>
                        </div>
                        {text("gender_identity", "Gender identity", "text", d.gender_identity.clone())}
                        {text("phone", "Phone", "tel", p.phone.clone())}
                        {text("email", "Email", "email", p.email.clone())}
                        {text("preferred_language", "Preferred language", "text", d.preferred_language.clone())}
                        <div>
                            <label for="edit-blood_type" class="block text-sm font-medium">"Blood type"</label>
                            <select id="edit-blood_type" name="blood_type" class=INPUT>
                                <option value="">"Unknown"</option>
                                {BloodType::ALL.into_iter().map(|b| {
                                    let selected = blood == b.as_str();
                                    view! { <option value=b.as_str() selected=selected>{b.as_str()}</option> }
                                }).collect_view()}
                            </select>
                        </div>
                        <div>
                            <label for="edit-status" class="block text-sm font-medium">"Status"</label>
                            <select id="edit-status" name="status" class=INPUT>
                                {[PatientStatus::Active, PatientStatus::Inactive, PatientStatus::Transferred, PatientStatus::Deceased].into_iter().map(|s| {
                                    let selected = status == s.as_str();
                                    view! { <option value=s.as_str() selected=selected>{s.as_str()}</option> }
                                }).collect_view()}
                            </select>
                        </div>
                        {text("deceased_on", "Date of death (when deceased)", "date", p.deceased_on.map(|d| d.to_string()))}
                        <crate::patients::fields::pages::CustomFieldInputs path=path fields=custom_defs current=custom_current/>
                        <div class="sm:col-span-2">
                            <label for="edit-address" class="block text-sm font-medium">"Address"</label>
                            <textarea id="edit-address" name="address" rows="2" class=INPUT>{value("address", d.address.clone())}</textarea>
                        </div>
                        <div><button type="submit" class=BUTTON data-testid="details-submit">"Save details"</button></div>
                    </form>
                </details>
            })}
        </section>
    }
}

/// Merging a duplicate record into this one (administrators).
#[component]
fn MergeForm(patient_id: Uuid) -> impl IntoView {
    let path = "/api/merge_patients";
    let refused = crate::forms::refusal(path).is_some();
    view! {
        <details class="mt-2" open=refused data-testid="merge">
            <summary class="cursor-pointer text-sm text-brand">"Merge a duplicate record into this one"</summary>
            <form method="post" action=api("merge_patients") class="mt-2 space-y-2 rounded border border-slate-200 p-3" data-testid="merge-form">
                <PlainFormError path=path/>
                <p class="text-sm text-slate-600">"Its entries move here; the duplicate is archived and points here. This cannot be undone."</p>
                <input type="hidden" name="survivor_id" value=patient_id.to_string()/>
                <label for="merged_mrn" class="block text-sm font-medium">"Record number of the duplicate"</label>
                <input id="merged_mrn" name="merged_mrn" class=INPUT required value=kept(path, "merged_mrn")/>
                <label class="flex items-center gap-2 text-sm">
                    <input type="checkbox" name="confirm" value="yes"/>
                    "I have checked that both records are the same person"
                </label>
                <button type="submit" class=SMALL_BUTTON data-testid="merge-submit">"Merge into this record"</button>
            </form>
        </details>
    }
}

/// An erasure request waiting (with, for administrators, the form that carries
/// it out), or the restriction a record is under.
#[component]
fn ErasureBanner(c: StoredValue<PatientChart>) -> impl IntoView {
    let (state, can, id) =
        c.with_value(|c| (c.erasure.clone(), c.can_archive, c.header.patient_id));
    let path = "/api/erase_patient";
    let refused = crate::forms::refusal(path).is_some();
    let retention_years = crate::site::current_site()
        .tenant
        .map(|t| t.settings.retention_years)
        .unwrap_or_else(|| crate::tenancy::TenantSettings::default().retention_years);
    match (state.retain_until, state.requested_at) {
        (Some(until), _) => Some(
            view! {
                <p role="status" class="mt-2 rounded bg-red-50 p-3 text-sm text-red-900" data-testid="restricted-banner">
                    {format!("Restricted (erasure request) until {until}, then purged. Every read is audited.")}
                </p>
            }
            .into_any(),
        ),
        (None, requested) => (requested.is_some() || can).then(|| {
            view! {
                {requested.map(|when| view! {
                    <p role="status" class="mt-2 rounded bg-amber-50 p-3 text-sm text-amber-900" data-testid="erasure-requested">
                        {format!("The patient asked for their data to be erased ({when}).")}
                    </p>
                })}
                {can.then(|| view! {
                    <details class="mt-2" open=refused data-testid="erase">
                        <summary class="cursor-pointer text-sm text-brand">"Carry out an erasure request"</summary>
                        <form method="post" action=api("erase_patient") class="mt-2 space-y-2 rounded border border-slate-200 p-3" data-testid="erase-form">
                            <PlainFormError path=path/>
                            <p class="text-sm text-slate-600">"Ends portal access and marketing consent; the record is restricted until the date below, then purged."</p>
                            <input type="hidden" name="patient_id" value=id.to_string()/>
                            <label for="retain_until" class="block text-sm font-medium">{format!("Keep until (empty: {} years, the clinic's setting)", retention_years)}</label>
                            <input id="retain_until" name="retain_until" type="date" class=INPUT value=kept(path, "retain_until")/>
                            <label class="flex items-center gap-2 text-sm">
                                <input type="checkbox" name="confirm" value="yes"/>
                                "I have checked this request and the patient's identity"
                            </label>
                            <button type="submit" class=SMALL_BUTTON data-testid="erase-submit">"Erase and restrict"</button>
                        </form>
                    </details>
                })}
            }
            .into_any()
        }),
    }
}

/// An administrator's reasoned opening of a restricted record.
#[component]
fn BreakGlassForm(patient_id: Uuid) -> impl IntoView {
    let path = "/api/open_restricted";
    view! {
        <form method="post" action=api("open_restricted") class="mt-4 max-w-xl space-y-2 rounded border border-slate-200 p-3" data-testid="break-glass">
            <PlainFormError path=path/>
            <input type="hidden" name="patient_id" value=patient_id.to_string()/>
            <label for="reason" class="block text-sm font-medium">"Why do you need this record? (kept in the audit log)"</label>
            <textarea id="reason" name="reason" rows="2" required minlength="10" maxlength="500" class=INPUT>{kept(path, "reason")}</textarea>
            <button type="submit" class=BUTTON data-testid="break-glass-submit">"Open for an hour"</button>
        </form>
    }
}
