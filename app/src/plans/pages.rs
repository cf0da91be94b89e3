//! `/staff/plan`: the clinic's plan, its usage against the limits, and the plans it
//! can move to.

use crate::shell::PageTitle;
use leptos::prelude::*;

use super::api::{plan_usage, ChoosePlan};
use super::{amount, bytes_label, LimitKind};
use crate::identity::pages::{error_of, FormError, HydratedMarker, SignedInShell, BUTTON};

/// One usage bar: `3 of 10 users`.
fn meter(label: &'static str, used: i64, limit: Option<i64>, text: String) -> impl IntoView {
    let percent = limit.map_or(0, |l| {
        if l == 0 {
            100
        } else {
            (used * 100 / l).min(100)
        }
    });
    let warn = percent >= 90;
    view! {
        <div data-testid=format!("usage-{}", label.to_lowercase().replace(' ', "-"))>
            <div class="flex justify-between text-sm"><span class="font-medium">{label}</span><span>{text}</span></div>
            <div class="mt-1 h-2 rounded bg-slate-100" role="meter" aria-label=label aria-valuemin="0" aria-valuemax="100" aria-valuenow=percent.to_string()>
                <div class=if warn { "h-2 rounded bg-red-600" } else { "h-2 rounded bg-brand" } style=format!("width:{percent}%")></div>
            </div>
        </div>
    }
}

/// `3 of 10 users, 2 more invited`: invitations hold seats until answered.
fn users_text(users: i64, pending: i64, limit: Option<i64>) -> String {
    let base = format!("{users} of {}", amount(LimitKind::Users, limit));
    match pending {
        0 => base,
        1 => format!("{base}, 1 more invited"),
        n => format!("{base}, {n} more invited"),
    }
}

#[component]
pub fn PlanPage() -> impl IntoView {
    let choose = ServerAction::<ChoosePlan>::new();
    let error = error_of!(choose);
    let data = Resource::new(move || choose.version().get(), |_| plan_usage());
    view! {
        <PageTitle text="Plan and usage"/>
        <SignedInShell testid="plan-page">
            <h1 class="text-xl font-semibold">"Plan and usage"</h1>
            <FormError error/>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || data.get().map(|d| match d {
                    Err(e) => view! { <p role="alert">{e.message()}</p> }.into_any(),
                    Ok(d) => {
                        let plan = d.plan.clone();
                        let usage = d.usage.clone();
                        view! {
                            <section class="mt-4 space-y-3 rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
                                <p data-testid="current-plan" class="text-lg font-semibold">{format!("{} · {}", plan.name, plan.price_label())}</p>
                                {d.trial_ends.clone().map(|t| view! { <p class="text-sm text-sky-900">{format!("Free trial until {t}.")}</p> })}
                                {meter("Users", usage.users + usage.pending_invitations, plan.max_users, users_text(usage.users, usage.pending_invitations, plan.max_users))}
                                {meter("Patients", usage.patients, plan.max_patients, format!("{} of {}", usage.patients, amount(LimitKind::Patients, plan.max_patients)))}
                                {meter("Storage", usage.storage_bytes, Some(plan.storage_bytes), format!("{} of {}", bytes_label(usage.storage_bytes), bytes_label(plan.storage_bytes)))}
                                <p class="text-sm" data-testid="usage-api">{format!("Server requests this month: {}", usage.api_calls_this_month)}</p>
                                <p class="text-sm text-slate-600">{format!("Includes: {}", plan.features.iter().filter(|f| f.exists()).map(|f| f.label()).collect::<Vec<_>>().join(", "))}</p>
                            </section>
                            <h2 class="mt-6 font-semibold">"Plans"</h2>
                            <div class="mt-2 grid grid-cols-1 gap-3 md:grid-cols-3">
                                {d.plans.into_iter().map(|p| {
                                    let current = p.id == plan.id;
                                    let id = p.id.to_string();
                                    let marker = id.clone();
                                    view! {
                                        <div class=if current { "rounded-lg border-2 border-brand bg-white p-4" } else { "rounded-lg border border-slate-200 bg-white p-4" } data-plan=marker>
                                            <p class="font-semibold">{p.name.clone()}</p>
                                            <p class="text-sm">{p.price_label()}</p>
                                            <ul class="mt-2 text-xs text-slate-700">
                                                <li>{amount(LimitKind::Users, p.max_users)}</li>
                                                <li>{amount(LimitKind::Patients, p.max_patients)}</li>
                                                <li>{amount(LimitKind::Storage, Some(p.storage_bytes))}</li>
                                                {p.features.iter().filter(|f| f.exists()).map(|f| view! { <li>{f.label()}</li> }).collect_view()}
                                            </ul>
                                            {if current {
                                                view! { <p class="mt-2 text-sm font-medium text-brand">"Your plan"</p> }.into_any()
                                            } else if d.may_change {
                                                view! {
                                                    <ActionForm action=choose attr:class="mt-2">
                                                        <input type="hidden" name="plan" value=id/>
                                                        <button type="submit" class=BUTTON>{format!("Switch to {}", p.name)}</button>
                                                    </ActionForm>
                                                }.into_any()
                                            } else {
                                                view! { <p class="mt-2 text-xs text-slate-600">"The clinic's owner can change the plan."</p> }.into_any()
                                            }}
                                        </div>
                                    }
                                }).collect_view()}
                            </div>
                        }.into_any()
                    }
                })}
            </Suspense>
            <HydratedMarker/>
        </SignedInShell>
    }
}
