use crate::shell::PageTitle;
use leptos::prelude::*;

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
    // Only what the product does today: each module joins this list when it
    // ships (the chart, prescribing, scheduling and billing are being built).
    let features = [
        (
            "Patient registry",
            "Every patient with a record number, searchable by name or number.",
        ),
        (
            "Patient portal",
            "Your clinic's own branded portal and installable app, where patients see their record.",
        ),
        (
            "Team and access",
            "Roles for every kind of staff, two-factor sign-in and an audit trail of who did what.",
        ),
        (
            "Your clinic's own look",
            "Your name, logo, colors and address, on every page and every email.",
        ),
    ];
    view! {
        <PageTitle text="MediSync · clinic management"/>
        <main data-testid="landing" class="min-h-screen bg-slate-50 text-slate-900">
            <header class="bg-brand text-on-brand">
                <div class="mx-auto max-w-5xl px-4 py-12 sm:py-20">
                    <p class="text-sm font-semibold tracking-wide opacity-90">"MediSync"</p>
                    <h1 class="mt-2 text-3xl font-bold sm:text-5xl">
                        "Run your clinic, hospital or practice in one place."
                    </h1>
                    <p class="mt-4 max-w-2xl text-lg opacity-95">
                        "Your patients, your team and a branded patient portal, with every clinic's data kept strictly apart."
                    </p>
                    <div class="mt-6 flex flex-wrap items-center gap-4">
                        <a href="/signup" data-testid="start-trial" class="inline-block rounded bg-white px-5 py-3 font-semibold text-slate-900 shadow hover:bg-slate-100">
                            "Start your 14-day free trial"
                        </a>
                        <a href="/signin" data-testid="platform-sign-in" class="font-semibold underline">
                            "Sign in or find my clinic"
                        </a>
                    </div>
                </div>
            </header>
            <section class="mx-auto grid grid-cols-1 max-w-5xl gap-4 px-4 py-10 sm:grid-cols-2">
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

// ------------------------------------------------------------ clinic admin --

use super::api::{
    custom_domain, RemoveLogo, ResetBranding, SaveBranding, SaveClinicSettings, SetCustomDomain,
    VerifyCustomDomain,
};
use super::{Branding, HexColor, TenantSettings, MIN_CONTRAST};
use crate::identity::pages::{
    error_of, FieldError, FormError, HydratedMarker, SignedInShell, Submit, BUTTON, CARD, INPUT,
};

/// The contrast line under a color field: the ratio with the text MediSync will
/// put on it, and whether it reaches AA.
fn contrast_note(raw: String) -> AnyView {
    match HexColor::parse(&raw) {
        Err(_) => {
            view! { <p class="mt-1 text-sm text-red-700">"Use the form #0f766e"</p> }.into_any()
        }
        Ok(color) => {
            let text = color.readable_text();
            let ratio = color.contrast_with(text);
            let on = if text == super::branding::WHITE {
                "white"
            } else {
                "dark"
            };
            let ok = ratio >= MIN_CONTRAST;
            view! {
                <p class=if ok { "mt-1 text-sm text-green-800" } else { "mt-1 text-sm text-red-700" } data-contrast=format!("{ratio:.2}")>
                    {if ok {
                        format!("✓ {ratio:.2}:1 with {on} text (AA needs 4.5:1)")
                    } else {
                        format!("✗ only {ratio:.2}:1 with {on} text; AA needs 4.5:1")
                    }}
                </p>
            }
            .into_any()
        }
    }
}

/// Puts a saved branding into this page's own CSS variables, so the header and
/// buttons around the editor change at once, as every other page will.
fn apply_now(branding: &Branding) {
    #[cfg(feature = "hydrate")]
    if let Some(style) = document().get_element_by_id("tenant-branding") {
        style.set_text_content(Some(&branding.css_variables()));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = branding;
}

/// A color for the preview: the typed one when valid, else the saved one.
fn preview_color(raw: &str, fallback: HexColor) -> HexColor {
    HexColor::parse(raw).unwrap_or(fallback)
}

/// `/staff/branding`: logo, colors, sign-in texts and support contacts, with a live
/// preview of the sign-in page and the portal header before saving.
#[component]
pub fn BrandingPage() -> impl IntoView {
    let site = current_site();
    let Some(tenant) = site.tenant.clone() else {
        return view! { <crate::shell::NotFound/> }.into_any();
    };
    let saved = RwSignal::new(tenant.branding.clone());
    let primary = RwSignal::new(tenant.branding.primary_color.to_string());
    let accent = RwSignal::new(tenant.branding.accent_color.to_string());
    let headline = RwSignal::new(tenant.branding.sign_in_headline.clone());
    let welcome = RwSignal::new(tenant.branding.welcome_text.clone());
    let phone = RwSignal::new(tenant.branding.support_phone.clone().unwrap_or_default());
    let email = RwSignal::new(tenant.branding.support_email.clone().unwrap_or_default());
    let load = move |b: &Branding| {
        primary.set(b.primary_color.to_string());
        accent.set(b.accent_color.to_string());
        headline.set(b.sign_in_headline.clone());
        welcome.set(b.welcome_text.clone());
        phone.set(b.support_phone.clone().unwrap_or_default());
        email.set(b.support_email.clone().unwrap_or_default());
        saved.set(b.clone());
    };
    let save = ServerAction::<SaveBranding>::new();
    let reset = ServerAction::<ResetBranding>::new();
    let remove = ServerAction::<RemoveLogo>::new();
    let upload = upload_action();
    let save_error = error_of!(save);
    let upload_error = Signal::derive(move || upload.value().get().and_then(Result::err));
    let notice = RwSignal::new(None::<&'static str>);
    Effect::new(move |_| {
        if let Some(Ok(b)) = save.value().get() {
            apply_now(&b);
            saved.set(b);
            notice.set(Some(
                "Branding saved. Every page of the clinic now uses it.",
            ));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(b)) = reset.value().get() {
            apply_now(&b);
            load(&b);
            notice.set(Some("Branding reset to MediSync's default."));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(b)) = remove.value().get() {
            load(&b);
            notice.set(Some("Logo removed."));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(b)) = upload.value().get() {
            saved.update(|s| {
                s.logo_url = b.logo_url.clone();
                s.icon_url = b.icon_url.clone();
                s.icon_large_url = b.icon_large_url.clone();
            });
            notice.set(Some("Logo uploaded."));
        }
    });
    let name = tenant.name.clone();
    let field = move |label: &'static str,
                      id: &'static str,
                      signal: RwSignal<String>,
                      max: &'static str| {
        view! {
            <div>
                <label for=id class="block text-sm font-medium">{label}</label>
                <input id=id name=id maxlength=max class=INPUT prop:value=move || signal.get()
                    on:input=move |ev| signal.set(event_target_value(&ev))/>
                <FieldError error=save_error field=id/>
            </div>
        }
    };
    let color_field = move |label: &'static str, id: &'static str, signal: RwSignal<String>| {
        view! {
            <div>
                <label for=id class="block text-sm font-medium">{label}</label>
                <div class="mt-1 flex items-center gap-2">
                    <input type="color" aria-label=format!("{label} picker") class="h-10 w-12 rounded border border-slate-300"
                        prop:value=move || HexColor::parse(&signal.get()).map(|c| c.to_string()).unwrap_or_default()
                        on:input=move |ev| signal.set(event_target_value(&ev))/>
                    <input id=id name=id class="w-32 rounded border border-slate-300 px-3 py-2 font-mono" maxlength="7"
                        prop:value=move || signal.get() on:input=move |ev| signal.set(event_target_value(&ev))/>
                </div>
                {move || contrast_note(signal.get())}
                <FieldError error=save_error field=id/>
            </div>
        }
    };
    view! {
        <PageTitle text="Branding"/>
        <SignedInShell testid="branding-page">
            <h1 class="text-xl font-semibold">"Branding"</h1>
            <p class="mt-1 text-sm text-slate-600">"How your clinic looks to staff and patients: every page, the installable app and emails."</p>
            {move || notice.get().map(|m| view! { <p role="status" data-testid="branding-notice" class="mt-3 rounded bg-green-50 p-3 text-sm text-green-900">{m}</p> })}
            <div class="mt-4 grid grid-cols-1 gap-6 lg:grid-cols-2">
                <div>
                    <form class=CARD data-testid="logo-form" on:submit=move |ev| submit_logo(ev, upload)>
                        <h2 class="font-semibold">"Logo"</h2>
                        <p class="text-sm text-slate-600">"PNG, JPEG or WebP, up to 1 MB. We make the header and app-icon sizes for you."</p>
                        <input type="file" name="logo" accept="image/png,image/jpeg,image/webp" aria-label="Logo file" data-testid="logo-input" class="block text-sm"/>
                        <FieldError error=upload_error field="logo"/>
                        <FormError error=upload_error/>
                        <div class="flex flex-wrap gap-2">
                            <button type="submit" class=BUTTON disabled=move || upload.pending().get()>
                                {move || if upload.pending().get() { "Uploading…" } else { "Upload logo" }}
                            </button>
                            {move || saved.get().logo_url.is_some().then(|| view! {
                                <button type="button" class="rounded border border-slate-300 px-4 py-2" on:click=move |_| { remove.dispatch(RemoveLogo {}); }>"Remove logo"</button>
                            })}
                        </div>
                    </form>
                    <ActionForm action=save attr:class=CARD attr:data-testid="branding-form">
                        <h2 class="font-semibold">"Colors and texts"</h2>
                        {color_field("Primary color (header, buttons)", "primary_color", primary)}
                        {color_field("Accent color", "accent_color", accent)}
                        {field("Sign-in headline", "sign_in_headline", headline, "80")}
                        <div>
                            <label for="welcome_text" class="block text-sm font-medium">"Welcome text"</label>
                            <textarea id="welcome_text" name="welcome_text" maxlength="500" rows="3" class=INPUT
                                prop:value=move || welcome.get() on:input=move |ev| welcome.set(event_target_value(&ev))></textarea>
                            <FieldError error=save_error field="welcome_text"/>
                        </div>
                        {field("Support phone (optional)", "support_phone", phone, "30")}
                        {field("Support email (optional)", "support_email", email, "254")}
                        <FormError error=save_error/>
                        <Submit pending=save.pending().into() label="Save branding" busy="Saving…"/>
                    </ActionForm>
                    <div class="mt-4">
                        <button type="button" data-testid="reset-branding" class="text-sm text-red-700 underline"
                            on:click=move |_| { reset.dispatch(ResetBranding {}); }>"Reset to MediSync's default"</button>
                    </div>
                </div>
                <BrandingPreview name primary accent headline welcome phone email saved/>
            </div>
            <HydratedMarker/>
        </SignedInShell>
    }
    .into_any()
}

/// The sign-in page and portal header as they will look, redrawn as you type.
#[component]
fn BrandingPreview(
    name: String,
    primary: RwSignal<String>,
    accent: RwSignal<String>,
    headline: RwSignal<String>,
    welcome: RwSignal<String>,
    phone: RwSignal<String>,
    email: RwSignal<String>,
    saved: RwSignal<Branding>,
) -> impl IntoView {
    let colors = move || {
        let s = saved.get();
        let p = preview_color(&primary.get(), s.primary_color);
        let a = preview_color(&accent.get(), s.accent_color);
        (p, p.readable_text(), a, a.readable_text())
    };
    let header_style = move || {
        let (p, op, _, _) = colors();
        format!("background:{p};color:{op}")
    };
    let accent_style = move || {
        let (_, _, a, oa) = colors();
        format!("background:{a};color:{oa}")
    };
    let logo = move || {
        saved
            .get()
            .logo_url
            .map(|src| view! { <img src=src alt="" data-testid="preview-logo" class="h-8 max-w-32 rounded bg-white object-contain"/> })
    };
    let name_for_portal = name.clone();
    view! {
        <section aria-label="Preview" data-testid="branding-preview" class="space-y-4">
            <h2 class="font-semibold">"Preview"</h2>
            <div class="overflow-hidden rounded-lg border border-slate-200 bg-slate-50 shadow-sm">
                <p class="bg-white px-3 py-1 text-xs text-slate-500">"Sign-in page"</p>
                <div data-testid="preview-header" class="flex items-center gap-2 px-4 py-3" style=header_style>
                    {logo}
                    <span class="font-semibold">{name}</span>
                </div>
                <div class="space-y-2 p-4">
                    <p data-testid="preview-headline" class="text-lg font-bold">{move || headline.get()}</p>
                    <p class="text-sm text-slate-700">{move || welcome.get()}</p>
                    <div class="h-8 rounded border border-slate-300 bg-white"></div>
                    <div class="h-8 rounded border border-slate-300 bg-white"></div>
                    <div data-testid="preview-button" class="rounded px-4 py-2 text-center text-sm font-semibold" style=header_style>"Sign in"</div>
                    {move || {
                        let (p, e) = (phone.get(), email.get());
                        (!p.trim().is_empty() || !e.trim().is_empty()).then(|| view! {
                            <p class="text-xs text-slate-600">{format!("Need help? {} {}", p.trim(), e.trim())}</p>
                        })
                    }}
                </div>
            </div>
            <div class="overflow-hidden rounded-lg border border-slate-200 bg-white shadow-sm">
                <p class="px-3 py-1 text-xs text-slate-500">"Patient portal header"</p>
                <div class="flex items-center justify-between px-4 py-3" style=header_style>
                    <span class="font-semibold">{name_for_portal}</span>
                    <span class="rounded px-2 py-0.5 text-xs font-semibold" style=accent_style>"Portal"</span>
                </div>
            </div>
        </section>
    }
}

type UploadAction = Action<leptos::web_sys::FormData, Result<Branding, crate::error::AppError>>;

fn upload_action() -> UploadAction {
    Action::new_local(|data: &leptos::web_sys::FormData| {
        super::api::upload_logo(data.clone().into())
    })
}

fn submit_logo(ev: leptos::ev::SubmitEvent, upload: UploadAction) {
    use leptos::wasm_bindgen::JsCast;
    ev.prevent_default();
    let Some(form) = ev
        .target()
        .and_then(|t| t.dyn_into::<leptos::web_sys::HtmlFormElement>().ok())
    else {
        return;
    };
    if let Ok(data) = leptos::web_sys::FormData::new_with_form(&form) {
        upload.dispatch_local(data);
    }
}

/// `/staff/settings`: the clinic's name and regional settings.
#[component]
pub fn SettingsPage() -> impl IntoView {
    let site = current_site();
    let Some(tenant) = site.tenant.clone() else {
        return view! { <crate::shell::NotFound/> }.into_any();
    };
    let action = ServerAction::<SaveClinicSettings>::new();
    let error = error_of!(action);
    let settings = tenant.settings.clone();
    let days = RwSignal::new(settings.working_days.clone());
    let toggle = move |day: &'static str, on: bool| {
        days.update(|list| {
            let mut chosen: Vec<&str> = super::WEEKDAYS
                .iter()
                .map(|(k, _)| *k)
                .filter(|k| (*k == day && on) || (*k != day && list.split(',').any(|d| d == *k)))
                .collect();
            chosen.dedup();
            *list = chosen.join(",");
        });
    };
    let select = move |id: &'static str, options: Vec<(String, String)>, current: String| {
        view! {
            <select id=id name=id class=INPUT>
                {options.into_iter().map(|(value, label)| {
                    let selected = value == current;
                    view! { <option value=value selected=selected>{label}</option> }
                }).collect_view()}
            </select>
            <FieldError error field=id/>
        }
    };
    view! {
        <PageTitle text="Clinic settings"/>
        <SignedInShell testid="settings-page">
            <h1 class="text-xl font-semibold">"Clinic settings"</h1>
            <p class="mt-1 text-sm text-slate-600">"Every date and time your staff and patients see follows these."</p>
            <ActionForm action attr:class=CARD attr:data-testid="settings-form">
                <div>
                    <label for="name" class="block text-sm font-medium">"Clinic name"</label>
                    <input id="name" name="name" value=tenant.name.clone() maxlength="120" required class=INPUT/>
                    <FieldError error field="name"/>
                </div>
                <div>
                    <label for="timezone" class="block text-sm font-medium">"Time zone (IANA name, such as Europe/Lisbon)"</label>
                    <input id="timezone" name="timezone" value=settings.timezone.clone() maxlength="64" required class=INPUT list="timezones"/>
                    <datalist id="timezones">
                        {COMMON_ZONES.iter().map(|z| view! { <option value=*z></option> }).collect_view()}
                    </datalist>
                    <FieldError error field="timezone"/>
                </div>
                <div>
                    <label for="currency" class="block text-sm font-medium">"Currency"</label>
                    {select("currency", super::CURRENCIES.iter().map(|c| (c.to_string(), c.to_string())).collect(), settings.currency.clone())}
                </div>
                <div>
                    <label for="language" class="block text-sm font-medium">"Language"</label>
                    {select("language", super::LANGUAGES.iter().map(|(c, l)| (c.to_string(), l.to_string())).collect(), settings.language.clone())}
                </div>
                <div>
                    <label for="date_format" class="block text-sm font-medium">"Date format"</label>
                    {select("date_format", super::DATE_FORMATS.iter().map(|(f, e)| (f.to_string(), e.to_string())).collect(), settings.date_format.clone())}
                </div>
                <fieldset>
                    <legend class="block text-sm font-medium">"Working days"</legend>
                    <input type="hidden" name="days" prop:value=move || days.get()/>
                    <div class="mt-1 flex flex-wrap gap-3">
                        {super::WEEKDAYS.iter().map(|(key, label)| {
                            let key: &'static str = key;
                            let checked = settings.works_on(key);
                            view! {
                                <label class="flex items-center gap-1 text-sm">
                                    <input type="checkbox" value=key checked=checked data-day=key
                                        on:change=move |ev| toggle(key, event_target_checked(&ev))/>
                                    {*label}
                                </label>
                            }
                        }).collect_view()}
                    </div>
                    <FieldError error field="working_days"/>
                </fieldset>
                <fieldset class="space-y-3">
                    <legend class="block text-sm font-semibold">"Patient records"</legend>
                    <div>
                        <label for="mrn_prefix" class="block text-sm font-medium">"Record number prefix (empty: the first letters of your address)"</label>
                        <input id="mrn_prefix" name="mrn_prefix" value=settings.mrn_prefix.clone().unwrap_or_default()
                            placeholder=TenantSettings::default().record_prefix(tenant.slug.as_str())
                            maxlength="10" autocapitalize="characters" class=INPUT aria-describedby="mrn_prefix-hint"/>
                        <p id="mrn_prefix-hint" class="mt-1 text-xs text-slate-600">"New patients get the prefix and the next number of your series; existing record numbers stay as they are."</p>
                        <FieldError error field="mrn_prefix"/>
                    </div>
                    <div>
                        <label for="retention_years" class="block text-sm font-medium">"Keep erased records for (years)"</label>
                        <input id="retention_years" name="retention_years" type="number" inputmode="numeric"
                            min=super::RETENTION_YEARS.start().to_string() max=super::RETENTION_YEARS.end().to_string()
                            value=settings.retention_years.to_string() required class=INPUT aria-describedby="retention_years-hint"/>
                        <p id="retention_years-hint" class="mt-1 text-xs text-slate-600">"When a patient's data is erased, the record stays restricted this long (unless the erasure names a date), then it is purged. Follow your country's rules for medical records."</p>
                        <FieldError error field="retention_years"/>
                    </div>
                </fieldset>
                <FormError error/>
                {move || matches!(action.value().get(), Some(Ok(_))).then(|| view! { <p role="status" data-testid="settings-saved" class="text-sm text-green-800">"Saved."</p> })}
                <Submit pending=action.pending().into() label="Save settings" busy="Saving…"/>
            </ActionForm>
            <HydratedMarker/>
        </SignedInShell>
    }
    .into_any()
}

