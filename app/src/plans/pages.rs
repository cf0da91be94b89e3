//! `/staff/plan`: the clinic's plan, its usage against the limits, and the plans it
//! can move to.

use crate::shell::PageTitle;
use leptos::prelude::*;

use super::api::{plan_usage, ChoosePlan, Subscribe, SubscriptionCardPage};
use super::{amount, bytes_label, money_label, price_for, Interval, LimitKind, SubscriptionView};
use crate::identity::pages::{error_of, go, FormError, HydratedMarker, SignedInShell, BUTTON};

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

/// The subscription: where it stands, arrears, the card, the provider's invoices.
fn subscription_panel(
    sub: SubscriptionView,
    card: ServerAction<SubscriptionCardPage>,
) -> impl IntoView {
    let arrears = sub.failed_on.clone().map(|failed| {
        let when = sub.read_only_on.clone().unwrap_or_default();
        let text = if sub.read_only {
            format!("The renewal failed on {failed}. Since {when} the clinic's records are read-only: reading and exporting still work. Paying restores everything at once.")
        } else {
            format!("The renewal failed on {failed}. The payment provider tries again on its own; update the card before {when}, or the clinic's records become read-only from that day.")
        };
        view! { <p role="alert" data-testid="subscription-arrears" class="rounded bg-red-50 p-3 text-sm text-red-900">{text}</p> }
    });
    view! {
        <section class="mt-4 space-y-3 rounded-lg border border-slate-200 bg-white p-4 shadow-sm" data-testid="subscription">
            <h2 class="font-semibold">"Subscription"</h2>
            <p data-testid="subscription-status">{format!("{} · {} · {}", sub.plan_name, sub.price, sub.status.label())}</p>
            {sub.paid_until.clone().map(|d| view! { <p class="text-sm">{format!("Paid until {d}.")}</p> })}
            {arrears}
            <ActionForm action=card>
                <button type="submit" class=BUTTON data-testid="subscription-card">"Change the card or pay an open invoice"</button>
            </ActionForm>
            <h3 class="text-sm font-semibold">"Invoices from MediSync"</h3>
            {if sub.invoices.is_empty() {
                view! { <p class="text-sm text-slate-600">"None yet."</p> }.into_any()
            } else {
                view! {
                    <table class="w-full text-sm" data-testid="subscription-invoices">
                        <thead><tr class="text-left"><th>"Number"</th><th>"Date"</th><th>"Amount"</th><th>"Status"</th></tr></thead>
                        <tbody>
                            {sub.invoices.into_iter().map(|i| view! {
                                <tr>
                                    <td>{match i.url {
                                        Some(url) => view! { <a class="text-brand underline" href=url rel="noopener noreferrer">{i.number}</a> }.into_any(),
                                        None => i.number.into_any(),
                                    }}</td>
                                    <td>{i.date}</td>
                                    <td>{i.amount}</td>
                                    <td>{if i.paid { "Paid" } else { "Payment failed" }}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

/// Subscribe buttons for one plan: monthly, and yearly at ten months' price.
fn subscribe_buttons(plan: &super::Plan, subscribe: ServerAction<Subscribe>) -> impl IntoView {
    [Interval::Month, Interval::Year]
        .into_iter()
        .map(|interval| {
            let price = money_label(&plan.currency, price_for(plan, interval));
            let id = plan.id.to_string();
            let testid = format!("subscribe-{id}-{interval}");
            let label = match interval {
                Interval::Month => format!("Subscribe monthly ({price})"),
                Interval::Year => format!("Subscribe yearly ({price})"),
            };
            view! {
                <ActionForm action=subscribe attr:class="mt-2">
                    <input type="hidden" name="plan" value=id/>
                    <input type="hidden" name="interval" value=interval.as_str()/>
                    <button type="submit" class=BUTTON data-testid=testid>{label}</button>
                </ActionForm>
            }
        })
        .collect_view()
}

#[component]
pub fn PlanPage() -> impl IntoView {
    let choose = ServerAction::<ChoosePlan>::new();
    let subscribe = ServerAction::<Subscribe>::new();
    let card = ServerAction::<SubscriptionCardPage>::new();
    let error = error_of!(choose);
    let subscribe_error = error_of!(subscribe);
    let card_error = error_of!(card);
    // The provider's page is another site: the browser goes there directly.
    let leaving = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        let url = match (subscribe.value().get(), card.value().get()) {
            (Some(Ok(url)), _) | (_, Some(Ok(url))) => url,
            _ => return,
        };
        leaving.set(Some(url.clone()));
        go(&url);
    });
    let data = Resource::new(move || choose.version().get(), |_| plan_usage());
    view! {
        <PageTitle text="Plan and usage"/>
        <SignedInShell testid="plan-page">
            <h1 class="text-xl font-semibold">"Plan and usage"</h1>
            <FormError error/>
            <FormError error=subscribe_error/>
            <FormError error=card_error/>
            {move || leaving.get().map(|url| view! {
                <p class="mt-2 text-sm"><a class="text-brand underline" href=url data-testid="continue-to-stripe">"Continue to the secure payment page"</a></p>
            })}
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || data.get().map(|d| match d {
                    Err(e) => view! { <p role="alert">{e.message()}</p> }.into_any(),
                    Ok(d) => {
                        let plan = d.plan.clone();
                        let usage = d.usage.clone();
                        let running = d.subscription.as_ref().is_some_and(|s| {
                            matches!(s.status, super::SubscriptionStatus::Active | super::SubscriptionStatus::PastDue)
                        });
                        let may_subscribe = d.may_change && d.subscriptions_open && !running;
                        let in_trial = d.trial_ends.is_some();
                        let panel = d.subscription.clone().map(|sub| subscription_panel(sub, card));
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
                            {panel}
                            <h2 class="mt-6 font-semibold">"Plans"</h2>
                            {(d.subscriptions_open && !running).then(|| view! {
                                <p class="text-sm text-slate-600">"Paying yearly costs ten months. Changing plan later is prorated to the day."</p>
                            })}
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
                                            {(current && !may_subscribe).then(|| view! { <p class="mt-2 text-sm font-medium text-brand">"Your plan"</p> })}
                                            {(current && may_subscribe).then(|| view! { <p class="mt-2 text-sm font-medium text-brand">"Your plan (not yet subscribed)"</p> })}
                                            {may_subscribe.then(|| subscribe_buttons(&p, subscribe))}
                                            {if current || (may_subscribe && !in_trial) {
                                                ().into_any()
                                            } else if d.may_change && (running || in_trial) {
                                                view! {
                                                    <ActionForm action=choose attr:class="mt-2">
                                                        <input type="hidden" name="plan" value=id/>
                                                        <button type="submit" class=BUTTON>{format!("Switch to {}", p.name)}</button>
                                                    </ActionForm>
                                                }.into_any()
                            } else if d.may_change {
                                                ().into_any()
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
