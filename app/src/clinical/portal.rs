//! What a patient sees of their own chart in the portal (read-only): allergies,
//! current problems, vital signs, the visit summaries the clinic chose to share,
//! and who at the clinic has looked at the record. The server formats every line,
//! so the portal's page carries no chart code of its own.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// A panel of the record (plain markup: the portal's home owns `shell::Panel`, and
/// sharing it would split both pages into more chunks).
const PANEL: &str = "rounded-lg border border-slate-200 bg-white p-4 shadow-sm";

/// One line of a list: what, and its details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub title: String,
    pub detail: String,
}

/// A shared, signed visit summary with its addenda.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub title: String,
    pub signed: String,
    pub sections: Vec<(String, String)>,
    pub addenda: Vec<Line>,
}

/// The patient's chart as the portal shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnChart {
    pub allergies: String,
    pub allergy_lines: Vec<Line>,
    pub problems: Vec<Line>,
    /// Newest first: when, then each measure as text.
    pub vitals: Vec<Line>,
    pub summaries: Vec<Summary>,
    /// Documents the clinic approved for the patient: title, details, download address.
    #[serde(default)]
    pub documents: Vec<(Line, String)>,
    /// The current state of each consent recorded.
    #[serde(default)]
    pub consents: Vec<Line>,
    /// Requests to correct the details, and their answers.
    #[serde(default)]
    pub corrections: Vec<Line>,
    /// Where the whole record downloads (FHIR R4 JSON).
    #[serde(default)]
    pub export_href: String,
    /// The whole record with its documents, as one zip.
    #[serde(default)]
    pub zip_href: String,
}

/// One look at the record by the clinic's staff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Access {
    pub when: String,
    pub who: String,
    pub role: String,
    pub what: String,
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use crate::error::AppError;
    use crate::identity::{auth, Standing};
    use crate::tenancy::TenantPublic;
    use uuid::Uuid;

    /// Audits the signed-in patient's own step on their record (committed by the caller).
    pub async fn audit_own(
        tx: &mut crate::db::TenantTx,
        account: Uuid,
        patient: Uuid,
        action: &str,
    ) -> Result<(), AppError> {
        crate::identity::audit::record_for_patient(
            tx,
            crate::identity::audit::Actor {
                id: Some(account),
                email: None,
            },
            None,
            patient,
            action,
            None,
            &auth::request_meta(),
        )
        .await?;
        Ok(())
    }

    /// The clinic and the signed-in patient's own record id.
    pub fn own_patient() -> Result<(TenantPublic, Uuid, uuid::Uuid), AppError> {
        let tenant = crate::patients::api::ssr::tenant()?;
        let viewer = auth::viewer()?;
        let Standing::Patient { patient_id } = viewer.standing else {
            return Err(AppError::Forbidden.respond());
        };
        Ok((tenant, patient_id, viewer.account_id))
    }
}