/// Suggestions for the time-zone field (any IANA name is accepted).
const COMMON_ZONES: &[&str] = &[
    "UTC",
    "Europe/London",
    "Europe/Lisbon",
    "Europe/Madrid",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Rome",
    "Europe/Amsterdam",
    "Europe/Warsaw",
    "Europe/Athens",
    "Africa/Lagos",
    "Africa/Nairobi",
    "Africa/Johannesburg",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Toronto",
    "America/Mexico_City",
    "America/Sao_Paulo",
    "America/Buenos_Aires",
];

/// `/staff/domain`: the clinic's own domain, the DNS records to create, and the
/// check that turns it on.
#[component]
pub fn DomainPage() -> impl IntoView {
    let action = ServerAction::<SetCustomDomain>::new();
    let verify = ServerAction::<VerifyCustomDomain>::new();
    let error = error_of!(action);
    let verify_error = error_of!(verify);
    let current = Resource::new(
        move || (action.version().get(), verify.version().get()),
        |_| custom_domain(),
    );
    view! {
        <PageTitle text="Custom domain"/>
        <SignedInShell testid="domain-page">
            <h1 class="text-xl font-semibold">"Custom domain"</h1>
            <p class="mt-1 text-sm text-slate-600">"Serve your clinic's pages and patient portal on your own domain, such as portal.yourclinic.com."</p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || current.get().map(|setup| match setup {
                    Err(e) => view! { <p role="alert">{e.message()}</p> }.into_any(),
                    Ok(setup) => {
                        let value = setup.domain.clone().unwrap_or_default();
                        let records = setup.domain.clone().map(|domain| {
                            let rows = [
                                ("TXT", setup.txt_name.clone().unwrap_or_default(), setup.txt_value.clone().unwrap_or_default(), "dns-txt"),
                                ("CNAME", domain, setup.target.clone(), "dns-cname"),
                            ];
                            view! {
                                <section data-testid="dns-record" class=CARD>
                                    <h2 class="font-semibold">"Create these DNS records at your domain's provider"</h2>
                                    <div class="relative max-w-full overflow-x-auto" tabindex="0" role="region" aria-label="DNS records"><table class="w-full text-left text-sm">
                                        <thead><tr><th class="p-2">"Type"</th><th class="p-2">"Name"</th><th class="p-2">"Value"</th></tr></thead>
                                        <tbody>
                                            {rows.into_iter().map(|(kind, name, value, testid)| view! {
                                                <tr class="border-t border-slate-200 font-mono" data-testid=testid>
                                                    <td class="p-2">{kind}</td>
                                                    <td class="p-2 break-all">{name}</td>
                                                    <td class="p-2 break-all">{value}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table></div>
                                    <p class="text-sm text-slate-600">"The TXT record proves the domain is yours; the CNAME sends its visitors here. For a bare domain such as yourclinic.com, use your provider's ALIAS or ANAME record instead of the CNAME. DNS changes can take up to a day to appear."</p>
                                    {if setup.verified {
                                        view! { <p data-testid="domain-verified" class="rounded bg-green-50 p-3 text-sm text-green-900">"Verified: requests for this domain open your clinic."</p> }.into_any()
                                    } else {
                                        view! {
                                            {if setup.expired {
                                                view! { <p data-testid="domain-expired" class="rounded bg-amber-50 p-3 text-sm text-amber-900">"This domain was never proven and its claim has lapsed: save it again to get a new TXT record."</p> }.into_any()
                                            } else {
                                                view! { <p data-testid="domain-pending" class="rounded bg-amber-50 p-3 text-sm text-amber-900">"Not verified yet: the domain does not open your clinic until the TXT record is found. The claim lapses after 7 days without proof."</p> }.into_any()
                                            }}
                                            <ActionForm action=verify>
                                                <button type="submit" class=BUTTON disabled=move || verify.pending().get()>
                                                    {move || if verify.pending().get() { "Checking…" } else { "Check DNS now" }}
                                                </button>
                                            </ActionForm>
                                            <FormError error=verify_error/>
                                        }.into_any()
                                    }}
                                </section>
                            }
                        });
                        view! {
                            <ActionForm action attr:class=CARD attr:data-testid="domain-form">
                                <div>
                                    <label for="domain" class="block text-sm font-medium">"Domain (leave empty to remove)"</label>
                                    <input id="domain" name="domain" value=value maxlength="253" class=INPUT placeholder="portal.yourclinic.com"/>
                                    <FieldError error field="domain"/>
                                </div>
                                <FormError error/>
                                <Submit pending=action.pending().into() label="Save domain" busy="Saving…"/>
                            </ActionForm>
                            {records}
                        }.into_any()
                    }
                })}
            </Suspense>
            <HydratedMarker/>
        </SignedInShell>
    }
}
