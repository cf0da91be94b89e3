//! The clinic's own medicines beside the shipped formulary: a brand or local
//! product ("Augmentin 625 mg tablet") mapped to a generic of the knowledge
//! base, whose ingredients the safety checks then use. A medicine mapped to
//! nothing can still be prescribed; its check says it could not run. Retired
//! medicines leave the list and are never deleted.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClinicMedicine {
    pub id: Uuid,
    /// "Augmentin 625 mg tablet": what the prescriber picks and the print shows.
    pub label: String,
    /// The generic it maps to, as the formulary labels it; `None`: unmapped.
    pub generic: Option<String>,
    pub active: bool,
}

/// The formulary page: the clinic's medicines and the generics to map them to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Formulary {
    pub medicines: Vec<ClinicMedicine>,
    pub generics: Vec<String>,
}

/// Forms and dispensing units a clinic medicine may have.
pub const FORMS: &[&str] = &[
    "tablet",
    "capsule",
    "suspension",
    "syrup",
    "solution",
    "injection",
    "cream",
    "ointment",
    "gel",
    "drops",
    "inhaler",
    "patch",
    "suppository",
    "powder",
    "spray",
    "lozenge",
];

/// What is counted when it is dispensed, by form.
pub fn unit_of(form: &str) -> &'static str {
    match form {
        "tablet" => "tablet",
        "capsule" => "capsule",
        "suspension" | "syrup" | "solution" | "injection" => "ml",
        "cream" | "ointment" | "gel" | "powder" => "g",
        "drops" => "drop",
        "inhaler" | "spray" => "puff",
        "patch" => "patch",
        "suppository" => "suppository",
        _ => "lozenge",
    }
}

#[cfg(feature = "ssr")]
pub mod db {
    use uuid::Uuid;

    use crate::db::{DbError, TenantTx};

    /// A clinic medicine as the checks need it.
    #[derive(Debug, Clone, sqlx::FromRow)]
    pub struct Row {
        pub id: Uuid,
        pub name: String,
        pub generic_code: Option<String>,
        pub ingredients: String,
        pub strength: String,
        pub form: String,
        pub route: String,
        pub unit: String,
        pub active: bool,
    }

    impl Row {
        pub fn label(&self) -> String {
            format!("{} {} {}", self.name, self.strength, self.form)
        }
    }

    pub async fn all(tx: &mut TenantTx) -> Result<Vec<Row>, DbError> {
        tx.fetch_all(
            "SELECT id, name, generic_code, ingredients, strength, form, route, unit, active \
             FROM clinic_medicines WHERE tenant_id = $1 ORDER BY lower(name), strength",
            &[],
        )
        .await
    }

    pub async fn set_active(tx: &mut TenantTx, id: Uuid, active: bool) -> Result<(), DbError> {
        tx.execute_one(
            "UPDATE clinic_medicines SET active = $3 WHERE tenant_id = $1 AND id = $2",
            &[id.into(), active.into()],
        )
        .await
    }
}

/// The clinic's own medicines, retired ones included.
#[server(prefix = "/api", endpoint = "clinic_medicines")]
pub async fn clinic_medicines() -> Result<Formulary, AppError> {
    let w = crate::patients::api::ssr::writer()?;
    let handle = super::api::ssr::kb();
    let kb = handle.get().ok();
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    let rows = db::all(&mut tx).await?;
    tx.commit().await?;
    let generics = kb
        .map(|kb| kb.medicines.iter().map(|m| m.label()).collect())
        .unwrap_or_default();
    let medicines = rows
        .into_iter()
        .map(|r| ClinicMedicine {
            id: r.id,
            label: r.label(),
            generic: r
                .generic_code
                .as_deref()
                .and_then(|code| kb.and_then(|kb| kb.medicine(code)))
                .map(|m| m.label()),
            active: r.active,
        })
        .collect();
    Ok(Formulary {
        medicines,
        generics,
    })
}

