//! `/staff/patients`: find a patient from one box, register a new one, invite
//! patients to the portal.

use leptos::prelude::*;

use super::api::*;
use super::BloodType;
use crate::forms::{kept, PlainFormError};
use crate::identity::pages::{
    error_of, FormError, HydratedMarker, SignedInShell, BUTTON, CARD, INPUT,
};
use crate::identity::permissions::Permission;
use crate::shell::PageTitle;
use crate::site::current_site;

const REGISTER: &str = "/api/register_patient";

/// The charts this person opened last, one tap away.
#[component]
fn RecentPatients() -> impl IntoView {
    let recent = Resource::new(|| (), |_| recent_patients());
    let site = current_site();
    view! {
        <Suspense fallback=|| ()>
            {move || recent.get().and_then(Result::ok).filter(|l| !l.is_empty()).map(|list| {
                let site = site.clone();
                view! {
                    <nav class="mt-4" aria-label="Recently opened charts" data-testid="recent-patients">
                        <h2 class="text-sm font-semibold text-slate-700">"Recently opened"</h2>
                        <ul class="mt-1 flex flex-wrap gap-2 text-sm">
                            {list.into_iter().map(|p| view! {
                                <li><a class="rounded border border-slate-300 px-2 py-1 text-brand underline"
                                    href=site.href(&format!("/staff/patients/{}", p.id))>{format!("{} · {}", p.name, p.mrn)}</a></li>
                            }).collect_view()}
                        </ul>
                    </nav>
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn PatientsPage() -> impl IntoView {
    let invite = ServerAction::<InvitePatient>::new();
    let query = RwSignal::new(String::new());
    let page = RwSignal::new(1_u32);
    let patients = Resource::new(
        move || (query.get(), page.get(), invite.version().get()),
        |(q, page, _)| list_patients(Some(q), Some(page)),
    );
    let error = error_of!(invite);
    let viewer = current_site().viewer;
    let may_invite = viewer
        .as_ref()
        .is_some_and(|v| v.can(Permission::PatientsUpdate));
    let may_register = viewer
        .as_ref()
        .is_some_and(|v| v.can(Permission::PatientsCreate));
    // Bulk imports change the clinic's registry wholesale: administrators only.
    let may_import = viewer
        .as_ref()
        .is_some_and(|v| v.can(Permission::PatientsCreate) && v.can(Permission::SettingsManage));
    let site = current_site();
    let import_href = site.href("/patients/import");
    let chart_href = move |id: uuid::Uuid| site.href(&format!("/staff/patients/{id}"));
    let search_input = NodeRef::<leptos::html::Input>::new();
    view! {
        <PageTitle text="Patients"/>
        <SignedInShell testid="patients-page">
            <h1 class="text-xl font-semibold">"Patients"</h1>
            {may_register.then(RegisterPatient)}
            // A page the server writes itself: the router must let it go.
            {may_import.then(|| view! {
                <p class="mt-2 text-sm"><a rel="external" class="text-brand underline" href=import_href data-testid="import-link">"Import patients from a file"</a></p>
            })}
            <form class="mt-4 flex flex-wrap items-end gap-2" role="search" data-testid="patient-search"
                on:submit=move |ev| {
                    ev.prevent_default();
                    if let Some(input) = search_input.get() {
                        query.set(input.value());
                        page.set(1);
                    }
                }>
                <label class="min-w-0 flex-1 text-sm font-medium">"Find a patient"
                    <input node_ref=search_input name="query" type="search" class=INPUT autocomplete="off"
                        placeholder="Name, record number, phone, email or date of birth"/>
                </label>
                <button type="submit" class=BUTTON>"Search"</button>
            </form>
            <RecentPatients/>
            {move || matches!(invite.value().get(), Some(Ok(()))).then(|| view! {
                <p data-testid="invite-sent" class="mt-2 text-sm text-green-800">"Portal invitation sent."</p>
            })}
            <FormError error/>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || patients.get().map(|list| match list {
                    Err(e) => view! { <p role="alert">{e.message()}</p> }.into_any(),
                    Ok(list) => {
                        let summary = if list.total_items == 0 {
                            "No patients found.".to_owned()
                        } else {
                            let noun = if list.total_items == 1 { "patient" } else { "patients" };
                            format!("{} {noun} · page {} of {}", list.total_items, list.page, list.total_pages.max(1))
                        };
                        let (has_prev, has_next) = (list.has_prev, list.has_next);
                        view! {
                            <p class="mt-4 text-sm text-slate-600" data-testid="patient-count" aria-live="polite">{summary}</p>
                            <ul class="mt-2 space-y-2" data-testid="patient-list">
                                {list.items.into_iter().map(|p| {
                                    let email = p.email.clone().unwrap_or_default();
                                    let (status, badge, button) = match p.portal {
                                        PortalStatus::Active => ("active", "Uses the portal", ""),
                                        PortalStatus::Invited => ("invited", "Invited, not yet accepted", "Send the invitation again"),
                                        PortalStatus::None => ("none", "No portal access", "Invite to portal"),
                                    };
                                    let can_invite = may_invite && p.portal != PortalStatus::Active;
                                    view! {
                                        <li class="rounded border border-slate-200 bg-white p-3" data-mrn=p.mrn.clone() data-portal=status>
                                            <p class="font-medium">
                                                <a class="text-brand underline" href=chart_href(p.id) data-testid="open-chart">{p.name.clone()}</a>
                                                " · "{p.mrn.clone()}
                                            </p>
                                            <p class="text-sm text-slate-600">"Born "{p.born.clone()}</p>
                                            <p data-testid="portal-status" class="text-sm text-slate-600">"Portal: "{badge}</p>
                                            {can_invite.then(|| view! {
                                                <ActionForm action=invite attr:class="mt-2 flex flex-wrap gap-2">
                                                    <input type="hidden" name="patient_id" value=p.id.to_string()/>
                                                    <label class="flex min-w-0 flex-wrap items-center gap-2 text-sm">
                                                        <span class="font-medium">"Portal email"</span>
                                                        <input name="email" type="email" value=email required class="min-w-0 max-w-full rounded border border-slate-300 px-2 py-1"/>
                                                    </label>
                                                    <button type="submit" class="text-brand underline">{button}</button>
                                                </ActionForm>
                                            })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                            <nav class="mt-3 flex gap-3" aria-label="Pages of patients">
                                <button type="button" class="text-brand underline disabled:opacity-50" disabled=!has_prev
                                    on:click=move |_| page.update(|p| *p = p.saturating_sub(1).max(1))>"Previous page"</button>
                                <button type="button" class="text-brand underline disabled:opacity-50" disabled=!has_next data-testid="next-page"
                                    on:click=move |_| page.update(|p| *p += 1)>"Next page"</button>
                            </nav>
                        }.into_any()
                    }
                })}
            </Suspense>
            <HydratedMarker/>
        </SignedInShell>
    }
}

/// The registration form: a plain form post, so it works before the page's
/// code arrives; the server lands the person on the new chart, or brings them
/// back here with what they typed and what to fix (possible duplicates included).
#[component]
fn RegisterPatient() -> impl IntoView {
    let action = current_site().href(REGISTER);
    let refused = crate::forms::refusal(REGISTER);
    let open = refused.is_some();
    let duplicate = refused
        .as_deref()
        .is_some_and(|m| m.contains("already registered"));
    let v = |name: &str| kept(REGISTER, name);
    let fields = Resource::new(|| (), |_| super::fields::api::patient_fields());
    let sex = v("sex");
    let blood = v("blood_type");
    let text_field = move |name: &'static str,
                           label: &'static str,
                           kind: &'static str,
                           required: bool,
                           hint: Option<&'static str>| {
        view! {
            <div>
                <label for=name class="block text-sm font-medium">{label}{(!required).then_some(" (optional)")}</label>
                <input id=name name=name type=kind class=INPUT value=kept(REGISTER, name) required=required placeholder=hint.unwrap_or_default()/>
            </div>
        }
    };
    view! {
        <details class="mt-4" open=open data-testid="register-patient">
            <summary class="cursor-pointer font-medium text-brand">"Register a new patient"</summary>
            <form method="post" action=action class=CARD data-testid="register-form">
                <PlainFormError path=REGISTER/>
                {duplicate.then(|| view! {
                    <label class="flex items-center gap-2 rounded bg-amber-50 p-3 text-sm text-amber-900" data-testid="duplicate-warning">
                        <input type="checkbox" name="confirm_new" value="yes"/>
                        "This is a different person: register them anyway"
                    </label>
                })}
                <div class="grid gap-4 sm:grid-cols-2">
                    {text_field("given_name", "Given name", "text", true, None)}
                    {text_field("family_name", "Family name", "text", true, None)}
                    {text_field("preferred_name", "Preferred name", "text", false, None)}
                    {text_field("birth_date", "Date of birth", "date", true, None)}
                    <div>
                        <label for="sex" class="block text-sm font-medium">"Sex"</label>
                        <select id="sex" name="sex" class=INPUT required>
                            {[("", "Choose…"), ("female", "Female"), ("male", "Male"), ("other", "Other"), ("unknown", "Unknown")]
                                .into_iter().map(|(value, label)| {
                                    let selected = sex == value;
                                    view! { <option value=value selected=selected>{label}</option> }
                                }).collect_view()}
                        </select>
                    </div>
                    {text_field("gender_identity", "Gender identity", "text", false, None)}
                    {text_field("phone", "Phone", "tel", false, Some("Local or with country code"))}
                    {text_field("email", "Email", "email", false, None)}
                    {text_field("preferred_language", "Preferred language", "text", false, None)}
                    <div>
                        <label for="blood_type" class="block text-sm font-medium">"Blood type (optional)"</label>
                        <select id="blood_type" name="blood_type" class=INPUT>
                            <option value="">"Unknown"</option>
                            {BloodType::ALL.into_iter().map(|b| {
                                let selected = blood == b.as_str();
                                view! { <option value=b.as_str() selected=selected>{b.as_str()}</option> }
                            }).collect_view()}
                        </select>
                    </div>
                    {text_field("mrn", "Record number", "text", false, Some("Leave empty for the next number"))}
                    // Awaited inside `Suspend` rather than read with `.get()`: the
                    // page's other resources stream beside it, and this form is
                    // the pattern Leptos keeps free of lost wake-ups under load.
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            fields.await.ok().map(|fields| view! {
                                <super::fields::pages::CustomFieldInputs path=REGISTER fields/>
                            })
                        })}
                    </Suspense>
                </div>
                <div>
                    <label for="address" class="block text-sm font-medium">"Address (optional)"</label>
                    <textarea id="address" name="address" rows="2" class=INPUT>{kept(REGISTER, "address")}</textarea>
                </div>
                <button type="submit" class=BUTTON data-testid="register-submit">"Register patient"</button>
            </form>
        </details>
    }
}
