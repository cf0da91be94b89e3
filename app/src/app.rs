use leptos::nonce::use_nonce;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{lazy_route, path, Lazy, LazyRoute};

use crate::clinical::pages::ChartPage;
use crate::clinical::portal::OwnRecordPage;
use crate::identity::pages::{
    AcceptInvitationPage, AuditPage, ClinicSecurityPage, FindMyClinicPage, ForgotPasswordPage,
    ResetPasswordPage, SecurityPage, UsersPage, VerifyEmailPage,
};
use crate::onboarding::pages::{SignUpPage, SignUpSentPage};
use crate::patients::fields::pages::PatientFieldsPage;
use crate::patients::pages::PatientsPage;
use crate::plans::pages::PlanPage;
use crate::platform::pages::{PlansAdminPage, PlatformAdmin, TenantPage, TenantsPage};
use crate::prescribing::formulary::FormularyPage;
use crate::prescribing::pages::PharmacyPage;
use crate::prescribing::refills::RefillsPage;
use crate::reports::ReportsPage;
use crate::scheduling::pages::CalendarPage;
use crate::scheduling::setup::SchedulingSetupPage;
use crate::shell::pages::{PatientPortal, StaffDashboard};
use crate::shell::NotFound;
use crate::site::current_site;
use crate::tenancy::pages::{BrandingPage, DomainPage, Home, PortalSignIn, SettingsPage, SignIn};

/// The stylesheet's address in this build (content-hashed in a release build),
/// provided by the server to every page render.
#[derive(Clone, Debug)]
pub struct Stylesheet(pub String);

/// Says so plainly when part of the application could not be loaded (a lazily
/// loaded page chunk that failed to arrive, or the bundle stopping on an error),
/// instead of leaving a page that silently does nothing. The server-rendered page
/// stays readable underneath; "Reload" tries again.
const LOAD_FAILURE_SCRIPT: &str = r#"(()=>{const show=()=>{if(document.getElementById('load-error'))return;const d=document.createElement('div');d.id='load-error';d.setAttribute('role','alert');d.dataset.testid='load-error';d.style.cssText='position:fixed;inset:0 0 auto 0;z-index:60;padding:12px 16px;background:#7f1d1d;color:#fff;font:600 15px/1.4 system-ui,sans-serif;display:flex;gap:12px;align-items:center;justify-content:center;flex-wrap:wrap';d.textContent='Part of this page could not be loaded, so it may not respond. Check your connection, then reload.';const b=document.createElement('button');b.type='button';b.textContent='Reload';b.style.cssText='background:#fff;color:#7f1d1d;border-radius:6px;padding:4px 12px;font-weight:700';b.onclick=()=>location.reload();d.append(b);(document.body||document.documentElement).prepend(d);};const app=(t)=>/\/pkg\/|wasm|RuntimeError|unreachable|dynamically imported|Failed to fetch/i.test(t);addEventListener('unhandledrejection',(e)=>{const r=e.reason;if(app(String(r&&(r.stack||r.message)||r)))show();});addEventListener('error',(e)=>{const t=e.target;if(t&&t!==window){if(/\/pkg\//.test(t.src||t.href||''))show();}else if(app(String(e.error&&(e.error.stack||e.error.message)||e.message)))show();},true);})();"#;

/// The HTML document. Server-only in practice: the browser hydrates [`App`] inside it.
/// The tenant's colors go into the head here, so there is no flash of default theme.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let site = current_site();
    let stylesheet =
        use_context::<Stylesheet>().map_or_else(|| "/pkg/medisync.css".to_owned(), |s| s.0);
    let branding_css = site.tenant.as_ref().map(|t| t.branding.css_variables());
    let language = site.language().to_owned();
    let site_json = site.to_embedded_json();
    let manifest = site.href("/manifest.webmanifest");
    // The clinic's own icon when it uploaded a logo; MediSync's otherwise.
    let icon = match site
        .tenant
        .as_ref()
        .and_then(|t| t.branding.icon_url.clone())
    {
        Some(href) => view! { <link rel="icon" href=href type="image/png"/> }.into_any(),
        None => view! { <link rel="icon" href="/favicon.svg" type="image/svg+xml"/> }.into_any(),
    };
    let theme = site.tenant.as_ref().map_or_else(
        || "#0f766e".to_owned(),
        |t| t.branding.primary_color.to_string(),
    );
    view! {
        <!DOCTYPE html>
        <html lang=language>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                {icon}
                <link rel="manifest" href=manifest/>
                <meta name="theme-color" content=theme/>
                <link rel="stylesheet" href=stylesheet/>
                {branding_css.map(|css| view! { <style id="tenant-branding" inner_html=css></style> })}
                <script
                    type="application/json"
                    id=crate::tenancy::SITE_INFO_ELEMENT_ID
                    inner_html=site_json
                ></script>
                <crate::forms::EmbeddedOutcome/>
                <HydrationScripts options/>
                <script nonce=use_nonce() inner_html=LOAD_FAILURE_SCRIPT></script>
                <MetaTags/>
            </head>
            <body class="antialiased">
                <App/>
            </body>
        </html>
    }
}

