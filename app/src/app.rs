use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::identity::pages::{
    AcceptInvitationPage, AuditPage, ClinicSecurityPage, ForgotPasswordPage, PatientsPage,
    ResetPasswordPage, SecurityPage, UsersPage, VerifyEmailPage,
};
use crate::onboarding::pages::SignUpPage;
use crate::plans::pages::PlanPage;
use crate::platform::pages::{PlansAdminPage, PlatformAdmin, TenantPage, TenantsPage};
use crate::reports::ReportsPage;
use crate::shell::pages::{PatientPortal, StaffDashboard};
use crate::shell::NotFound;
use crate::site::current_site;
use crate::tenancy::pages::{BrandingPage, DomainPage, Home, PortalSignIn, SettingsPage, SignIn};

/// The HTML document. Server-only in practice: the browser hydrates [`App`] inside it.
/// The tenant's colors go into the head here, so there is no flash of default theme.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let site = current_site();
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
                <link rel="stylesheet" href="/pkg/medisync.css"/>
                {branding_css.map(|css| view! { <style id="tenant-branding" inner_html=css></style> })}
                <script
                    type="application/json"
                    id=crate::tenancy::SITE_INFO_ELEMENT_ID
                    inner_html=site_json
                ></script>
                <HydrationScripts options/>
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
                <Route path=path!("/forgot-password") view=ForgotPasswordPage/>
                <Route path=path!("/reset-password") view=ResetPasswordPage/>
                <Route path=path!("/invite") view=AcceptInvitationPage/>
                <Route path=path!("/verify-email") view=VerifyEmailPage/>
                <Route path=path!("/account/security") view=SecurityPage/>
                <Route path=path!("/staff") view=StaffDashboard/>
                <Route path=path!("/staff/users") view=UsersPage/>
                <Route path=path!("/staff/patients") view=PatientsPage/>
                <Route path=path!("/staff/audit") view=AuditPage/>
                <Route path=path!("/staff/security") view=ClinicSecurityPage/>
                <Route path=path!("/portal") view=PatientPortal/>
                <Route path=path!("/portal/signin") view=PortalSignIn/>
                <Route path=path!("/staff/branding") view=BrandingPage/>
                <Route path=path!("/staff/settings") view=SettingsPage/>
                <Route path=path!("/staff/domain") view=DomainPage/>
                <Route path=path!("/staff/plan") view=PlanPage/>
                <Route path=path!("/staff/reports") view=ReportsPage/>
                <Route path=path!("/signup") view=SignUpPage/>
                <Route path=path!("/admin") view=PlatformAdmin/>
                <Route path=path!("/admin/tenants") view=TenantsPage/>
                <Route path=path!("/admin/tenants/:id") view=TenantPage/>
                <Route path=path!("/admin/plans") view=PlansAdminPage/>
            </Routes>
        </Router>
    }
}
