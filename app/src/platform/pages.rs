//! The platform console's pages (platform domain only).

use crate::shell::PageTitle;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use super::api::*;
use super::WeekCount;
use crate::identity::pages::{
    error_of, go, FieldError, FormError, HydratedMarker, SignedInShell, Submit, BUTTON, CARD, INPUT,
};
use crate::plans::{amount, bytes_label, money_label, Feature, LimitKind, Plan};
use crate::shell::{NotFound, Panel};
use crate::site::current_site;
use crate::tenancy::TenantStatus;

fn on_platform() -> bool {
    current_site().tenant.is_none()
}

/// Sign-ups per week as an SVG bar chart (no script, readable without colour).
fn signups_chart(weeks: &[WeekCount]) -> impl IntoView {
    let max = weeks.iter().map(|w| w.count).max().unwrap_or(0).max(1);
    let (width, height, bar) = (600.0_f64, 160.0_f64, 600.0 / weeks.len().max(1) as f64);
    let summary = weeks
        .iter()
        .map(|w| format!("week of {}: {}", w.week, w.count))
        .collect::<Vec<_>>()
        .join("; ");
    view! {
        <svg data-testid="signups-chart" viewBox=format!("0 0 {width} {}", height + 24.0) class="h-48 w-full" role="img" aria-label=format!("Sign-ups per week: {summary}")>
            {weeks.iter().enumerate().map(|(i, w)| {
                let h = (w.count as f64 / max as f64) * (height - 16.0);
                let x = i as f64 * bar + 4.0;
                let y = height - h;
                view! {
                    <g>
                        <rect x=x.to_string() y=y.to_string() width=(bar - 8.0).to_string() height=h.to_string() class="fill-brand" data-week=w.week.clone() data-count=w.count.to_string()></rect>
                        <text x=(x + (bar - 8.0) / 2.0).to_string() y=(y - 3.0).to_string() text-anchor="middle" font-size="11" class="fill-slate-700">{w.count.to_string()}</text>
                        <text x=(x + (bar - 8.0) / 2.0).to_string() y=(height + 16.0).to_string() text-anchor="middle" font-size="10" class="fill-slate-500">{w.week.get(5..).unwrap_or_default().to_owned()}</text>
                    </g>
                }
            }).collect_view()}
        </svg>
    }
}

/// `/admin`: platform figures.
#[component]
pub fn PlatformAdmin() -> impl IntoView {
    if !on_platform() {
        return view! { <NotFound/> }.into_any();
    }
    let overview = Resource::new(|| (), |_| platform_overview());
    view! {
        <PageTitle text="Platform admin · MediSync"/>
        <SignedInShell testid="admin-shell">
            <h1 class="text-xl font-semibold">"Platform overview"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || overview.get().map(|o| match o {
                    Err(e) => view! { <p role="alert">{e.message()}</p> }.into_any(),
                    Ok(o) => {
                        let total_signups = o.signups.iter().map(|w| w.count).sum::<i64>().to_string();
                        let chart = signups_chart(&o.signups);
                        view! {
                        <div class="mt-4 grid grid-cols-1 gap-4 sm:grid-cols-3">
                            <Panel title="Tenants">
                                <p data-testid="tenant-count" class="text-2xl font-semibold">{format!("{} tenants", o.tenants)}</p>
                                <ul class="mt-2" data-testid="tenants-by-status">
                                    {o.by_status.iter().map(|(s, n)| view! { <li data-status=s.as_str()>{format!("{s}: {n}")}</li> }).collect_view()}
                                </ul>
                            </Panel>
                            <Panel title="Monthly recurring revenue">
                                <div data-testid="mrr">
                                    {if o.mrr.is_empty() {
                                        view! { <p class="text-2xl font-semibold">"0"</p> }.into_any()
                                    } else {
                                        o.mrr.iter().map(|(c, v)| view! { <p class="text-2xl font-semibold">{money_label(c, *v)}</p> }).collect_view().into_any()
                                    }}
                                    <p class="text-xs">"From running subscriptions (a year counts a twelfth)."</p>
                                    {(!o.billed_by_hand.is_empty()).then(|| view! {
                                        <p class="mt-1 text-xs" data-testid="billed-by-hand">{format!(
                                            "Billed outside MediSync: {}",
                                            o.billed_by_hand.iter().map(|(c, v)| money_label(c, *v)).collect::<Vec<_>>().join(", ")
                                        )}</p>
                                    })}
                                </div>
                            </Panel>
                            <Panel title="Sign-ups, last 12 weeks">
                                <p class="text-2xl font-semibold">{total_signups}</p>
                            </Panel>
                        </div>
                        <ArrearsPanel rows=o.arrears.clone()/>
                        <section class="mt-4 rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
                            <h2 class="font-semibold">"Sign-ups per week"</h2>
                            {chart}
                        </section>
                    }.into_any()
                    }
                })}
            </Suspense>
            <JobQueuePanel/>
            <HydratedMarker/>
        </SignedInShell>
    }
    .into_any()
}

