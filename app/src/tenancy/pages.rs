use leptos::prelude::*;
use leptos_meta::Title;

use crate::identity::pages::SignInPage;
use crate::identity::Audience;
use crate::site::current_site;

/// `/`: the platform's landing page, or a tenant's sign-in page.
#[component]
pub fn Home() -> impl IntoView {
    match current_site().tenant {
        Some(_) => view! { <SignInPage audience=Audience::Staff/> }.into_any(),
        None => view! { <Landing/> }.into_any(),
    }
}

/// `/signin`: staff on a tenant's address, operators on the platform's.
#[component]
pub fn SignIn() -> impl IntoView {
    let audience = if current_site().tenant.is_some() {
        Audience::Staff
    } else {
        Audience::Platform
    };
    view! { <SignInPage audience/> }
}

/// `/portal/signin`: patients of a tenant.
#[component]
pub fn PortalSignIn() -> impl IntoView {
    match current_site().tenant {
        Some(_) => view! { <SignInPage audience=Audience::Patient/> }.into_any(),
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
