use leptos::prelude::*;
use leptos_meta::Title;

use super::{AppShell, NavItem, NotFound, Panel};
use crate::site::current_site;

fn soon(label: &'static str) -> NavItem {
    NavItem { label, href: None }
}

/// The staff dashboard shell of a tenant.
#[component]
pub fn StaffDashboard() -> impl IntoView {
    let site = current_site();
    let Some(tenant) = site.tenant.clone() else {
        return view! { <NotFound/> }.into_any();
    };
    let nav = vec![
        NavItem {
            label: "Dashboard",
            href: Some(site.href("/staff")),
        },
        soon("Patients"),
        soon("Schedule"),
        soon("Prescriptions"),
        soon("Billing"),
        soon("Reports"),
        soon("Settings"),
    ];
    view! {
        <Title text=format!("Dashboard · {}", tenant.name)/>
        <AppShell brand=tenant.name.clone() area="Staff" nav testid="staff-shell">
            <h1 class="text-xl font-semibold">"Dashboard"</h1>
            <div class="mt-4 grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
                <Panel title="Today">"Appointments will appear here once scheduling is set up."</Panel>
                <Panel title="Patients">"Find and register patients from the Patients page."</Panel>
                <Panel title="Tasks">"Nothing needs your attention."</Panel>
            </div>
        </AppShell>
    }
    .into_any()
}

/// The patient portal shell of a tenant.
#[component]
pub fn PatientPortal() -> impl IntoView {
    let site = current_site();
    let Some(tenant) = site.tenant.clone() else {
        return view! { <NotFound/> }.into_any();
    };
    let nav = vec![
        NavItem {
            label: "Home",
            href: Some(site.href("/portal")),
        },
        soon("Appointments"),
        soon("Messages"),
        soon("My records"),
        soon("Forms"),
    ];
    view! {
        <Title text=format!("Patient portal · {}", tenant.name)/>
        <AppShell brand=tenant.name.clone() area="Patient portal" nav testid="portal-shell">
            <h1 class="text-xl font-semibold">{format!("Welcome to {}", tenant.name)}</h1>
            <p class="mt-2 text-slate-700">{tenant.branding.welcome_text.clone()}</p>
            <div class="mt-4 grid gap-4 sm:grid-cols-2">
                <Panel title="Your next appointment">"You have no upcoming appointments."</Panel>
                <Panel title="Messages">"No new messages from the clinic."</Panel>
            </div>
        </AppShell>
    }
    .into_any()
}

/// The platform operators' console shell, on the platform domain only.
#[component]
pub fn PlatformAdmin() -> impl IntoView {
    if current_site().tenant.is_some() {
        return view! { <NotFound/> }.into_any();
    }
    let nav = vec![
        NavItem {
            label: "Overview",
            href: Some("/admin".into()),
        },
        soon("Tenants"),
        soon("Plans"),
        soon("Figures"),
    ];
    view! {
        <Title text="Platform admin · MediSync"/>
        <AppShell brand="MediSync".into() area="Platform admin" nav testid="admin-shell">
            <h1 class="text-xl font-semibold">"Platform overview"</h1>
            <div class="mt-4 grid gap-4 sm:grid-cols-2">
                <Panel title="Tenants">"Tenant management opens with the platform console."</Panel>
                <Panel title="Support">"Support sessions open with the platform console."</Panel>
            </div>
        </AppShell>
    }
    .into_any()
}
