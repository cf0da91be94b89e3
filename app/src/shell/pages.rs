use crate::shell::PageTitle;
use leptos::prelude::*;

use super::{NotFound, Panel};
use crate::identity::pages::SignedInShell;
use crate::patients::api::my_record;
use crate::site::current_site;

/// The staff dashboard of a tenant.
#[component]
pub fn StaffDashboard() -> impl IntoView {
    let site = current_site();
    let (Some(tenant), Some(viewer)) = (site.tenant.clone(), site.viewer.clone()) else {
        return view! { <NotFound/> }.into_any();
    };
    let counts = Resource::new(|| (), |_| crate::onboarding::api::dashboard_counts());
    let role = viewer
        .role()
        .map(crate::identity::api::role_label)
        .unwrap_or_default();
    view! {
        <PageTitle text=format!("Dashboard · {}", tenant.name)/>
        <SignedInShell testid="staff-shell">
            <h1 class="text-xl font-semibold">"Dashboard"</h1>
            <p class="mt-1 text-sm text-slate-600" data-testid="signed-in-as">
                {format!("Signed in as {} ({role})", viewer.display_name)}
            </p>
            {viewer.can(crate::identity::permissions::Permission::SettingsManage).then(|| view! { <crate::onboarding::pages::OnboardingChecklist/> })}
            <Suspense>
                {move || counts.get().and_then(Result::ok).map(|c| {
                    let cards = [
                        c.patients.map(|n| ("patients", "Patients", "/staff/patients", n, "Find a patient by name or record number.".to_owned())),
                        c.active_staff.map(|n| ("team", "Team", "/staff/users", n, match c.pending_invitations.unwrap_or(0) {
                            0 => "Active staff members.".to_owned(),
                            1 => "Active staff members; 1 invitation waiting.".to_owned(),
                            p => format!("Active staff members; {p} invitations waiting."),
                        })),
                        c.audit_events_today.map(|n| ("audit", "Audit log", "/staff/audit", n, "Events in the last 24 hours.".to_owned())),
                    ];
                    let queue = c.queue.clone().unwrap_or_default();
                    let today = c.today.clone().map(|visits| view! {
                        <section class="mt-4 rounded-lg border border-slate-200 bg-white p-4" data-testid="today">
                            <h2 class="font-semibold">"Today"</h2>
                            {if visits.is_empty() {
                                view! { <p class="mt-1 text-sm text-slate-700">"No appointments today."</p> }.into_any()
                            } else {
                                view! { <ul class="mt-2 divide-y divide-slate-100 text-sm">
                                    {visits.into_iter().map(|v| view! {
                                        <li class="py-1" data-testid="today-visit">{format!("{} · {} · {} · {}", v.time, v.patient, v.what, v.status)}</li>
                                    }).collect_view()}
                                </ul> }.into_any()
                            }}
                            <a class="mt-2 inline-block text-sm text-brand underline" href=site.href("/staff/calendar")>"Open the calendar"</a>
                            {(!queue.is_empty()).then(|| view! {
                                <h3 class="mt-3 text-sm font-medium">"Waiting room"</h3>
                                <ul class="mt-1 divide-y divide-slate-100 text-sm" data-testid="today-queue">
                                    {queue.into_iter().map(|v| view! {
                                        <li class="py-1" data-testid="today-queue-entry">{[v.time, v.patient, v.what, v.status].into_iter().filter(|t| !t.is_empty()).collect::<Vec<_>>().join(" · ")}</li>
                                    }).collect_view()}
                                </ul>
                                <a class="mt-1 inline-block text-sm text-brand underline" href=site.href("/queue") rel="external">"Open the queue"</a>
                            })}
                        </section>
                    });
                    view! {
                        {today}
                        <div class="mt-4 grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-3">
                            {cards.into_iter().flatten().map(|(key, title, path, n, note)| view! {
                                <a href=site.href(path) data-testid=format!("card-{key}") class="block rounded-lg border border-slate-200 bg-white p-4 shadow-sm hover:border-brand focus:outline-none focus-visible:ring-2 focus-visible:ring-brand">
                                    <h2 class="font-semibold text-slate-900">{title}</h2>
                                    <p class="mt-1 text-3xl font-bold text-slate-900" data-testid="card-count">{n.to_string()}</p>
                                    <p class="mt-1 text-sm text-slate-700">{note}</p>
                                </a>
                            }).collect_view()}
                        </div>
                    }
                })}
            </Suspense>
            {viewer.can(crate::identity::permissions::Permission::ClinicalWrite).then(|| view! { <UnsignedNotes/> })}
            <crate::identity::pages::HydratedMarker/>
        </SignedInShell>
    }
    .into_any()
}

/// The patient portal home: the patient's own record, and nothing else.
#[component]
pub fn PatientPortal() -> impl IntoView {
    let site = current_site();
    let Some(tenant) = site.tenant.clone() else {
        return view! { <NotFound/> }.into_any();
    };
    let record = Resource::new(|| (), |_| my_record());
    let settings = tenant.settings.clone();
    view! {
        <PageTitle text=format!("Patient portal · {}", tenant.name)/>
        <SignedInShell testid="portal-shell">
            <h1 class="text-xl font-semibold">{format!("Welcome to {}", tenant.name)}</h1>
            <p class="mt-2 text-slate-700">{tenant.branding.welcome_text.clone()}</p>
            <div class="mt-4 grid grid-cols-1 gap-4 sm:grid-cols-2">
                <Panel title="Your record">
                    <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                        {move || record.get().map(|r| match r {
                            Ok(r) => view! {
                                <dl data-testid="my-record" class="grid grid-cols-2 gap-1">
                                    <dt>"Name"</dt><dd data-testid="my-name">{format!("{} {}", r.given_name, r.family_name)}</dd>
                                    <dt>"Record number"</dt><dd data-testid="my-mrn">{r.mrn.clone()}</dd>
                                    <dt>"Date of birth"</dt><dd data-testid="my-birth-date">{settings.format_day(r.birth_date)}</dd>
                                </dl>
                            }.into_any(),
                            Err(e) => view! { <p role="alert">{e.message()}</p> }.into_any(),
                        })}
                    </Suspense>
                </Panel>
                <Panel title="Appointments">
                    <a class="text-brand underline" data-testid="my-appointments" href=site.href("/book/mine") rel="external">"Book, move or cancel a visit"</a>
                </Panel>
            </div>
        </SignedInShell>
    }
    .into_any()
}

/// A clinician's notes left unsigned for more than a day, each linked to its chart.
#[component]
fn UnsignedNotes() -> impl IntoView {
    let site = current_site();
    let list = Resource::new(|| (), |_| crate::clinical::api::my_unsigned_notes());
    view! {
        <Suspense>
            {move || list.get().and_then(Result::ok).filter(|l| !l.is_empty()).map(|l| {
                let site = site.clone();
                view! {
                    <section class="mt-6 rounded-lg border border-amber-300 bg-amber-50 p-4" data-testid="unsigned-notes">
                        <h2 class="font-semibold text-amber-900">{format!("Notes waiting for your signature ({})", l.len())}</h2>
                        <ul class="mt-2 space-y-1 text-sm">
                            {l.into_iter().map(|n| view! {
                                <li>
                                    <a class="text-brand underline" href=site.href(&format!("/staff/patients/{}#notes", n.patient_id))>{n.patient.clone()}</a>
                                    {format!(" · {} · started {}", n.title, n.started)}
                                </li>
                            }).collect_view()}
                        </ul>
                    </section>
                }
            })}
        </Suspense>
    }
}