/// Adds a clinic medicine: a name (brand or local), strength, form and route,
/// mapped to a generic of the formulary (by its label) or to nothing.
#[server(prefix = "/api", endpoint = "add_clinic_medicine")]
pub async fn add_clinic_medicine(
    name: String,
    strength: String,
    form: String,
    route: String,
    generic: Option<String>,
) -> Result<(), AppError> {
    use crate::clinical::api::ssr::{blank, field};
    use crate::identity::audit::{self, Actor};
    let w = crate::patients::api::ssr::writer()?;
    let name = crate::text::plain_name(name.trim(), 2, 80).map_err(|m| field("name", m))?;
    let strength =
        crate::text::plain_name(strength.trim(), 1, 60).map_err(|m| field("strength", m))?;
    let form = form.trim().to_owned();
    if !FORMS.contains(&form.as_str()) {
        return Err(field("form", "choose the form"));
    }
    let route = route.trim().to_owned();
    if !super::ROUTES.contains(&route.as_str()) {
        return Err(field("route", "choose the route"));
    }
    let handle = super::api::ssr::kb();
    let (code, ingredients) = match blank(generic) {
        None => (None, String::new()),
        Some(label) => {
            let kb = handle.get().map_err(|why| {
                field(
                    "generic",
                    format!("the knowledge base is unavailable ({why}); leave the generic empty"),
                )
            })?;
            let m = kb
                .medicine_by_label(&label)
                .ok_or_else(|| field("generic", "choose a generic from the formulary's list"))?;
            (Some(m.id.clone()), m.ingredients.join(" "))
        }
    };
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    super::db::add_medicine(
        &mut tx,
        &super::db::NewMedicine {
            name: &name,
            generic_code: code.as_deref(),
            ingredients: &ingredients,
            strength: &strength,
            form: &form,
            route: &route,
            unit: unit_of(&form),
        },
        w.staff_id,
    )
    .await
    .map_err(|e| AppError::from(e).respond())?;
    audit::record(
        &mut tx,
        Actor::account(w.viewer.account_id, w.viewer.email.as_str()),
        "medicine.added",
        Some(&name),
        &crate::identity::auth::request_meta(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Retires a clinic medicine (out of the list; past prescriptions keep it) or
/// brings it back.
#[server(prefix = "/api", endpoint = "set_clinic_medicine_active")]
pub async fn set_clinic_medicine_active(medicine_id: Uuid, active: bool) -> Result<(), AppError> {
    use crate::identity::audit::{self, Actor};
    let w = crate::patients::api::ssr::writer()?;
    let db = crate::identity::auth::db()?;
    let mut tx = db.begin_for(w.tenant.id).await?;
    db::set_active(&mut tx, medicine_id, active)
        .await
        .map_err(|e| AppError::from(e).respond())?;
    audit::record(
        &mut tx,
        Actor::account(w.viewer.account_id, w.viewer.email.as_str()),
        if active {
            "medicine.restored"
        } else {
            "medicine.retired"
        },
        Some(&medicine_id.to_string()),
        &crate::identity::auth::request_meta(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// `/staff/formulary`: the clinic's own medicines and brands.
#[component]
pub fn FormularyPage() -> impl IntoView {
    let list = Resource::new(|| (), |_| clinic_medicines());
    let add = "/api/add_clinic_medicine";
    let href = |name: &str| crate::site::current_site().href(&format!("/api/{name}"));
    let kept = |f: &str| crate::forms::kept(add, f);
    view! {
        <crate::shell::PageTitle text="Formulary"/>
        <crate::identity::pages::SignedInShell testid="formulary-page">
            <h1 class="text-xl font-semibold">"Formulary"</h1>
            <p class="mt-1 text-sm text-slate-600">"Your own medicines and brands, beside the shipped list of generics. Map each to its generic so the safety checks know what it contains."</p>
            <crate::forms::PlainFormError path="/api/set_clinic_medicine_active"/>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move { match list.await {
                    Err(e) => view! { <p role="alert" class="mt-4">{e.message()}</p> }.into_any(),
                    Ok(f) => view! {
                        <datalist id="generics">
                            {f.generics.into_iter().map(|g| view! { <option value=g></option> }).collect_view()}
                        </datalist>
                        <ul class="mt-4 divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white" data-testid="clinic-medicines">
                            {f.medicines.into_iter().map(|m| view! {
                                <li class="flex flex-wrap items-center justify-between gap-2 p-3" data-testid="clinic-medicine">
                                    <span class=if m.active { "" } else { "text-slate-500 line-through" }>
                                        {m.label.clone()}" → "{m.generic.clone().unwrap_or_else(|| "not mapped: safety checks cannot run".into())}
                                    </span>
                                    <form method="post" action=href("set_clinic_medicine_active")>
                                        <input type="hidden" name="medicine_id" value=m.id.to_string()/>
                                        <input type="hidden" name="active" value=if m.active { "false" } else { "true" }/>
                                        <button type="submit" class="rounded border border-brand px-2 py-1 text-sm text-brand">{if m.active { "Retire" } else { "Restore" }}</button>
                                    </form>
                                </li>
                            }.into_any()).collect_view()}
                        </ul>
                    }.into_any(),
                }})}
            </Suspense>
            <form method="post" action=href("add_clinic_medicine") class="mt-6 grid gap-3 sm:grid-cols-2" data-testid="add-medicine">
                <h2 class="font-medium sm:col-span-2">"Add a medicine"</h2>
                <div class="sm:col-span-2"><crate::forms::PlainFormError path=add/></div>
                <label class="text-sm">"Name (brand or local)"<input name="name" class=crate::identity::pages::INPUT value=kept("name")/></label>
                <label class="text-sm">"Strength"<input name="strength" placeholder="625 mg" class=crate::identity::pages::INPUT value=kept("strength")/></label>
                <label class="text-sm">"Form"<select name="form" class=crate::identity::pages::INPUT>
                    {FORMS.iter().map(|f| view! { <option value=*f>{*f}</option> }).collect_view()}
                </select></label>
                <label class="text-sm">"Route"<select name="route" class=crate::identity::pages::INPUT>
                    {super::ROUTES.iter().map(|r| view! { <option value=*r>{*r}</option> }).collect_view()}
                </select></label>
                <label class="text-sm sm:col-span-2">"Generic it contains (from the formulary)"<input name="generic" list="generics" class=crate::identity::pages::INPUT value=kept("generic") placeholder="Amoxicillin and clavulanic acid 500 mg/125 mg tablet"/></label>
                <div class="sm:col-span-2"><button type="submit" class=crate::identity::pages::BUTTON>"Add medicine"</button></div>
            </form>
            <crate::identity::pages::HydratedMarker/>
        </crate::identity::pages::SignedInShell>
    }
    .into_any()
}