/// Clinics whose subscription renewal failed: when, from when their records are
/// read-only, and a way to give one more time.
#[component]
fn ArrearsPanel(rows: Vec<super::ArrearsRow>) -> impl IntoView {
    let extend = ServerAction::<ExtendGrace>::new();
    let error = error_of!(extend);
    view! {
        <section class=CARD data-testid="arrears">
            <h2 class="font-semibold">"Failed subscription payments"</h2>
            <FormError error/>
            {move || extend.value().get().and_then(Result::ok).map(|()| view! { <p role="status" class="text-sm">"Grace period moved. Reload to see it."</p> })}
            {if rows.is_empty() {
                view! { <p class="text-sm text-slate-600">"None."</p> }.into_any()
            } else {
                view! {
                    <table class="w-full text-sm">
                        <thead><tr class="text-left"><th>"Clinic"</th><th>"Status"</th><th>"Failed on"</th><th>"Read-only from"</th><th>"Extend to"</th></tr></thead>
                        <tbody>
                            {rows.into_iter().map(|r| {
                                let field = format!("grace-{}", r.slug);
                                view! {
                                <tr data-slug=r.slug.clone()>
                                    <td>{r.name}</td>
                                    <td>{r.status}</td>
                                    <td>{r.failed_on}</td>
                                    <td>{r.read_only_from.unwrap_or_default()}</td>
                                    <td>
                                        <ActionForm action=extend attr:class="flex gap-1">
                                            <input type="hidden" name="id" value=r.id.to_string()/>
                                            <label class="sr-only" for=field.clone()>"New read-only date"</label>
                                            <input id=field type="date" name="until" required class="rounded border px-1"/>
                                            <button type="submit" class="rounded border px-2">"Extend"</button>
                                        </ActionForm>
                                    </td>
                                </tr>
                            }}).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

/// Background jobs: how many wait, run and failed for good, and the dead ones,
/// each with its last error and a way back into the queue.
#[component]
fn JobQueuePanel() -> impl IntoView {
    let requeue = ServerAction::<RequeueJob>::new();
    let requeue_error = error_of!(requeue);
    let jobs = Resource::new(move || requeue.version().get(), |_| job_queue());
    view! {
        <section class=CARD data-testid="job-queue">
            <h2 class="font-semibold">"Background jobs"</h2>
            <FormError error=requeue_error/>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || jobs.get().map(|q| match q {
                    Err(e) => view! { <p role="alert">{e.message()}</p> }.into_any(),
                    Ok(q) => view! {
                        <p class="text-sm" data-testid="job-counts">
                            {if q.by_state.is_empty() { "No jobs yet.".to_owned() } else {
                                q.by_state.iter().map(|(s, n)| format!("{s}: {n}")).collect::<Vec<_>>().join(" · ")
                            }}
                        </p>
                        {if q.dead.is_empty() {
                            view! { <p class="text-sm text-slate-600">"No dead jobs."</p> }.into_any()
                        } else {
                            view! {
                                <div class="mt-2 overflow-x-auto">
                                <table class="w-full text-left text-sm" data-testid="dead-jobs">
                                    <thead><tr><th scope="col">"Kind"</th><th scope="col">"Attempts"</th><th scope="col">"Ended"</th><th scope="col">"Last error"</th><th scope="col">"Action"</th></tr></thead>
                                    <tbody>
                                        {q.dead.into_iter().map(|j| view! {
                                            <tr data-job=j.id.to_string()>
                                                <td>{j.kind}</td>
                                                <td>{j.attempts.to_string()}</td>
                                                <td>{j.ended}</td>
                                                <td class="max-w-md break-words">{j.error}</td>
                                                <td>
                                                    <ActionForm action=requeue>
                                                        <input type="hidden" name="id" value=j.id.to_string()/>
                                                        <button type="submit" class="text-brand underline">"Send back to the queue"</button>
                                                    </ActionForm>
                                                </td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                </div>
                            }.into_any()
                        }}
                    }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// `/admin/tenants`: search and filter.
#[component]
pub fn TenantsPage() -> impl IntoView {
    if !on_platform() {
        return view! { <NotFound/> }.into_any();
    }
    let search = RwSignal::new(String::new());
    let status = RwSignal::new(String::new());
    let plan = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let list = Resource::new(
        move || (search.get(), status.get(), plan.get(), from.get(), to.get()),
        |(s, st, p, f, t)| list_tenants(Some(s), Some(st), Some(p), Some(f), Some(t)),
    );
    let plans = Resource::new(|| (), |_| all_plans());
    let base = "rounded border border-slate-300 px-2 py-1";
    view! {
        <PageTitle text="Tenants · MediSync"/>
        <SignedInShell testid="tenants-page">
            <h1 class="text-xl font-semibold">"Tenants"</h1>
            <div class="mt-4 flex flex-wrap items-end gap-3 text-sm">
                <label>"Search" <input data-testid="tenant-search" class=format!("block {base}") placeholder="name or address" on:input=move |ev| search.set(event_target_value(&ev))/></label>
                <label>"Status"
                    <select data-testid="tenant-status-filter" class=format!("block {base}") on:change=move |ev| status.set(event_target_value(&ev))>
                        <option value="">"Any"</option>
                        {[TenantStatus::Trial, TenantStatus::Active, TenantStatus::Suspended, TenantStatus::Cancelled].iter().map(|s| view! { <option value=s.as_str()>{s.as_str()}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Plan"
                    <select class=format!("block {base}") on:change=move |ev| plan.set(event_target_value(&ev))>
                        <option value="">"Any"</option>
                        <Suspense fallback=|| ()>
                            {move || plans.get().and_then(Result::ok).map(|ps| ps.into_iter().map(|p| view! { <option value=p.id.to_string()>{p.name.clone()}</option> }).collect_view())}
                        </Suspense>
                    </select>
                </label>
                <label>"Created from" <input type="date" class=format!("block {base}") on:change=move |ev| from.set(event_target_value(&ev))/></label>
                <label>"to" <input type="date" class=format!("block {base}") on:change=move |ev| to.set(event_target_value(&ev))/></label>
            </div>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || list.get().map(|l| match l {
                    Err(e) => view! { <p role="alert">{e.message()}</p> }.into_any(),
                    Ok(l) => {
                    // Plans by name, as the clinics see them (the code stays in `data-plan`).
                    let names = plans.get().and_then(Result::ok).unwrap_or_default();
                    let plan_name = move |id: &str| {
                        names
                            .iter()
                            .find(|p| p.id.as_str() == id)
                            .map_or_else(|| id.to_owned(), |p| p.name.clone())
                    };
                    view! {
                        <div class="relative mt-4 max-w-full overflow-x-auto" tabindex="0" role="region" aria-label="Tenants"><table class="w-full text-left text-sm" data-testid="tenant-table">
                            <thead><tr><th class="p-2">"Clinic"</th><th class="p-2">"Address"</th><th class="p-2">"Status"</th><th class="p-2">"Plan"</th><th class="p-2">"Created"</th></tr></thead>
                            <tbody>
                                {l.into_iter().map(|t| view! {
                                    <tr class="border-t border-slate-200" data-slug=t.slug.clone()>
                                        <td class="p-2"><a class="text-brand underline" href=format!("/admin/tenants/{}", t.id)>{t.name.clone()}</a></td>
                                        <td class="p-2 font-mono">{t.slug.clone()}</td>
                                        <td class="p-2" data-testid="tenant-status">{t.status.as_str()}</td>
                                        <td class="p-2" data-plan=t.plan.clone()>{plan_name(&t.plan)}</td>
                                        <td class="p-2">{t.created.clone()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table></div>
                    }.into_any()
                    }
                })}
            </Suspense>
            <HydratedMarker/>
        </SignedInShell>
    }
    .into_any()
}

/// `/admin/tenants/:id`: one tenant, its usage, suspension and support access.
#[component]
pub fn TenantPage() -> impl IntoView {
    if !on_platform() {
        return view! { <NotFound/> }.into_any();
    }
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").and_then(|s| s.parse::<Uuid>().ok())));
    let suspend = ServerAction::<SuspendTenant>::new();
    let reactivate = ServerAction::<ReactivateTenant>::new();
    let support = ServerAction::<StartSupportSession>::new();
    let suspend_error = error_of!(suspend);
    let reactivate_error = error_of!(reactivate);
    let support_error = error_of!(support);
    Effect::new(move |_| {
        if let Some(Ok(url)) = support.value().get() {
            go(&url);
        }
    });
    let detail = Resource::new(
        move || {
            (
                id.get(),
                suspend.version().get(),
                reactivate.version().get(),
            )
        },
        |(id, _, _)| async move {
            match id {
                Some(id) => tenant_detail(id).await,
                None => Err(crate::error::AppError::NotFound),
            }
        },
    );
    view! {
        <PageTitle text="Tenant · MediSync"/>
        <SignedInShell testid="tenant-page">
            <a href="/admin/tenants" class="text-sm text-brand underline">"← All tenants"</a>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || detail.get().map(|d| match d {
                    Err(e) => view! { <p role="alert">{e.message()}</p> }.into_any(),
                    Ok(d) => {
                        let t = d.tenant.clone();
                        let tid = t.id.to_string();
                        let support_tid = tid.clone();
                        let served = t.status.is_served();
                        view! {
                            <h1 class="mt-2 text-xl font-semibold" data-testid="tenant-name">{t.name.clone()}</h1>
                            <p class="text-sm text-slate-600">{format!("{} · {} · created {}", t.slug, t.kind.as_str(), t.created)}</p>
                            <p class="mt-2"><span class="font-medium">"Status: "</span><span data-testid="tenant-status">{t.status.as_str()}</span>
                                {d.status_reason.clone().map(|r| view! { <span class="text-sm text-slate-600">{format!(" ({r})")}</span> })}</p>
                            {d.trial_ends.clone().map(|e| view! { <p class="text-sm">{format!("Trial ends {e}")}</p> })}
                            {d.custom_domain.clone().map(|e| view! { <p class="text-sm">{format!("Custom domain: {e}")}</p> })}
                            <p class="text-sm">{format!("Owners: {}", d.owners.join(", "))}</p>
                            <div class="mt-4 grid grid-cols-1 gap-4 md:grid-cols-2">
                                <Panel title="Usage">
                                    <ul data-testid="tenant-usage">
                                        <li>{format!("Plan: {} ({})", d.plan.name, d.plan.price_label())}</li>
                                        <li>{format!("Users: {} of {}", d.usage.users, amount(LimitKind::Users, d.plan.max_users))}</li>
                                        <li>{format!("Patients: {} of {}", d.usage.patients, amount(LimitKind::Patients, d.plan.max_patients))}</li>
                                        <li>{format!("Storage: {} of {}", bytes_label(d.usage.storage_bytes), bytes_label(d.plan.storage_bytes))}</li>
                                        <li>{format!("Server requests this month: {}", d.usage.api_calls_this_month)}</li>
                                    </ul>
                                </Panel>
                                <Panel title="Account status">
                                    {if served {
                                        let tid = tid.clone();
                                        view! {
                                            <ActionForm action=suspend attr:class="space-y-2" attr:data-testid="suspend-form">
                                                <input type="hidden" name="id" value=tid/>
                                                <label for="reason" class="block text-sm font-medium">"Reason for suspending (kept on record)"</label>
                                                <input id="reason" name="reason" required maxlength="500" class=INPUT/>
                                                <FieldError error=suspend_error field="reason"/>
                                                <FormError error=suspend_error/>
                                                <button type="submit" class="rounded bg-red-700 px-4 py-2 font-semibold text-white">"Suspend clinic"</button>
                                            </ActionForm>
                                        }.into_any()
                                    } else {
                                        let tid = tid.clone();
                                        view! {
                                            <ActionForm action=reactivate attr:data-testid="reactivate-form">
                                                <input type="hidden" name="id" value=tid/>
                                                <FormError error=reactivate_error/>
                                                <button type="submit" class=BUTTON>"Reactivate clinic"</button>
                                            </ActionForm>
                                        }.into_any()
                                    }}
                                </Panel>
                            </div>
                            <section class=CARD>
                                <h2 class="font-semibold">"Support session"</h2>
                                <p class="text-sm text-slate-600">"Opens the clinic as an administrator for at most 30 minutes. The reason goes into the clinic's audit log, which its owner reads."</p>
                                <ActionForm action=support attr:class="space-y-2" attr:data-testid="support-form">
                                    <input type="hidden" name="id" value=support_tid/>
                                    <label for="support_reason" class="block text-sm font-medium">"Reason"</label>
                                    <input id="support_reason" name="reason" required maxlength="500" class=INPUT/>
                                    <FieldError error=support_error field="reason"/>
                                    <label for="minutes" class="block text-sm font-medium">"Minutes (1 to 30)"</label>
                                    <input id="minutes" name="minutes" value="15" inputmode="numeric" class=INPUT/>
                                    <FieldError error=support_error field="minutes"/>
                                    <FormError error=support_error/>
                                    <Submit pending=support.pending().into() label="Start support session" busy="Opening…"/>
                                </ActionForm>
                                <ul class="text-sm" data-testid="support-sessions">
                                    {d.support_sessions.into_iter().map(|s| view! {
                                        <li>{format!("{} · {} → {} · {}{}", s.operator_email, s.started, s.expires, s.reason, if s.open { " (open)" } else { "" })}</li>
                                    }).collect_view()}
                                </ul>
                            </section>
                        }.into_any()
                    }
                })}
            </Suspense>
            <HydratedMarker/>
        </SignedInShell>
    }
    .into_any()
}

/// `/admin/plans`: create, edit and retire plans.
#[component]
pub fn PlansAdminPage() -> impl IntoView {
    if !on_platform() {
        return view! { <NotFound/> }.into_any();
    }
    let save = ServerAction::<SavePlan>::new();
    let retire = ServerAction::<SetPlanRetired>::new();
    let plans = Resource::new(
        move || (save.version().get(), retire.version().get()),
        |_| all_plans(),
    );
    let retire_error = error_of!(retire);
    view! {
        <PageTitle text="Plans · MediSync"/>
        <SignedInShell testid="plans-admin-page">
            <h1 class="text-xl font-semibold">"Plans"</h1>
            <p class="mt-1 text-sm text-slate-600">"Clinics keep their plan when it is retired; retired plans are no longer offered."</p>
            <FormError error=retire_error/>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || plans.get().map(|l| match l {
                    Err(e) => view! { <p role="alert">{e.message()}</p> }.into_any(),
                    Ok(l) => view! {
                        <div class="mt-4 space-y-4">
                            {l.into_iter().map(|p| {
                                let id = p.id.to_string();
                                let marker = id.clone();
                                let retired = p.retired;
                                view! {
                                    <div data-plan=marker>
                                        <PlanForm plan=Some(p) save/>
                                        <ActionForm action=retire attr:class="mt-1">
                                            <input type="hidden" name="id" value=id/>
                                            <input type="hidden" name="retired" value=(!retired).to_string()/>
                                            <button type="submit" class="text-sm underline">{if retired { "Offer again" } else { "Retire" }}</button>
                                        </ActionForm>
                                    </div>
                                }
                            }).collect_view()}
                        </div>
                    }.into_any(),
                })}
            </Suspense>
            <h2 class="mt-8 font-semibold">"New plan"</h2>
            <PlanForm plan=None save/>
            <HydratedMarker/>
        </SignedInShell>
    }
    .into_any()
}

#[component]
fn PlanForm(plan: Option<Plan>, save: ServerAction<SavePlan>) -> impl IntoView {
    let error = error_of!(save);
    let is_new = plan.is_none();
    let p = plan.clone();
    let text = move |f: fn(&Plan) -> String| p.as_ref().map(f).unwrap_or_default();
    let features = RwSignal::new(
        plan.as_ref()
            .map(|p| {
                p.features
                    .iter()
                    .map(|f| f.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default(),
    );
    let has = move |f: Feature| features.get_untracked().split(',').any(|x| x == f.as_str());
    let toggle = move |f: Feature, on: bool| {
        features.update(|list| {
            let chosen: Vec<&str> = Feature::ALL
                .iter()
                .filter(|x| {
                    (**x == f && on) || (**x != f && list.split(',').any(|y| y == x.as_str()))
                })
                .map(|x| x.as_str())
                .collect();
            *list = chosen.join(",");
        });
    };
    let small = "rounded border border-slate-300 px-2 py-1 w-full";
    let title = plan.as_ref().map_or("New plan".to_owned(), |p| {
        format!("{}{}", p.name, if p.retired { " (retired)" } else { "" })
    });
    view! {
        <ActionForm action=save attr:class="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
            <p class="font-semibold">{title}</p>
            {is_new.then(|| view! { <input type="hidden" name="is_new" value="1"/> })}
            <input type="hidden" name="features" prop:value=move || features.get()/>
            <div class="mt-2 grid grid-cols-1 gap-2 text-sm sm:grid-cols-4">
                <label>"Code"<input name="id" class=small value=text(|p| p.id.to_string()) readonly=!is_new required/></label>
                <label>"Name"<input name="name" class=small value=text(|p| p.name.clone()) required/></label>
                <label>"Price / month"<input name="price" class=small value=text(|p| format!("{}.{:02}", p.price_cents / 100, p.price_cents % 100)) required/></label>
                <label>"Currency"<input name="currency" class=small value=plan.as_ref().map_or("USD".into(), |p| p.currency.clone()) maxlength="3"/></label>
                <label>"Max users (empty: unlimited)"<input name="max_users" class=small value=text(|p| p.max_users.map(|n| n.to_string()).unwrap_or_default())/></label>
                <label>"Max patients (empty: unlimited)"<input name="max_patients" class=small value=text(|p| p.max_patients.map(|n| n.to_string()).unwrap_or_default())/></label>
                <label>"Storage (GB)"<input name="storage_gb" class=small value=text(|p| (p.storage_bytes / (1024 * 1024 * 1024)).to_string()) required/></label>
                <label>"Order"<input name="sort_order" class=small value=text(|p| p.sort_order.to_string())/></label>
            </div>
            <fieldset class="mt-2 flex flex-wrap gap-3 text-sm">
                <legend class="sr-only">"Features"</legend>
                {Feature::ALL.iter().map(|f| {
                    let f = *f;
                    view! { <label class="flex items-center gap-1"><input type="checkbox" checked=has(f) on:change=move |ev| toggle(f, event_target_checked(&ev))/>{f.label()}{(!f.exists()).then_some(" (not built yet: hidden from clinics)")}</label> }
                }).collect_view()}
            </fieldset>
            {["id", "name", "price", "currency", "max_users", "max_patients", "storage_gb", "sort_order", "features"].into_iter().map(|f| view! { <FieldError error field=f/> }).collect_view()}
            <FormError error/>
            <button type="submit" class=format!("mt-2 {BUTTON}")>{if is_new { "Create plan" } else { "Save" }}</button>
        </ActionForm>
    }
}
