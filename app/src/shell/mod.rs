//! The three application shells (staff, patient portal, platform admin) and the
//! pieces every page shares.

pub mod pages;
pub mod reauth;

use leptos::prelude::*;

/// The page's `<title>`. Every page sets its title through here, never with
/// `leptos_meta::Title` directly: leptos_meta writes a title's text into the
/// server-rendered head unescaped, so a clinic named `</title><meta ...>` would
/// rewrite the page of everyone who opens it. The browser sets `document.title`
/// as plain text, so only the server's copy is escaped.
#[component]
pub fn PageTitle(#[prop(into)] text: String) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let text = crate::text::escape_html(&text);
    view! { <leptos_meta::Title text=text/> }
}

/// One entry of a shell's navigation. Entries whose page has not been built yet are
/// shown, marked "soon", and are not links.
#[derive(Clone)]
pub struct NavItem {
    pub label: &'static str,
    pub href: Option<String>,
    /// A short mark after the label ("upgrade" for features outside the plan).
    pub badge: Option<&'static str>,
}

/// A header in the tenant's colors, a navigation that collapses below `md`, and
/// the page content.
#[component]
pub fn AppShell(
    /// Name shown in the header: the clinic's, or "MediSync" on the platform.
    brand: String,
    /// Which area this is ("Staff", "Patient portal", "Platform admin").
    area: &'static str,
    nav: Vec<NavItem>,
    #[prop(into)] testid: String,
    children: Children,
) -> impl IntoView {
    let nav_open = RwSignal::new(false);
    let nav_class = move || {
        if nav_open.get() {
            "block border-b border-slate-200 bg-white md:block md:border-b-0 md:border-r md:w-56"
        } else {
            "hidden border-b border-slate-200 bg-white md:block md:border-b-0 md:border-r md:w-56"
        }
    };
    let site = crate::site::current_site();
    let logo = site
        .tenant
        .as_ref()
        .and_then(|t| t.branding.logo_url.clone());
    // The page the person is on, without the `/t/{slug}` base (the server sees the
    // path after it; the browser before it).
    let location = leptos_router::hooks::use_location();
    let base = site.base.clone();
    let current = Memo::new(move |_| {
        let path = location.pathname.get();
        path.strip_prefix(base.as_str())
            .filter(|rest| rest.starts_with('/'))
            .map_or(path.clone(), str::to_owned)
    });
    let base = site.base.clone();
    let main_ref = NodeRef::<leptos::html::Main>::new();
    // Escape closes the open menu and returns focus to its button (the key
    // reaches the shell from the button or a link inside it).
    let toggle_ref = NodeRef::<leptos::html::Button>::new();
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" && nav_open.get_untracked() {
            nav_open.set(false);
            if let Some(button) = toggle_ref.get_untracked() {
                let _ = button.focus();
            }
        }
    };
    view! {
        <div data-testid=testid on:keydown=on_key class="min-h-screen flex flex-col bg-slate-50 text-slate-900">
            <a
                href="#main"
                data-testid="skip-link"
                // The router would treat the fragment as a navigation; move the
                // focus to the content ourselves.
                on:click=move |ev| {
                    ev.prevent_default();
                    if let Some(main) = main_ref.get() {
                        let _ = main.focus();
                    }
                }
                class="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2 focus:text-slate-900 focus:shadow"
            >
                "Skip to content"
            </a>
            <header
                data-testid="brand-header"
                class="bg-brand text-on-brand flex flex-wrap items-center justify-between gap-x-3 gap-y-2 px-4 py-3"
            >
                // Which clinic this is stays readable at any width (a doctor at two
                // clinics must always see whose records are open): the name wraps
                // rather than being cut, and the actions wrap below it.
                <div class="flex min-w-0 flex-1 basis-48 items-center gap-3">
                    {logo.map(|src| view! {
                        <img src=src alt="" data-testid="clinic-logo" class="h-8 w-auto max-w-20 shrink-0 rounded bg-white object-contain sm:max-w-32"/>
                    })}
                    <div class="min-w-0">
                        <p data-testid="clinic-name" class="break-words font-semibold leading-tight">{brand}</p>
                        <p class="text-xs opacity-90">{area}</p>
                    </div>
                </div>
                <div class="flex flex-wrap items-center justify-end gap-x-3 gap-y-1">
                <UserMenu/>
                <button
                    type="button"
                    node_ref=toggle_ref
                    data-testid="nav-toggle"
                    class="md:hidden rounded border border-current px-3 py-1 text-sm focus:outline-none focus-visible:ring-2 focus-visible:ring-white"
                    aria-controls="app-nav"
                    aria-expanded=move || nav_open.get().to_string()
                    on:click=move |_| nav_open.update(|open| *open = !*open)
                >
                    "Menu"
                </button>
                </div>
            </header>
            <div class="flex flex-1 flex-col md:flex-row">
                <nav id="app-nav" data-testid="app-nav" aria-label=area class=nav_class>
                    <ul class="p-2">
                        {nav
                            .into_iter()
                            .map(|item| view! { <li>{nav_entry(item, &base, current)}</li> })
                            .collect_view()}
                    </ul>
                </nav>
                <main node_ref=main_ref id="main" tabindex="-1" class="flex-1 min-w-0 p-4 md:p-8 focus:outline-none">{children()}</main>
            </div>
        </div>
    }
}

