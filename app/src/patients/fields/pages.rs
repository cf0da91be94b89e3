//! `/staff/patient-fields`: the clinic's custom patient fields, and the inputs
//! the patient forms show for them. Plain form posts (`crate::forms`), like the
//! chart: they work before the page's code arrives.

use leptos::prelude::*;
use uuid::Uuid;

use super::api::patient_fields;
use super::{input_name, FieldDefinition, FieldKind};
use crate::forms::{kept, PlainFormError};
use crate::identity::pages::{HydratedMarker, SignedInShell, BUTTON, INPUT};
use crate::shell::PageTitle;
use crate::site::current_site;

const CARD: &str = "mt-4 space-y-4 rounded-lg border border-slate-200 bg-white p-4 shadow-sm";
const DEFINE: &str = "/api/define_patient_field";
const RETIRE: &str = "/api/retire_patient_field";

#[component]
pub fn PatientFieldsPage() -> impl IntoView {
    let fields = Resource::new(|| (), |_| patient_fields());
    let v = |name: &str| kept(DEFINE, name);
    let kind = v("kind");
    view! {
        <PageTitle text="Patient fields"/>
        <SignedInShell testid="patient-fields-page">
            <h1 class="text-xl font-semibold">"Patient fields"</h1>
            <p class="mt-1 text-sm text-slate-600">"Your clinic's own fields on every patient's record."</p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move { match fields.await {
                    Err(e) => view! { <p role="alert" class="mt-4">{e.message()}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <p class="mt-4 text-sm" data-testid="no-fields">"No fields yet."</p>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class="mt-4 divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white" data-testid="field-list">
                            {list.into_iter().map(|f| view! { <FieldRow field=f/> }).collect_view()}
                        </ul>
                    }.into_any(),
                }})}
            </Suspense>
            <PlainFormError path=RETIRE/>
            <form method="post" action=current_site().href(DEFINE) class=CARD data-testid="define-field">
                <h2 class="font-semibold">"Add a field"</h2>
                <PlainFormError path=DEFINE/>
                <div>
                    <label for="label" class="block text-sm font-medium">"Name"</label>
                    <input id="label" name="label" class=INPUT required maxlength="60" value=v("label")/>
                </div>
                <div>
                    <label for="kind" class="block text-sm font-medium">"Holds"</label>
                    <select id="kind" name="kind" class=INPUT>
                        {FieldKind::ALL.into_iter().map(|k| {
                            let selected = kind == k.as_str();
                            view! { <option value=k.as_str() selected=selected>{k.label()}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <div>
                    <label for="choices" class="block text-sm font-medium">"Options (a choice field only: one per line)"</label>
                    <textarea id="choices" name="choices" rows="3" class=INPUT>{v("choices")}</textarea>
                </div>
                <label class="flex items-center gap-2 text-sm">
                    <input type="checkbox" name="required" value="yes"/>"Required when registering"
                </label>
                <label class="flex items-center gap-2 text-sm">
                    <input type="checkbox" name="searchable" value="yes"/>"Searchable from the patient search box"
                </label>
                <button type="submit" class=BUTTON data-testid="define-submit">"Add field"</button>
            </form>
            <HydratedMarker/>
        </SignedInShell>
    }
}

#[component]
fn FieldRow(field: FieldDefinition) -> impl IntoView {
    let mut traits = vec![field.kind.label().to_owned()];
    if field.required {
        traits.push("required".into());
    }
    if field.searchable {
        traits.push("searchable".into());
    }
    if !field.choices.is_empty() {
        traits.push(format!("options: {}", field.choices.join(", ")));
    }
    view! {
        <li class="flex flex-wrap items-center justify-between gap-2 p-3" data-testid="field-row">
            <div>
                <p class="font-medium">{field.label.clone()}</p>
                <p class="text-sm text-slate-600">{traits.join(" · ")}</p>
            </div>
            <form method="post" action=current_site().href(RETIRE)>
                <input type="hidden" name="field_id" value=field.id.to_string()/>
                <button type="submit" class="rounded border border-slate-300 px-2 py-1 text-sm"
                    aria-label=format!("Retire {}", field.label)>"Retire"</button>
            </form>
        </li>
    }
}

/// The inputs of the clinic's custom fields inside a patient form posted to
/// `path`; `current` gives a field's value on record (none when registering).
#[component]
pub fn CustomFieldInputs(
    path: &'static str,
    fields: Vec<FieldDefinition>,
    #[prop(optional)] current: Vec<(Uuid, String)>,
) -> impl IntoView {
    let refused = crate::forms::refusal(path).is_some();
    fields
        .into_iter()
        .map(|f| {
            let name = input_name(f.id);
            let id = format!("custom-{}", f.id);
            let value = if refused {
                kept(path, &name)
            } else {
                current
                    .iter()
                    .find(|(fid, _)| *fid == f.id)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let label = format!("{}{}", f.label, if f.required { "" } else { " (optional)" });
            let input = match f.kind {
                FieldKind::Choice | FieldKind::YesNo => {
                    let options: Vec<(String, String)> = if f.kind == FieldKind::YesNo {
                        vec![("yes".into(), "Yes".into()), ("no".into(), "No".into())]
                    } else {
                        f.choices.iter().map(|c| (c.clone(), c.clone())).collect()
                    };
                    view! {
                        <select id=id.clone() name=name class=INPUT required=f.required>
                            <option value="">"—"</option>
                            {options.into_iter().map(|(v, l)| {
                                let selected = v == value;
                                view! { <option value=v selected=selected>{l}</option> }
                            }).collect_view()}
                        </select>
                    }
                    .into_any()
                }
                kind => {
                    let input_type = match kind {
                        FieldKind::Number => "number",
                        FieldKind::Date => "date",
                        _ => "text",
                    };
                    view! {
                        <input id=id.clone() name=name type=input_type
                            step=(kind == FieldKind::Number).then_some("any") class=INPUT
                            value=value required=f.required maxlength="200"/>
                    }
                    .into_any()
                }
            };
            view! {
                <div data-testid="custom-field">
                    <label for=id class="block text-sm font-medium">{label}</label>
                    {input}
                </div>
            }
        })
        .collect_view()
}