/// The signed-in patient's chart. Audited like any read of a record.
#[server(prefix = "/api", endpoint = "my_chart")]
pub async fn my_chart() -> Result<OwnChart, AppError> {
    use super::vitals::Measure;
    use super::{AllergyBanner, EntryStatus, NoteStatus};
    use crate::identity::audit;
    let (tenant, patient, account) = ssr::own_patient()?;
    let settings = &tenant.settings;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(tenant.id).await?;
    let allergies = super::db::allergies(&mut tx, patient).await?;
    let problems = super::db::problems(&mut tx, patient).await?;
    let vitals = super::db::vitals(&mut tx, patient, 50).await?;
    let notes = super::db::notes(&mut tx, patient).await?;
    let documents = crate::documents::db::for_patient(&mut tx, patient, true).await?;
    let consents = super::db::consents(&mut tx, patient).await?;
    let corrections = crate::patients::db::corrections(&mut tx, patient).await?;
    audit::record_for_patient(
        &mut tx,
        audit::Actor {
            id: Some(account),
            email: None,
        },
        None,
        patient,
        "portal.record_viewed",
        None,
        &crate::identity::auth::request_meta(),
    )
    .await?;
    tx.commit().await?;
    let imperial = crate::patients::api::ssr::clinic_country(&tenant) == Some("US");
    let banner = match AllergyBanner::of(&allergies) {
        AllergyBanner::Allergies(list) => format!("Allergies on record: {}", list.join(", ")),
        AllergyBanner::NoneKnown => "No known allergies.".to_owned(),
        AllergyBanner::NotYetAsked => "The clinic has not recorded your allergies yet.".to_owned(),
    };
    let allergy_lines = allergies
        .iter()
        .filter(|a| !a.none_known && a.status == EntryStatus::Active)
        .map(|a| Line {
            title: a.substance.clone(),
            detail: [
                a.reaction.clone(),
                a.severity.map(|s| format!("severity {}", s.as_str())),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · "),
        })
        .collect();
    let problems = problems
        .iter()
        .filter(|p| p.status.is_current())
        .map(|p| Line {
            title: p.description.clone(),
            detail: p.status.as_str().to_owned(),
        })
        .collect();
    let vitals = vitals
        .iter()
        .rev()
        .map(|r| Line {
            title: settings.format_datetime(r.taken_at),
            detail: Measure::ALL
                .into_iter()
                .filter_map(|m| {
                    m.text(&r.measures, imperial)
                        .map(|t| format!("{}: {t}", m.label()))
                })
                .collect::<Vec<_>>()
                .join(" · "),
        })
        .collect();
    let shared = |n: &&super::Note| n.status == NoteStatus::Signed && n.shareable;
    let summaries = notes
        .iter()
        .filter(shared)
        .filter(|n| n.addendum_to.is_none())
        .map(|n| Summary {
            title: n.title.clone(),
            signed: format!(
                "Signed by {} on {}",
                n.author,
                n.signed_at
                    .map(|t| settings.format_date(t))
                    .unwrap_or_default()
            ),
            sections: [
                ("What you told us", &n.soap.subjective),
                ("What we found", &n.soap.objective),
                ("Assessment", &n.soap.assessment),
                ("Plan", &n.soap.plan),
            ]
            .into_iter()
            .filter(|(_, t)| !t.is_empty())
            .map(|(l, t)| (l.to_owned(), t.clone()))
            .collect(),
            addenda: notes
                .iter()
                .filter(shared)
                .filter(|a| a.addendum_to == Some(n.id))
                .map(|a| Line {
                    title: a.soap.subjective.clone(),
                    detail: format!(
                        "Added by {} on {}",
                        a.author,
                        a.signed_at
                            .map(|t| settings.format_date(t))
                            .unwrap_or_default()
                    ),
                })
                .collect(),
        })
        .collect();
    let site = crate::site::current_site();
    let documents = documents
        .into_iter()
        .map(|d| {
            let line = Line {
                title: d.title.clone(),
                detail: [
                    Some(d.kind.label().to_owned()),
                    d.report_date.map(|r| settings.format_day(r)),
                    Some(d.size_label()),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · "),
            };
            (line, site.href(&crate::documents::download_path(d.id)))
        })
        .collect();
    let consents = consents
        .iter()
        .map(|c| Line {
            title: c.kind.label().to_owned(),
            detail: format!(
                "{} from {}",
                if c.granted { "granted" } else { "revoked" },
                settings.format_day(c.effective_on)
            ),
        })
        .collect();
    Ok(OwnChart {
        allergies: banner,
        allergy_lines,
        problems,
        vitals,
        summaries,
        documents,
        consents,
        corrections: corrections
            .into_iter()
            .map(|r| Line {
                title: r.message,
                detail: match r.status {
                    crate::patients::lists::CorrectionStatus::Pending => {
                        "waiting for the clinic".to_owned()
                    }
                    crate::patients::lists::CorrectionStatus::Corrected => "corrected".to_owned(),
                    crate::patients::lists::CorrectionStatus::Declined => {
                        format!("not changed: {}", r.response.unwrap_or_default())
                    }
                },
            })
            .collect(),
        export_href: site.href(&format!("/fhir/R4/Patient/{patient}/$everything")),
        zip_href: site.href(&format!("/records/{patient}/download")),
    })
}

/// Who at the clinic has looked at or changed the signed-in patient's record in
/// the last 12 months: name, role, what, when.
#[server(prefix = "/api", endpoint = "my_access_log")]
pub async fn my_access_log() -> Result<Vec<Access>, AppError> {
    let (tenant, patient, _) = ssr::own_patient()?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for_read(tenant.id).await?;
    let since = chrono::Utc::now() - chrono::Duration::days(365);
    let rows = crate::identity::audit::staff_access_to(&mut tx, patient, since, 500).await?;
    Ok(rows
        .into_iter()
        .map(|r| Access {
            when: tenant.settings.format_datetime(r.occurred_at),
            who: r
                .staff_name
                .unwrap_or_else(|| "A former staff member".into()),
            role: r.role,
            what: crate::identity::describe_action(&r.action).to_owned(),
        })
        .collect())
}

/// `/portal/record`: the patient's health record, on a page (and in a chunk) of
/// its own so the portal's home stays light.
#[component]
pub fn OwnRecordPage() -> impl IntoView {
    view! {
        <crate::shell::PageTitle text="Your health record"/>
        <crate::identity::pages::SignedInShell testid="portal-record">
            <h1 class="text-xl font-semibold">"Your health record"</h1>
            <OwnHealthRecord/>
            <crate::prescribing::refills::OwnMedicinesPanel/>
            <crate::identity::pages::HydratedMarker/>
        </crate::identity::pages::SignedInShell>
    }
}

/// The portal's health-record panels.
#[component]
fn OwnHealthRecord() -> impl IntoView {
    let chart = Resource::new(|| (), |_| my_chart());
    let log = Resource::new(|| (), |_| my_access_log());
    let lines = |list: Vec<Line>, empty: &'static str, testid: &'static str| {
        if list.is_empty() {
            return view! { <p class="text-sm text-slate-600" data-testid=testid>{empty}</p> }
                .into_any();
        }
        view! {
            <ul class="space-y-1 text-sm" data-testid=testid>
                {list.into_iter().map(|l| view! {
                    <li><span class="font-medium">{l.title}</span>{(!l.detail.is_empty()).then(|| format!(" · {}", l.detail))}</li>
                }).collect_view()}
            </ul>
        }
        .into_any()
    };
    view! {
        <Suspense fallback=|| view! { <p>"Loading your record…"</p> }>
            {move || chart.get().map(|c| match c {
                Err(e) => view! { <p role="alert">{e.message()}</p> }.into_any(),
                Ok(c) => view! {
                    <p class="mt-2 text-sm">
                        <a class="text-brand underline" href=c.export_href.clone() download="my-health-record.fhir.json" data-testid="my-export">
                            "Download your whole record (FHIR R4, for another clinic or app)"
                        </a>
                        " · "
                        <a class="text-brand underline" href=c.zip_href.clone() download="health-record.zip" data-testid="my-zip">
                            "with your documents, as a zip"
                        </a>
                    </p>
                    <div class="mt-4 grid grid-cols-1 gap-4 sm:grid-cols-2">
                        <section class=PANEL><h2 class="font-semibold">"Allergies"</h2>
                            <p class="text-sm font-semibold" data-testid="my-allergies">{c.allergies}</p>
                            {lines(c.allergy_lines, "", "my-allergy-list")}
                        </section>
                        <section class=PANEL><h2 class="font-semibold">"Health problems"</h2>{lines(c.problems, "None recorded.", "my-problems")}</section>
                        <section class=PANEL><h2 class="font-semibold">"Vital signs"</h2>{lines(c.vitals, "None recorded yet.", "my-vitals")}</section>
                        <section class=PANEL><h2 class="font-semibold">"Visit summaries"</h2>
                            {if c.summaries.is_empty() {
                                view! { <p class="text-sm text-slate-600">"Your clinic has not shared a visit summary yet."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="space-y-3 text-sm" data-testid="my-summaries">
                                        {c.summaries.into_iter().map(|s| view! {
                                            <li data-testid="my-summary">
                                                <p class="font-medium">{s.title}</p>
                                                <p class="text-xs text-slate-600">{s.signed}</p>
                                                {s.sections.into_iter().map(|(l, t)| view! {
                                                    <p><span class="font-medium">{l}": "</span>{t}</p>
                                                }).collect_view()}
                                                {s.addenda.into_iter().map(|a| view! {
                                                    <p class="border-l-2 border-slate-300 pl-2">{a.title}<span class="text-xs text-slate-600">{format!(" ({})", a.detail)}</span></p>
                                                }).collect_view()}
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                        </section>
                        <section class=PANEL><h2 class="font-semibold">"Documents and reports"</h2>
                            {if c.documents.is_empty() {
                                view! { <p class="text-sm text-slate-600">"Your clinic has not shared a document yet."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="space-y-1 text-sm" data-testid="my-documents">
                                        {c.documents.into_iter().map(|(l, href)| view! {
                                            <li><a class="font-medium text-brand underline" href=href download="">{l.title}</a>{format!(" · {}", l.detail)}</li>
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                        </section>
                        <section class=PANEL><h2 class="font-semibold">"Consents"</h2>{lines(c.consents, "None recorded.", "my-consents")}</section>
                        <section class=PANEL data-testid="my-corrections"><h2 class="font-semibold">"Something wrong in your details?"</h2>
                            {lines(c.corrections, "", "my-correction-list")}
                            <form method="post" action=crate::site::current_site().href("/api/request_correction") class="mt-2 space-y-2" data-testid="correction-form">
                                <crate::forms::PlainFormError path="/api/request_correction"/>
                                <label for="correction_message" class="block text-sm font-medium">"What should the clinic correct?"</label>
                                <textarea id="correction_message" name="message" rows="2" required class="w-full rounded border border-slate-400 p-2 text-sm"></textarea>
                                <button type="submit" class="rounded bg-brand px-3 py-1 text-sm font-semibold text-on-brand">"Ask for a correction"</button>
                            </form>
                        </section>
                        <section class=PANEL data-testid="my-erasure"><h2 class="font-semibold">"Erase my data"</h2>
                            <p class="text-sm text-slate-600">"Your portal account ends; your health record is kept only as long as the law requires."</p>
                            {crate::forms::succeeded("/api/request_erasure").then(|| view! {
                                <p role="status" class="mt-2 text-sm font-medium text-green-800">"Your request was sent to the clinic."</p>
                            })}
                            <form method="post" action=crate::site::current_site().href("/api/request_erasure") class="mt-2" data-testid="erasure-form">
                                <crate::forms::PlainFormError path="/api/request_erasure"/>
                                <button type="submit" class="rounded border border-red-700 px-3 py-1 text-sm font-semibold text-red-800">"Ask the clinic to erase my data"</button>
                            </form>
                        </section>
                    </div>
                }.into_any(),
            })}
        </Suspense>
        <section class="mt-6" aria-labelledby="access-log-heading">
            <h2 id="access-log-heading" class="text-lg font-semibold">"Who has looked at your record"</h2>
            <p class="text-sm text-slate-600">"Everyone at the clinic who opened or changed your record in the last 12 months."</p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || log.get().map(|l| match l {
                    Err(e) => view! { <p role="alert">{e.message()}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="mt-2 text-sm" data-testid="access-log">"Nobody yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <ul class="mt-2 space-y-1 text-sm" data-testid="access-log">
                            {list.into_iter().map(|a| view! {
                                <li data-testid="access-entry">{format!("{} · {} ({}) · {}", a.when, a.who, a.role, a.what)}</li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                })}
            </Suspense>
        </section>
    }
}
