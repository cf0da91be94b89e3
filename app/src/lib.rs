//! MediSync's application crate: domain types, server functions, queries and pages,
//! compiled for the server (`ssr`) and for the browser (`hydrate`).

pub mod app;
pub mod billing;
#[cfg(feature = "ssr")]
pub mod booking;
pub mod channels;
pub mod clinical;
pub mod documents;
pub mod engagement;
pub mod error;
pub mod forms;
pub mod identity;
pub mod ids;
pub mod jobs;
pub mod money;
pub mod onboarding;
pub mod patients;
pub mod payments;
pub mod plans;
pub mod platform;
pub mod prescribing;
#[cfg(feature = "ssr")]
pub mod print;
pub mod reports;
pub mod scheduling;
pub mod shell;
pub mod site;
pub mod tenancy;
pub mod text;

#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod demo;
#[cfg(feature = "ssr")]
pub mod load_seed;
#[cfg(feature = "ssr")]
pub mod mail;
#[cfg(feature = "ssr")]
pub mod ratelimit;
#[cfg(feature = "ssr")]
pub mod storage;

pub use app::{shell, App};

/// The browser entry point: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
pub fn hydrate() {
    use leptos::prelude::*;

    let site = site::embedded_site();
    if !site.base.is_empty() {
        // Server functions of a path-addressed tenant go to /t/{slug}/api/...
        let base: &'static str = Box::leak(site.base.clone().into_boxed_str());
        let _ = leptos::server_fn::client::try_set_server_url(base);
    }
    // `hydrate_lazy`: a first visit straight to a lazily loaded page waits for its
    // chunk before hydrating it (docs/frontend.md).
    leptos::mount::hydrate_lazy(move || {
        provide_context(site);
        if let Some(outcome) = forms::embedded() {
            outcome.provide();
        }
        view! { <App/> }
    });
}
