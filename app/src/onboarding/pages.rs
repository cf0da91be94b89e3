//! The sign-up page (platform domain) and the dashboard's onboarding checklist.

use crate::shell::PageTitle;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use super::api::{check_slug, onboarding_checklist, DismissChecklist, ResendVerification, SignUp};
use crate::identity::pages::{error_of, go, query, FieldError, FormError, Submit, INPUT};
use crate::plans::api::list_plans;
use crate::site::current_site;

/// The host clinics live under, as shown next to the address field.
fn platform_host() -> String {
    #[cfg(feature = "hydrate")]
    {
        window().location().host().unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        leptos::prelude::use_context::<crate::identity::audit::RequestMeta>()
            .map(|m| m.platform_host().to_owned())
            .unwrap_or_default()
    }
}

/// `/signup/sent`: what everyone who signs up sees (the same for every address).
#[component]
pub fn SignUpSentPage() -> impl IntoView {
    if current_site().tenant.is_some() {
        return view! { <crate::shell::NotFound/> }.into_any();
    }
    view! {
        <PageTitle text="Check your email · MediSync"/>
        <crate::identity::pages::PublicFrame tenant=None>
            <div data-testid="signup-sent">
                <h1 class="text-2xl font-bold">"Check your email"</h1>
                <p class="mt-4 text-slate-700">"Your clinic is set up. We sent a message to the address you entered: open the link in it to confirm the address and sign in. The link works for 72 hours."</p>
                <p class="mt-3 text-sm text-slate-600">"If that address already has a MediSync account, the message explains how to add the clinic to it with your existing password. Nothing arrived after a few minutes? Look in your spam folder, or sign up again."</p>
            </div>
        </crate::identity::pages::PublicFrame>
    }
    .into_any()
}