/// The application: the same routes serve the platform and every tenant; each page
/// reads the resolved site from context.
///
/// The doors everyone walks through (the clinic and portal sign-in, the landing
/// page) are in the main bundle; every other page, the portal home included, is a
/// [`lazy_page!`] route whose code the browser fetches only when that page is
/// opened (docs/frontend.md).
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // The server strips `/t/{slug}` before routing; the browser still shows it.
    let base = if cfg!(feature = "ssr") {
        String::new()
    } else {
        current_site().base
    };
    view! {
        <Router base>
            <Routes fallback=NotFound>
                <Route path=path!("/") view=Home/>
                <Route path=path!("/signin") view=SignIn/>
                <Route path=path!("/portal") view={Lazy::<PatientPortalRoute>::new()}/>
                <Route path=path!("/portal/signin") view=PortalSignIn/>
                <Route path=path!("/portal/record") view={Lazy::<PortalPagesRoute>::new()}/>
                <Route path=path!("/portal/bills") view={Lazy::<PortalPagesRoute>::new()}/>
                <Route path=path!("/forgot-password") view={Lazy::<ForgotPasswordRoute>::new()}/>
                <Route path=path!("/find-clinic") view={Lazy::<FindClinicRoute>::new()}/>
                <Route path=path!("/reset-password") view={Lazy::<ResetPasswordRoute>::new()}/>
                <Route path=path!("/invite") view={Lazy::<AcceptInvitationRoute>::new()}/>
                <Route path=path!("/verify-email") view={Lazy::<VerifyEmailRoute>::new()}/>
                <Route path=path!("/account/security") view={Lazy::<SecurityRoute>::new()}/>
                <Route path=path!("/staff") view={Lazy::<StaffDashboardRoute>::new()}/>
                <Route path=path!("/staff/users") view={Lazy::<UsersRoute>::new()}/>
                <Route path=path!("/staff/patients") view={Lazy::<PatientsRoute>::new()}/>
                <Route path=path!("/staff/patients/:id") view={Lazy::<ChartRoute>::new()}/>
                <Route path=path!("/staff/audit") view={Lazy::<AuditRoute>::new()}/>
                <Route path=path!("/staff/security") view={Lazy::<ClinicSecurityRoute>::new()}/>
                <Route path=path!("/staff/branding") view={Lazy::<BrandingRoute>::new()}/>
                <Route path=path!("/staff/settings") view={Lazy::<SettingsRoute>::new()}/>
                <Route path=path!("/staff/patient-fields") view={Lazy::<PatientFieldsRoute>::new()}/>
                <Route path=path!("/staff/domain") view={Lazy::<DomainRoute>::new()}/>
                <Route path=path!("/staff/plan") view={Lazy::<PlanRoute>::new()}/>
                <Route path=path!("/staff/reports") view={Lazy::<ReportsRoute>::new()}/>
                <Route path=path!("/staff/pharmacy") view={Lazy::<PharmacyRoute>::new()}/>
                <Route path=path!("/staff/refills") view={Lazy::<RefillsRoute>::new()}/>
                <Route path=path!("/staff/formulary") view={Lazy::<FormularyRoute>::new()}/>
                <Route path=path!("/staff/calendar") view={Lazy::<FrontDeskRoute>::new()}/>
                <Route path=path!("/staff/billing") view={Lazy::<FrontDeskRoute>::new()}/>
                <Route path=path!("/staff/revenue") view={Lazy::<FrontDeskRoute>::new()}/>
                <Route path=path!("/staff/scheduling") view={Lazy::<SchedulingSetupRoute>::new()}/>
                <Route path=path!("/signup") view={Lazy::<SignUpRoute>::new()}/>
                <Route path=path!("/signup/sent") view={Lazy::<SignUpSentRoute>::new()}/>
                <Route path=path!("/admin") view={Lazy::<PlatformAdminRoute>::new()}/>
                <Route path=path!("/admin/tenants") view={Lazy::<TenantsRoute>::new()}/>
                <Route path=path!("/admin/tenants/:id") view={Lazy::<TenantRoute>::new()}/>
                <Route path=path!("/admin/plans") view={Lazy::<PlansAdminRoute>::new()}/>
            </Routes>
        </Router>
    }
}