/// The signed-in person's name, the clinic switcher and sign-out.
#[component]
fn UserMenu() -> impl IntoView {
    use crate::identity::api::{my_clinics, SignOut};
    let site = crate::site::current_site();
    let Some(viewer) = site.viewer.clone() else {
        return ().into_any();
    };
    let sign_out = ServerAction::<SignOut>::new();
    Effect::new(move |_| {
        if let Some(Ok(url)) = sign_out.value().get() {
            #[cfg(feature = "hydrate")]
            {
                let _ = window().location().set_href(&url);
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = url;
        }
    });
    let is_staff = viewer.role().is_some();
    let clinics = LocalResource::new(move || async move {
        if is_staff {
            my_clinics().await.unwrap_or_default()
        } else {
            Vec::new()
        }
    });
    view! {
        <span data-testid="viewer-name" class="hidden text-sm sm:inline">{viewer.display_name.clone()}</span>
        {move || {
            let others: Vec<_> = clinics.get().unwrap_or_default().into_iter().filter(|c| !c.current).collect();
            (!others.is_empty()).then(|| view! {
                <details class="relative text-sm" data-testid="clinic-switcher">
                    <summary class="cursor-pointer">"Switch clinic"</summary>
                    <ul class="absolute right-0 z-10 mt-1 w-56 rounded border border-slate-200 bg-white p-1 text-slate-900 shadow">
                        <li data-testid="switch-note" class="px-2 py-1 text-xs text-slate-600">"Each clinic keeps its own sign-in: you may be asked for your password there."</li>
                        {others.into_iter().map(|c| view! {
                            <li><a class="block rounded px-2 py-1 hover:bg-slate-100" href=c.href.clone()>{c.name.clone()}</a></li>
                        }).collect_view()}
                    </ul>
                </details>
            })
        }}
        <a href=site.href("/account/security") class="text-sm underline">"Security"</a>
        <ActionForm action=sign_out>
            <button type="submit" data-testid="sign-out" class="rounded border border-current px-3 py-1 text-sm">"Sign out"</button>
        </ActionForm>
    }
    .into_any()
}

/// The area name and navigation for whoever is signed in on `site`. Entries the
/// viewer's role cannot use are left out (the server refuses them anyway).
pub fn navigation(site: &crate::site::SiteInfo) -> (&'static str, Vec<NavItem>) {
    use crate::identity::permissions::Permission as P;
    use crate::identity::Standing;
    use crate::plans::Feature;
    let link = |label, path: &str| NavItem {
        label,
        href: Some(site.href(path)),
        badge: None,
    };
    let soon = |label| NavItem {
        label,
        href: None,
        badge: Some("soon"),
    };
    let Some(viewer) = site.viewer.as_ref() else {
        return ("", Vec::new());
    };
    // A feature outside the clinic's plan shows the way to the plan page instead.
    let feature = |label, path: &str, needs: Feature| match &site.tenant {
        Some(t) if !t.has(needs) => NavItem {
            label,
            href: Some(site.href("/staff/plan")),
            badge: Some("upgrade"),
        },
        _ => link(label, path),
    };
    match viewer.standing {
        Standing::Staff { .. } => {
            let mut nav = vec![link("Dashboard", "/staff")];
            let gated: [(P, NavItem); 17] = [
                (P::PatientsRead, link("Patients", "/staff/patients")),
                (
                    P::AppointmentsManage,
                    feature("Calendar", "/staff/calendar", Feature::Appointments),
                ),
                (
                    P::PrescriptionsCreate,
                    feature("Refill requests", "/staff/refills", Feature::Prescriptions),
                ),
                (
                    P::PrescriptionsDispense,
                    feature("Dispensing", "/staff/pharmacy", Feature::Prescriptions),
                ),
                (P::PaymentsTake, link("Billing", "/staff/billing")),
                (P::RevenueRead, link("Revenue", "/staff/revenue")),
                (
                    P::ReportsRead,
                    feature("Reports", "/staff/reports", Feature::Reports),
                ),
                (P::UsersManage, link("Users", "/staff/users")),
                (P::BrandingManage, link("Branding", "/staff/branding")),
                (
                    P::SettingsManage,
                    link("Clinic settings", "/staff/settings"),
                ),
                (
                    P::SettingsManage,
                    link("Patient fields", "/staff/patient-fields"),
                ),
                (P::SettingsManage, link("Formulary", "/staff/formulary")),
                (P::SettingsManage, link("Scheduling", "/staff/scheduling")),
                (P::SettingsManage, link("Custom domain", "/staff/domain")),
                (P::SettingsManage, link("Plan and usage", "/staff/plan")),
                (P::AuditRead, link("Audit log", "/staff/audit")),
                (
                    P::SettingsManage,
                    link("Clinic security", "/staff/security"),
                ),
            ];
            nav.extend(
                gated
                    .into_iter()
                    .filter(|(p, _)| viewer.can(*p))
                    .map(|(_, item)| item),
            );
            ("Staff", nav)
        }
        Standing::Patient { .. } => (
            "Patient portal",
            vec![
                link("Home", "/portal"),
                link("Health record", "/portal/record"),
                link("Bills", "/portal/bills"),
                soon("Appointments"),
                soon("Messages"),
            ],
        ),
        Standing::Platform { .. } => (
            "Platform admin",
            vec![
                link("Overview", "/admin"),
                link("Tenants", "/admin/tenants"),
                link("Plans", "/admin/plans"),
            ],
        ),
    }
}

fn nav_entry(item: NavItem, base: &str, current: Memo<String>) -> AnyView {
    let row = "flex items-center justify-between rounded px-3 py-2 text-sm";
    match item.href {
        Some(href) => {
            let path = href.strip_prefix(base).unwrap_or(&href).to_owned();
            let here = move || (current.get() == path).then_some("page");
            view! {
            <a
                href=href
                aria-current=here
                class=format!("{row} font-medium text-slate-800 hover:bg-slate-100 aria-[current=page]:bg-slate-100 aria-[current=page]:font-semibold focus-visible:outline focus-visible:outline-2 focus-visible:outline-brand")
            >
                {item.label}
                {item.badge.map(|b| view! { <span class="ml-2 rounded bg-amber-100 px-1.5 text-xs text-amber-900">{b}</span> })}
            </a>
            }
            .into_any()
        }
        None => view! {
            <span class=format!("{row} text-slate-500") aria-disabled="true">
                {item.label}
                <span class="ml-2 rounded bg-slate-100 px-1.5 text-xs text-slate-600">{item.badge.unwrap_or("soon")}</span>
            </span>
        }
        .into_any(),
    }
}

/// A card with a heading, used for dashboard panels.
#[component]
pub fn Panel(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <section class="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
            <h2 class="mb-2 font-semibold text-slate-900">{title}</h2>
            <div class="text-sm text-slate-700">{children()}</div>
        </section>
    }
}

/// The in-app "page not found", answered with status 404.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    let site = crate::site::current_site();
    let title = format!(
        "Page not found · {}",
        site.tenant.as_ref().map_or("MediSync", |t| t.name.as_str())
    );
    // In the clinic's own frame (name, logo, colours), so a mistyped link still
    // shows whose site this is and the way back.
    view! {
        <PageTitle text=title/>
        <crate::identity::pages::PublicFrame tenant=site.tenant.clone()>
            <div data-testid="not-found" class="text-center">
                <h1 class="text-2xl font-semibold">"Page not found"</h1>
                <p class="mt-2 text-slate-600">"There is nothing at this address. Check the link, or start again from the front page."</p>
                <a class="mt-4 inline-block text-brand underline" href=site.href("/")>
                    "Go to the start page"
                </a>
            </div>
        </crate::identity::pages::PublicFrame>
    }
}