/// `/signup` on the platform domain: a new clinic in trial, with its owner.
#[component]
pub fn SignUpPage() -> impl IntoView {
    if current_site().tenant.is_some() {
        return view! { <crate::shell::NotFound/> }.into_any();
    }
    let action = ServerAction::<SignUp>::new();
    let error = error_of!(action);
    Effect::new(move |_| {
        if let Some(Ok(url)) = action.value().get() {
            go(&url);
        }
    });
    let plans = Resource::new(|| (), |_| list_plans());
    // What was typed, when the form was posted before the page's code arrived
    // and came back refused (`crate::forms`).
    let typed = |field: &str| crate::forms::typed(SignUp::PATH, field);
    let typed_plan = typed("plan");
    let chosen_plan = query("plan");
    let kind = typed("kind").unwrap_or_else(|| "clinic".into());
    let typed_slug = typed("slug");
    let slug_edited = RwSignal::new(typed_slug.is_some());
    let slug = RwSignal::new(typed_slug.unwrap_or_default());
    let checked = RwSignal::new(String::new());
    let pending_check: StoredValue<Option<TimeoutHandle>> = StoredValue::new(None);
    // Check the address a moment after the last keystroke, not on every one.
    let schedule_check = move |value: String| {
        if let Some(handle) = pending_check.get_value() {
            handle.clear();
        }
        let handle = set_timeout_with_handle(
            move || checked.set(value),
            std::time::Duration::from_millis(300),
        )
        .ok();
        pending_check.set_value(handle);
    };
    let availability = LocalResource::new(move || {
        let value = checked.get();
        async move {
            if value.is_empty() {
                None
            } else {
                check_slug(value).await.ok()
            }
        }
    });
    let host = platform_host();
    view! {
        <PageTitle text="Start your free trial · MediSync"/>
        <main data-testid="signup-page" class="min-h-screen bg-slate-50 text-slate-900">
            <header class="bg-brand text-on-brand">
                <div class="mx-auto max-w-2xl px-4 py-6">
                    <a href="/" class="text-sm font-semibold opacity-90">"MediSync"</a>
                    <h1 class="mt-1 text-2xl font-bold">"Start your clinic's 14-day free trial"</h1>
                    <p class="mt-1 opacity-95">"No card needed."</p>
                </div>
            </header>
            <section class="mx-auto max-w-2xl px-4 py-8">
                <ActionForm action attr:class="space-y-5 rounded-lg border border-slate-200 bg-white p-5 shadow-sm" attr:data-testid="signup-form">
                    <fieldset class="space-y-4">
                        <legend class="text-lg font-semibold">"Your clinic"</legend>
                        <div>
                            <label for="clinic_name" class="block text-sm font-medium">"Clinic name"</label>
                            <input id="clinic_name" name="clinic_name" required maxlength="120" autocomplete="organization" class=INPUT value=typed("clinic_name")
                                on:input=move |ev| {
                                    if !slug_edited.get_untracked() {
                                        let made = super::slugify(&event_target_value(&ev));
                                        slug.set(made.clone());
                                        schedule_check(made);
                                    }
                                }/>
                            <FieldError error field="clinic_name"/>
                        </div>
                        <div>
                            <label for="kind" class="block text-sm font-medium">"Kind"</label>
                            <select id="kind" name="kind" class=INPUT>
                                <option value="clinic" selected=kind == "clinic">"Clinic"</option>
                                <option value="practice" selected=kind == "practice">"Practice"</option>
                                <option value="hospital" selected=kind == "hospital">"Hospital"</option>
                            </select>
                            <FieldError error field="kind"/>
                        </div>
                        <div>
                            <label for="slug" class="block text-sm font-medium">"Address"</label>
                            <div class="mt-1 flex items-center gap-1">
                                <input id="slug" name="slug" required maxlength="40" autocomplete="off" spellcheck="false"
                                    class="w-full rounded border border-slate-300 px-3 py-2 focus:border-brand focus:outline-none focus:ring-2 focus:ring-brand"
                                    value=slug.get_untracked()
                                    prop:value=move || slug.get()
                                    aria-describedby="slug-status"
                                    on:input=move |ev| {
                                        let value = event_target_value(&ev);
                                        slug_edited.set(true);
                                        slug.set(value.clone());
                                        schedule_check(value);
                                    }/>
                                <span class="whitespace-nowrap text-sm text-slate-600">{format!(".{host}")}</span>
                            </div>
                            <div id="slug-status" aria-live="polite" class="mt-1 min-h-5 text-sm">
                                {move || availability.get().flatten().filter(|c| c.slug == slug.get()).map(|c| {
                                    let suggestion = c.suggestion.clone();
                                    if c.available {
                                        view! { <p data-testid="slug-available" class="text-green-800">{format!("✓ {}", c.message)}</p> }.into_any()
                                    } else {
                                        view! {
                                            <p data-testid="slug-unavailable" class="text-red-700">{c.message.clone()}</p>
                                            {suggestion.map(|s| {
                                                let label = format!("Use {s}");
                                                view! {
                                                    <button type="button" data-testid="slug-suggestion" class="mt-1 text-brand underline"
                                                        on:click=move |_| {
                                                            slug_edited.set(true);
                                                            slug.set(s.clone());
                                                            checked.set(s.clone());
                                                        }>{label}</button>
                                                }
                                            })}
                                        }.into_any()
                                    }
                                })}
                            </div>
                            <FieldError error field="slug"/>
                        </div>
                    </fieldset>
                    <fieldset class="space-y-4">
                        <legend class="text-lg font-semibold">"You, the owner"</legend>
                        <div>
                            <label for="owner_name" class="block text-sm font-medium">"Your name"</label>
                            <input id="owner_name" name="owner_name" required maxlength="120" autocomplete="name" class=INPUT value=typed("owner_name")/>
                            <FieldError error field="owner_name"/>
                        </div>
                        <div>
                            <label for="email" class="block text-sm font-medium">"Email"</label>
                            <input id="email" name="email" type="email" required autocomplete="email" class=INPUT value=typed("email")/>
                            <FieldError error field="email"/>
                        </div>
                        <div>
                            <label for="password" class="block text-sm font-medium">"Password (at least 12 characters)"</label>
                            <input id="password" name="password" type="password" required minlength="12" autocomplete="new-password" class=INPUT/>
                            <FieldError error field="password"/>
                        </div>
                    </fieldset>
                    <fieldset>
                        <legend class="text-lg font-semibold">"Plan"</legend>
                        <p class="text-sm text-slate-600">"Every plan starts with the same free trial; you can change it before the trial ends."</p>
                        <Suspense fallback=|| view! { <p>"Loading plans…"</p> }>
                            {move || plans.get().map(|list| match list {
                                Err(e) => view! { <p role="alert">{e.message()}</p> }.into_any(),
                                Ok(list) => {
                                    let wanted = typed_plan.clone().or_else(|| chosen_plan.get()).unwrap_or_else(|| "starter".into());
                                    view! {
                                        <div class="mt-2 grid grid-cols-1 gap-3 sm:grid-cols-3">
                                            {list.into_iter().map(|p| {
                                                let id = format!("plan-{}", p.id);
                                                let label_for = id.clone();
                                                view! {
                                                    <label for=label_for class="block cursor-pointer rounded border border-slate-300 p-3 has-[:checked]:border-brand has-[:checked]:ring-2 has-[:checked]:ring-brand">
                                                        <input id=id type="radio" name="plan" value=p.id.to_string() checked=p.id.as_str() == wanted class="mr-2"/>
                                                        <span class="font-semibold">{p.name.clone()}</span>
                                                        <span class="block text-sm text-slate-700">{p.price_label()}</span>
                                                        <span class="block text-xs text-slate-600">{format!("{}, {}", crate::plans::amount(crate::plans::LimitKind::Users, p.max_users), crate::plans::amount(crate::plans::LimitKind::Patients, p.max_patients))}</span>
                                                    </label>
                                                }
                                            }).collect_view()}
                                        </div>
                                    }.into_any()
                                }
                            })}
                        </Suspense>
                        <FieldError error field="plan"/>
                    </fieldset>
                    <div>
                        <label class="flex items-start gap-2 text-sm">
                            <input type="checkbox" name="terms" class="mt-1"/>
                            <span>"I accept the "
                                <a href="/legal/terms" target="_blank" rel="noopener" data-testid="terms-link" class="text-brand underline">"terms of service"</a>
                                " and the "
                                <a href="/legal/dpa" target="_blank" rel="noopener" data-testid="dpa-link" class="text-brand underline">"data processing agreement"</a>
                                " on behalf of the clinic."</span>
                        </label>
                        <FieldError error field="terms"/>
                    </div>
                    <FormError error/>
                    <Submit pending=action.pending().into() label="Create my clinic" busy="Creating your clinic…"/>
                </ActionForm>
                <p class="mt-4 text-center text-sm text-slate-600">"Already with MediSync? Sign in on your clinic's own address."</p>
                <crate::identity::pages::HydratedMarker/>
            </section>
        </main>
    }
    .into_any()
}

