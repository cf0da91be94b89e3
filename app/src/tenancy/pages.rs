use leptos::prelude::*;
use leptos_meta::Title;

use super::api::tenant_profile;
use super::TenantPublic;
use crate::site::current_site;

/// `/`: the platform's landing page, or a tenant's sign-in page.
#[component]
pub fn Home() -> impl IntoView {
    match current_site().tenant {
        Some(tenant) => view! { <SignInPage tenant/> }.into_any(),
        None => view! { <Landing/> }.into_any(),
    }
}

/// `/signin` on a tenant's address.
#[component]
pub fn SignIn() -> impl IntoView {
    match current_site().tenant {
        Some(tenant) => view! { <SignInPage tenant/> }.into_any(),
        None => view! { <crate::shell::NotFound/> }.into_any(),
    }
}

#[component]
fn Landing() -> impl IntoView {
    let features = [
        (
            "Scheduling",
            "Calendars per practitioner, online booking and reminders.",
        ),
        (
            "Patient records",
            "Allergies, medications, encounters and documents in one place.",
        ),
        (
            "Billing",
            "Invoices, payments and statements in your currency.",
        ),
        (
            "Patient portal",
            "Your clinic's own branded portal and installable app.",
        ),
    ];
    view! {
        <Title text="MediSync · clinic management"/>
        <main data-testid="landing" class="min-h-screen bg-slate-50 text-slate-900">
            <header class="bg-brand text-on-brand">
                <div class="mx-auto max-w-5xl px-4 py-12 sm:py-20">
                    <p class="text-sm font-semibold tracking-wide opacity-90">"MediSync"</p>
                    <h1 class="mt-2 text-3xl font-bold sm:text-5xl">
                        "Run your clinic, hospital or practice in one place."
                    </h1>
                    <p class="mt-4 max-w-2xl text-lg opacity-95">
                        "Scheduling, patient records, prescriptions, billing and a branded patient portal, with every clinic's data kept strictly apart."
                    </p>
                    <p class="mt-6 inline-block rounded bg-white/15 px-4 py-2 text-sm">
                        "Self-service sign-up opens soon."
                    </p>
                </div>
            </header>
            <section class="mx-auto grid max-w-5xl gap-4 px-4 py-10 sm:grid-cols-2">
                {features
                    .into_iter()
                    .map(|(title, text)| {
                        view! {
                            <div class="rounded-lg border border-slate-200 bg-white p-5">
                                <h2 class="font-semibold">{title}</h2>
                                <p class="mt-1 text-sm text-slate-700">{text}</p>
                            </div>
                        }
                    })
                    .collect_view()}
            </section>
        </main>
    }
}

/// A tenant's branded sign-in page. Colors come from CSS variables the server put in
/// the document head, so the first paint is already in the clinic's colors.
#[component]
fn SignInPage(tenant: TenantPublic) -> impl IntoView {
    // Runs in the browser only: proves hydration and a server function call that is
    // addressed to this tenant even under the /t/{slug} fallback.
    let profile = LocalResource::new(tenant_profile);
    let hydrated = move || {
        profile.get().and_then(Result::ok).map(|t| {
            view! {
                <span data-testid="hydrated" data-tenant=t.slug.to_string() class="sr-only">
                    "ready"
                </span>
            }
        })
    };
    let branding = tenant.branding.clone();
    let logo = branding.logo_url.clone().map(|src| {
        view! { <img src=src alt="" class="h-10 w-10 rounded bg-white object-contain"/> }
    });
    view! {
        <Title text=format!("Sign in · {}", tenant.name)/>
        <main class="min-h-screen bg-slate-50 text-slate-900">
            <header data-testid="brand-header" class="bg-brand text-on-brand">
                <div class="mx-auto flex max-w-md items-center gap-3 px-4 py-4">
                    {logo}
                    <p data-testid="tenant-name" class="text-lg font-semibold">{tenant.name.clone()}</p>
                </div>
            </header>
            <section class="mx-auto max-w-md px-4 py-8">
                <h1 class="text-2xl font-bold">{branding.sign_in_headline.clone()}</h1>
                <p class="mt-2 text-slate-700">{branding.welcome_text.clone()}</p>
                <form class="mt-6 space-y-4 rounded-lg border border-slate-200 bg-white p-5 shadow-sm" method="post">
                    <div>
                        <label for="email" class="block text-sm font-medium">"Email"</label>
                        <input
                            id="email"
                            name="email"
                            type="email"
                            autocomplete="username"
                            required
                            class="mt-1 w-full rounded border border-slate-300 px-3 py-2 focus:border-brand focus:outline-none focus:ring-2 focus:ring-brand"
                        />
                    </div>
                    <div>
                        <label for="password" class="block text-sm font-medium">"Password"</label>
                        <input
                            id="password"
                            name="password"
                            type="password"
                            autocomplete="current-password"
                            required
                            class="mt-1 w-full rounded border border-slate-300 px-3 py-2 focus:border-brand focus:outline-none focus:ring-2 focus:ring-brand"
                        />
                    </div>
                    <button
                        type="submit"
                        disabled
                        class="w-full rounded bg-brand px-4 py-2 font-semibold text-on-brand opacity-80"
                    >
                        "Sign in"
                    </button>
                    <p class="text-xs text-slate-600">"Online sign-in is being switched on for this clinic."</p>
                </form>
                {hydrated}
            </section>
        </main>
    }
}