/// A route whose page is split out of the main wasm bundle: `lazy_page!(Route, Page)`
/// makes `Route` for `<Route view={Lazy::<Route>::new()}/>`, and the page's code (and
/// whatever only it uses) becomes a chunk fetched when the page is first opened.
/// The server names the chunk in the page's `<head>`, so a first visit preloads it.
macro_rules! lazy_page {
    ($route:ident, $page:path) => {
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(_this: Self) -> AnyView {
                $page().into_any()
            }
        }
    };
}

lazy_page!(PatientPortalRoute, PatientPortal);
lazy_page!(ForgotPasswordRoute, ForgotPasswordPage);
lazy_page!(FindClinicRoute, FindMyClinicPage);
lazy_page!(ResetPasswordRoute, ResetPasswordPage);
lazy_page!(AcceptInvitationRoute, AcceptInvitationPage);
lazy_page!(VerifyEmailRoute, VerifyEmailPage);
lazy_page!(SecurityRoute, SecurityPage);
lazy_page!(StaffDashboardRoute, StaffDashboard);
lazy_page!(UsersRoute, UsersPage);
lazy_page!(PatientsRoute, PatientsPage);
lazy_page!(ChartRoute, ChartPage);
lazy_page!(PortalPagesRoute, PortalPages);

/// The patient's record and bills, in one lazily loaded chunk: each page area
/// costs every page's download its entry in the chunk table (docs/frontend.md).
#[component]
fn PortalPages() -> impl IntoView {
    let path = leptos_router::hooks::use_location()
        .pathname
        .get_untracked();
    if path.ends_with("/portal/bills") {
        crate::billing::portal::OwnBillsPage().into_any()
    } else {
        OwnRecordPage().into_any()
    }
}
lazy_page!(AuditRoute, AuditPage);
lazy_page!(ClinicSecurityRoute, ClinicSecurityPage);
lazy_page!(BrandingRoute, BrandingPage);
lazy_page!(SettingsRoute, SettingsPage);
lazy_page!(PatientFieldsRoute, PatientFieldsPage);
lazy_page!(DomainRoute, DomainPage);
lazy_page!(PlanRoute, PlanPage);
lazy_page!(ReportsRoute, ReportsPage);
lazy_page!(PharmacyRoute, PharmacyPage);
lazy_page!(RefillsRoute, RefillsPage);
lazy_page!(FormularyRoute, FormularyPage);
lazy_page!(FrontDeskRoute, FrontDeskPage);

/// The front desk's day, the calendar and billing, in one lazily loaded chunk:
/// the same people use both all day, and each page area costs every page's
/// download its entry in the chunk table (docs/frontend.md).
#[component]
fn FrontDeskPage() -> impl IntoView {
    let path = leptos_router::hooks::use_location()
        .pathname
        .get_untracked();
    if path.ends_with("/staff/billing") {
        crate::billing::pages::BillingPage().into_any()
    } else if path.ends_with("/staff/revenue") {
        crate::billing::revenue::RevenuePage().into_any()
    } else {
        CalendarPage().into_any()
    }
}
lazy_page!(SchedulingSetupRoute, SchedulingSetupPage);
lazy_page!(SignUpRoute, SignUpPage);
lazy_page!(SignUpSentRoute, SignUpSentPage);
lazy_page!(PlatformAdminRoute, PlatformAdmin);
lazy_page!(TenantsRoute, TenantsPage);
lazy_page!(TenantRoute, TenantPage);
lazy_page!(PlansAdminRoute, PlansAdminPage);