/// The dashboard's set-up list, for those who run the clinic.
#[component]
pub fn OnboardingChecklist() -> impl IntoView {
    let resend = ServerAction::<ResendVerification>::new();
    let dismiss = ServerAction::<DismissChecklist>::new();
    // Rendered with the page (no jump when it arrives), and gone once hidden.
    let checklist = Resource::new(move || dismiss.version().get(), |_| onboarding_checklist());
    let welcome = query("welcome");
    view! {
        {move || welcome.get().map(|_| view! {
            <p data-testid="welcome" class="mt-3 rounded bg-green-50 p-3 text-sm text-green-900">
                "Welcome to MediSync! Your clinic is ready. These steps get it set up."
            </p>
        })}
        <Suspense>
        {move || checklist.get().and_then(Result::ok).filter(|list| !list.dismissed).map(|list| {
            let (done, total) = list.progress();
            let percent = (done * 100).checked_div(total).unwrap_or(100);
            let verified = list.email_verified;
            view! {
                {(!verified).then(|| view! {
                    <div data-testid="verify-email-notice" class="mt-3 rounded bg-amber-50 p-3 text-sm text-amber-900">
                        "Confirm your email address with the link we sent you. "
                        <ActionForm action=resend attr:class="inline">
                            <button type="submit" class="underline">"Send the link again"</button>
                        </ActionForm>
                        {move || matches!(resend.value().get(), Some(Ok(()))).then(|| " Sent.")}
                    </div>
                })}
                <section data-testid="onboarding" class="mt-4 rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
                    <div class="flex flex-wrap items-center justify-between gap-2">
                        <h2 class="font-semibold">"Set up your clinic"</h2>
                        <span data-testid="onboarding-progress" class="text-sm text-slate-700">{format!("{done} of {total} done")}</span>
                        <ActionForm action=dismiss>
                            <button type="submit" data-testid="dismiss-checklist" class="text-sm text-brand underline">"Hide this list"</button>
                        </ActionForm>
                    </div>
                    <div class="mt-2 h-2 rounded bg-slate-100" role="progressbar" aria-label="Clinic set-up progress" aria-valuemin="0" aria-valuemax="100" aria-valuenow=percent.to_string()>
                        <div class="h-2 rounded bg-brand" style=format!("width:{percent}%")></div>
                    </div>
                    <ul class="mt-3 space-y-1 text-sm">
                        {list.items.into_iter().map(|item| {
                            let mark = if item.done { "✓" } else { "○" };
                            let label = item.label.clone();
                            view! {
                                <li data-testid=format!("step-{}", item.key) data-done=item.done.to_string() class="flex items-center gap-2">
                                    <span aria-hidden="true" class=if item.done { "text-green-700" } else { "text-slate-400" }>{mark}</span>
                                    {match item.href {
                                        Some(href) if !item.done => view! { <a class="text-brand underline" href=href>{label}</a> }.into_any(),
                                        _ => view! { <span class=if item.done { "text-slate-600 line-through" } else { "text-slate-500" }>{label}</span> }.into_any(),
                                    }}
                                    <span class="sr-only">{if item.done { "(done)" } else { "(to do)" }}</span>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                </section>
            }
        })}
        </Suspense>
    }
}
