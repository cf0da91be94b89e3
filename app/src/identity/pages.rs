//! Identity pages: sign-in (staff, patient, platform), second factor, password
//! reset, invitations, the viewer's security settings, and the clinic's users,
//! patients-portal, security-policy and audit pages.

use crate::shell::PageTitle;
use leptos::html;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::use_query_map;

use super::api::*;
use super::{Audience, Role};
use crate::error::AppError;
use crate::shell::{AppShell, Panel};
use crate::site::current_site;
use crate::tenancy::TenantPublic;

pub const INPUT: &str = "mt-1 w-full rounded border border-slate-300 px-3 py-2 focus:border-brand focus:outline-none focus:ring-2 focus:ring-brand";
pub const BUTTON: &str =
    "rounded bg-brand px-4 py-2 font-semibold text-on-brand disabled:opacity-60";
pub const CARD: &str = "mt-6 space-y-4 rounded-lg border border-slate-200 bg-white p-5 shadow-sm";

/// Loads a new page (a full navigation, so the server renders it with the session).
pub fn go(url: &str) {
    #[cfg(feature = "hydrate")]
    {
        let _ = window().location().set_href(url);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = url;
}

/// The error of an action's last result.
macro_rules! error_of {
    ($action:expr) => {{
        let action = $action;
        Signal::derive(move || action.value().get().and_then(Result::err))
    }};
}
pub(crate) use error_of;

/// A message under a form field when the last error names it. The field (the
/// input whose id is `field`) is marked invalid, described by the message, and
/// focused when nothing else has focus, so a screen reader hears what to fix.
#[component]
pub fn FieldError(error: Signal<Option<AppError>>, field: &'static str) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let message = error.get().and_then(|e| e.for_field(field));
        mark_field(field, message.is_some());
    });
    move || {
        error.get().and_then(|e| e.for_field(field)).map(|m| {
            view! { <p id=format!("error-{field}") class="mt-1 text-sm text-red-700" data-testid=format!("error-{field}")>{m}</p> }
        })
    }
}

/// Sets or clears `aria-invalid` / `aria-describedby` on the input `id`, and
/// focuses it when the page's focus is nowhere in particular (the body, or the
/// submit button that was just pressed).
#[cfg(feature = "hydrate")]
fn mark_field(id: &str, invalid: bool) {
    use leptos::wasm_bindgen::JsCast;
    let Some(input) = document().get_element_by_id(id) else {
        return;
    };
    if !invalid {
        let _ = input.remove_attribute("aria-invalid");
        let _ = input.remove_attribute("aria-describedby");
        return;
    }
    let _ = input.set_attribute("aria-invalid", "true");
    let _ = input.set_attribute("aria-describedby", &format!("error-{id}"));
    let idle = document()
        .active_element()
        .is_none_or(|a| matches!(a.tag_name().as_str(), "BODY" | "BUTTON"));
    if idle {
        if let Some(el) = input.dyn_ref::<leptos::web_sys::HtmlElement>() {
            let _ = el.focus();
        }
    }
}

/// A form-wide message for errors not about one field. It takes the focus when
/// it appears (after a refused sign-in the focus would otherwise drop to the
/// page), and is announced as an alert.
#[component]
pub fn FormError(error: Signal<Option<AppError>>) -> impl IntoView {
    let message_ref = NodeRef::<html::P>::new();
    Effect::new(move |_| {
        if let Some(el) = message_ref.get() {
            let _ = el.focus();
        }
    });
    // A signed-in page asks for the password in place instead (`shell::reauth`).
    let in_place = crate::shell::reauth::asks_in_place();
    move || {
        error
            .get()
            .filter(|e| !matches!(e, AppError::Field(..)))
            .filter(|e| !(in_place && *e == AppError::Unauthenticated))
            .map(|e| {
                view! {
                    <p node_ref=message_ref tabindex="-1" role="alert" data-testid="form-error" class="rounded bg-red-50 p-3 text-sm text-red-800 focus:outline-none focus-visible:ring-2 focus-visible:ring-red-700">
                        {e.message()}
                    </p>
                }
            })
    }
}

/// The submit button, disabled with a pending label while the request runs.
#[component]
pub fn Submit(pending: Signal<bool>, label: &'static str, busy: &'static str) -> impl IntoView {
    view! {
        <button type="submit" class=format!("w-full {BUTTON}") disabled=move || pending.get()>
            {move || if pending.get() { busy } else { label }}
        </button>
    }
}

pub fn query(name: &'static str) -> Memo<Option<String>> {
    let q = use_query_map();
    Memo::new(move |_| q.with(|q| q.get(name)))
}

/// The branded frame of the public pages (sign-in, reset, invitations).
#[component]
pub fn PublicFrame(tenant: Option<TenantPublic>, children: Children) -> impl IntoView {
    let name = tenant
        .as_ref()
        .map_or_else(|| "MediSync".to_owned(), |t| t.name.clone());
    let logo = tenant
        .as_ref()
        .and_then(|t| t.branding.logo_url.clone())
        .map(
            |src| view! { <img src=src alt="" data-testid="clinic-logo" class="h-10 w-auto max-w-40 rounded bg-white object-contain"/> },
        );
    view! {
        <main class="min-h-screen bg-slate-50 text-slate-900">
            <header data-testid="brand-header" class="bg-brand text-on-brand">
                <div class="mx-auto flex max-w-md items-center gap-3 px-4 py-4">
                    {logo}
                    <p data-testid="tenant-name" class="text-lg font-semibold">{name}</p>
                </div>
            </header>
            <section class="mx-auto max-w-md px-4 py-8">{children()}</section>
        </main>
    }
}

/// Marks the page as hydrated for browser tests: effects run only in the browser,
/// after hydration, so the mark appears exactly when the page handles input. It
/// asks the server nothing and says nothing to screen readers.
#[component]
pub fn HydratedMarker() -> impl IntoView {
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let slug = current_site()
        .tenant
        .map(|t| t.slug.to_string())
        .unwrap_or_default();
    move || {
        hydrated.get().then(|| {
            view! { <span data-testid="hydrated" data-tenant=slug.clone() aria-hidden="true" hidden></span> }
        })
    }
}

/// The steps of signing in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SignInStage {
    Password,
    Door,
    Code,
}

/// One sign-in per clinic address (`/`, `/signin`, and the portal's own
/// `/portal/signin`): the server knows from the account whether it is staff,
/// patient or both here (both: this page asks). On the platform's address,
/// operators sign in and everyone else finds their clinic.
#[component]
pub fn SignInPage(audience: Audience) -> impl IntoView {
    let site = current_site();
    let tenant = site.tenant.clone();
    let sign_in = ServerAction::<SignIn>::new();
    let second = ServerAction::<SecondFactor>::new();
    let next = query("next");
    let was_reset = query("reset");
    let expired = query("expired");
    let step = query("step");
    let password_ref = NodeRef::<html::Input>::new();
    Effect::new(move |_| {
        if let Some(Err(_)) = sign_in.value().get() {
            if let Some(input) = password_ref.get() {
                input.set_value("");
            }
        }
    });
    // Whichever step finished the sign-in, go where it says.
    Effect::new(move |_| {
        for value in [sign_in.value().get(), second.value().get()] {
            if let Some(Ok(SignInStep::Go(url))) = value {
                go(&url);
            }
        }
    });
    let code_error = error_of!(second);
    // The door is chosen with a plain form (it leaves the page either way); its
    // refusal comes back through `forms`.
    let door_refusal =
        StoredValue::new(crate::forms::refusal("/api/choose_door").map(AppError::Invalid));
    // A later step that expired goes back to the password, saying why.
    let step_expired = move || {
        code_error
            .get()
            .filter(|e| !matches!(e, AppError::Field(..)))
            .or_else(|| door_refusal.get_value())
    };
    let error = Signal::derive(move || {
        sign_in
            .value()
            .get()
            .and_then(Result::err)
            .or_else(step_expired)
    });
    // The step shown: from the last answer, or (after a form posted before the
    // page's code arrived) from the address the server sent the browser to.
    let stage = Memo::new(move |_| {
        if step_expired().is_some() {
            return SignInStage::Password;
        }
        let answered = sign_in.value().get().and_then(Result::ok);
        match (answered, step.get().as_deref()) {
            (Some(SignInStep::SecondFactor), _) | (None, Some("code")) => SignInStage::Code,
            (Some(SignInStep::ChooseDoor), _) | (None, Some("door")) => SignInStage::Door,
            _ => SignInStage::Password,
        }
    });
    let clinic = StoredValue::new(tenant.as_ref().map(|t| t.name.clone()).unwrap_or_default());
    let typed_email = StoredValue::new(crate::forms::typed(SignIn::PATH, "email"));
    let (headline, welcome) = tenant.as_ref().map_or_else(
        || {
            (
                "Sign in to MediSync".to_owned(),
                "MediSync's operators sign in here. Clinic teams and patients sign in at their clinic's own address.".to_owned(),
            )
        },
        |t| {
            if audience == Audience::Patient {
                (
                    "Patient portal".to_owned(),
                    format!("Sign in to see your record at {}.", t.name),
                )
            } else {
                (
                    t.branding.sign_in_headline.clone(),
                    t.branding.welcome_text.clone(),
                )
            }
        },
    );
    let title = format!(
        "Sign in · {}",
        tenant.as_ref().map_or("MediSync", |t| t.name.as_str())
    );
    let forgot = StoredValue::new(site.href("/forgot-password"));
    let on_platform = tenant.is_none();
    let choose_door_url = StoredValue::new(site.href("/api/choose_door"));
    let support = tenant.as_ref().and_then(|t| {
        let b = &t.branding;
        (b.support_phone.is_some() || b.support_email.is_some()).then(|| {
            let phone = b.support_phone.clone().map(|p| {
                let href = format!("tel:{}", p.replace(' ', ""));
                view! { <a class="underline" href=href>{p}</a> }
            });
            let email = b.support_email.clone().map(|e| {
                let href = format!("mailto:{e}");
                view! { <a class="underline" href=href>{e}</a> }
            });
            view! {
                <p data-testid="support-contact" class="mt-4 text-sm text-slate-700">
                    "Need help signing in? Contact the clinic: " {phone} " " {email}
                </p>
            }
        })
    });
    view! {
        <PageTitle text=title/>
        <PublicFrame tenant>
            <h1 class="text-2xl font-bold">{headline}</h1>
            <p class="mt-2 text-slate-700">{welcome}</p>
            {move || expired.get().map(|_| view! {
                <p data-testid="session-expired" class="mt-4 rounded bg-amber-50 p-3 text-sm text-amber-900">
                    "Your session ended after a period without activity. Sign in again to continue where you were."
                </p>
            })}
            {move || was_reset.get().map(|_| view! {
                <p data-testid="reset-done" class="mt-4 rounded bg-green-50 p-3 text-sm text-green-800">
                    "Your password was changed and every session was signed out. Sign in with the new password."
                </p>
            })}
            {move || match stage.get() {
                SignInStage::Code => view! {
                    <ActionForm action=second attr:class=CARD attr:data-testid="second-factor-form">
                        <p class="text-sm text-slate-700">
                            "Enter the 6-digit code from your authenticator app, or one of your recovery codes."
                        </p>
                        <div>
                            <label for="code" class="block text-sm font-medium">"Code"</label>
                            <input id="code" name="code" autocomplete="one-time-code" inputmode="text" required class=INPUT/>
                            <FieldError error=code_error field="code"/>
                        </div>
                        <FormError error=code_error/>
                        <Submit pending=second.pending().into() label="Verify" busy="Verifying…"/>
                    </ActionForm>
                }.into_any(),
                SignInStage::Door => view! {
                    <form method="post" action=choose_door_url.get_value() class=CARD data-testid="choose-door-form">
                        <h2 class="text-lg font-semibold">"How do you want to sign in?"</h2>
                        <p class="text-sm text-slate-700">
                            {format!("You are on the team at {} and also one of its patients. Choose one; you can sign out and come back as the other.", clinic.get_value())}
                        </p>
                        <button type="submit" name="door" value="staff" data-testid="door-staff" class=format!("w-full {BUTTON}")>
                            "As staff: the clinic's records"
                        </button>
                        <button type="submit" name="door" value="patient" data-testid="door-patient" class="w-full rounded border border-brand px-4 py-2 font-semibold text-brand">
                            "As a patient: my own record"
                        </button>
                    </form>
                }.into_any(),
                SignInStage::Password => view! {
                    <ActionForm action=sign_in attr:class=CARD attr:data-testid="sign-in-form">
                        <input type="hidden" name="audience" value=audience.as_str()/>
                        <input type="hidden" name="next" value=move || next.get().unwrap_or_default()/>
                        <div>
                            <label for="email" class="block text-sm font-medium">"Email"</label>
                            <input id="email" name="email" type="email" autocomplete="username" required class=INPUT value=typed_email.get_value()/>
                        </div>
                        <div>
                            <label for="password" class="block text-sm font-medium">"Password"</label>
                            <input
                                id="password"
                                name="password"
                                type="password"
                                autocomplete="current-password"
                                required
                                node_ref=password_ref
                                class=INPUT
                            />
                        </div>
                        <FormError error/>
                        <Submit pending=sign_in.pending().into() label="Sign in" busy="Signing in…"/>
                        <a href=forgot.get_value() class="block text-sm text-brand underline">"Forgot your password?"</a>
                    </ActionForm>
                    {if on_platform {
                        view! {
                            <p class="mt-4 rounded-lg border border-slate-200 bg-white p-4 text-sm text-slate-700">
                                "On a clinic's team, or one of its patients? You sign in at your clinic's own address. "
                                <a href="/find-clinic" data-testid="find-my-clinic-link" class="font-semibold text-brand underline">"Find my clinic"</a>
                            </p>
                        }.into_any()
                    } else {
                        view! {
                            <p data-testid="one-door" class="mt-3 text-sm text-slate-700">
                                "One sign-in for the clinic's team and its patients: we take you to the right place."
                            </p>
                        }.into_any()
                    }}
                }.into_any(),
            }}
            {support}
            <HydratedMarker/>
        </PublicFrame>
    }
}

/// `/find-clinic` on the platform's address: emails the clinics where an address
/// can sign in; the answer on screen is always the same.
#[component]
pub fn FindMyClinicPage() -> impl IntoView {
    if current_site().tenant.is_some() {
        return view! { <crate::shell::NotFound/> }.into_any();
    }
    view! {
        <PageTitle text="Find my clinic · MediSync"/>
        <PublicFrame tenant=None>
            <h1 class="text-2xl font-bold">"Find my clinic"</h1>
            <FindMyClinic/>
            <a href="/signin" class="mt-4 block text-sm text-brand underline">"Back to sign-in"</a>
            <HydratedMarker/>
        </PublicFrame>
    }
    .into_any()
}

#[component]
fn FindMyClinic() -> impl IntoView {
    let action = ServerAction::<FindMyClinic>::new();
    let error = error_of!(action);
    let sent_plainly = crate::forms::succeeded(FindMyClinic::PATH);
    let sent = move || sent_plainly || matches!(action.value().get(), Some(Ok(())));
    view! {
        <section data-testid="find-my-clinic" class=CARD aria-labelledby="find-my-clinic-title">
            <h2 id="find-my-clinic-title" class="sr-only">"Find my clinic"</h2>
            <p class="text-sm text-slate-700">
                "Clinic teams and patients sign in at their clinic's own address. Enter your email and we will send you the addresses of the clinics where you can sign in."
            </p>
            <Show when=move || !sent() fallback=|| view! {
                <p data-testid="clinics-sent" role="status" class="rounded bg-green-50 p-3 text-sm text-green-800">
                    "If that address can sign in at any clinic, we sent it an email listing them. Check your inbox."
                </p>
            }>
                <ActionForm action attr:class="space-y-3">
                    <div>
                        <label for="find_email" class="block text-sm font-medium">"Your email"</label>
                        <input id="find_email" name="email" type="email" autocomplete="email" required class=INPUT/>
                        <FieldError error field="find_email"/>
                    </div>
                    <FormError error/>
                    <Submit pending=action.pending().into() label="Email me my clinics" busy="Sending…"/>
                </ActionForm>
            </Show>
        </section>
    }
}

/// `/forgot-password`: asks for a reset link by email.
#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<RequestPasswordReset>::new();
    let error = error_of!(action);
    let sent_plainly = crate::forms::succeeded(RequestPasswordReset::PATH);
    let sent = move || sent_plainly || matches!(action.value().get(), Some(Ok(())));
    let typed_email = StoredValue::new(crate::forms::typed(RequestPasswordReset::PATH, "email"));
    view! {
        <PageTitle text="Reset your password"/>
        <PublicFrame tenant=current_site().tenant>
            <h1 class="text-2xl font-bold">"Reset your password"</h1>
            <Show when=move || !sent() fallback=|| view! {
                <p data-testid="reset-sent" class="mt-4 rounded bg-green-50 p-3 text-sm text-green-800">
                    "If an account uses that address, we sent it a link to choose a new password. It works for one hour."
                </p>
            }>
                <ActionForm action attr:class=CARD>
                    <div>
                        <label for="email" class="block text-sm font-medium">"Email"</label>
                        <input id="email" name="email" type="email" autocomplete="username" required class=INPUT value=typed_email.get_value()/>
                        <FieldError error field="email"/>
                    </div>
                    <FormError error/>
                    <Submit pending=action.pending().into() label="Send reset link" busy="Sending…"/>
                </ActionForm>
            </Show>
            <a data-testid="back-to-sign-in" href=current_site().href("/signin") class="mt-4 block text-sm text-brand underline">"Back to sign-in"</a>
            <HydratedMarker/>
        </PublicFrame>
    }
}

/// `/reset-password?token=…`: chooses a new password.
#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let action = ServerAction::<ResetPassword>::new();
    let error = error_of!(action);
    let token = query("token");
    Effect::new(move |_| {
        if let Some(Ok(url)) = action.value().get() {
            go(&url);
        }
    });
    view! {
        <PageTitle text="Choose a new password"/>
        <PublicFrame tenant=current_site().tenant>
            <h1 class="text-2xl font-bold">"Choose a new password"</h1>
            <ActionForm action attr:class=CARD>
                <input type="hidden" name="token" value=move || token.get().unwrap_or_default()/>
                <PasswordField error label="New password"/>
                <FormError error/>
                <Submit pending=action.pending().into() label="Save password" busy="Saving…"/>
            </ActionForm>
            <HydratedMarker/>
        </PublicFrame>
    }
}

#[component]
fn PasswordField(error: Signal<Option<AppError>>, label: &'static str) -> impl IntoView {
    view! {
        <div>
            <label for="password" class="block text-sm font-medium">{label}</label>
            <input id="password" name="password" type="password" autocomplete="new-password" required
                minlength=super::password::MIN_LENGTH maxlength=super::password::MAX_LENGTH class=INPUT/>
            <p class="mt-1 text-xs text-slate-600">"At least 12 characters. A few unrelated words work well."</p>
            <FieldError error field="password"/>
        </div>
    }
}

/// `/invite?token=…`: accepts a staff or patient-portal invitation.
#[component]
pub fn AcceptInvitationPage() -> impl IntoView {
    let token = query("token");
    let details = Resource::new(
        move || token.get(),
        |t| async move { invitation_details(t.unwrap_or_default()).await },
    );
    let action = ServerAction::<AcceptInvitation>::new();
    let error = error_of!(action);
    let typed_name = StoredValue::new(crate::forms::typed(AcceptInvitation::PATH, "display_name"));
    Effect::new(move |_| {
        if let Some(Ok(url)) = action.value().get() {
            go(&url);
        }
    });
    view! {
        <PageTitle text="Accept your invitation"/>
        <PublicFrame tenant=current_site().tenant>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || details.get().map(|d| match d {
                    Err(e) => view! {
                        <h1 class="text-2xl font-bold">"Accept your invitation"</h1>
                        <p role="alert" data-testid="form-error" class="mt-4 rounded bg-red-50 p-3 text-sm text-red-800">{e.message()}</p>
                    }.into_any(),
                    Ok(d) => {
                        let what = d.role.map_or_else(
                            || "the patient portal".to_owned(),
                            |r| format!("the team as {}", role_label(r)),
                        );
                        view! {
                            <h1 class="text-2xl font-bold">{format!("Join {}", d.clinic)}</h1>
                            <p class="mt-2 text-slate-700">{format!("You are invited to {what}, as {}.", d.email)}</p>
                            <ActionForm action attr:class=CARD attr:data-testid="accept-form">
                                <input type="hidden" name="token" value=move || token.get().unwrap_or_default()/>
                                {if d.existing_account {
                                    view! {
                                        <p class="text-sm text-slate-700">"You already have a MediSync account. Confirm it with its password."</p>
                                        <div>
                                            <label for="password" class="block text-sm font-medium">"Your password"</label>
                                            <input id="password" name="password" type="password" autocomplete="current-password" required class=INPUT/>
                                        </div>
                                    }.into_any()
                                } else {
                                    view! {
                                        <div>
                                            <label for="display_name" class="block text-sm font-medium">"Your name"</label>
                                            <input id="display_name" name="display_name" autocomplete="name" required maxlength="120" class=INPUT value=typed_name.get_value()/>
                                            <FieldError error field="display_name"/>
                                        </div>
                                        <PasswordField error label="Choose a password"/>
                                    }.into_any()
                                }}
                                <FormError error/>
                                <Submit pending=action.pending().into() label="Accept and sign in" busy="Setting up…"/>
                            </ActionForm>
                        }.into_any()
                    }
                })}
            </Suspense>
            <HydratedMarker/>
        </PublicFrame>
    }
}

/// `/verify-email?token=…`.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let action = ServerAction::<VerifyEmail>::new();
    let error = error_of!(action);
    let token = query("token");
    Effect::new(move |_| {
        if let Some(Ok(Some(url))) = action.value().get() {
            go(&url);
        }
    });
    let signin = current_site().href("/signin");
    view! {
        <PageTitle text="Confirm your email"/>
        <PublicFrame tenant=current_site().tenant>
            <h1 class="text-2xl font-bold">"Confirm your email"</h1>
            {move || match action.value().get() {
                Some(Ok(_)) => view! {
                    <p data-testid="verified" class="mt-4 rounded bg-green-50 p-3 text-green-800">
                        "Thank you: your email address is confirmed. "
                        <a class="font-semibold underline" href=signin.clone()>"Sign in"</a>
                    </p>
                }.into_any(),
                _ => view! {
                    <ActionForm action attr:class=CARD attr:data-testid="verify-form">
                        <input type="hidden" name="token" prop:value=move || token.get().unwrap_or_default()/>
                        <p class="text-sm text-slate-700">"Confirm that this email address is yours to finish setting up your account."</p>
                        <FormError error/>
                        <Submit pending=action.pending().into() label="Confirm my email" busy="Confirming…"/>
                    </ActionForm>
                }.into_any(),
            }}
            <HydratedMarker/>
        </PublicFrame>
    }
}

/// The shell for a signed-in page, by who is looking.
#[component]
pub fn SignedInShell(#[prop(into)] testid: String, children: Children) -> impl IntoView {
    let site = current_site();
    let viewer = site.viewer.clone();
    let (area, nav) = crate::shell::navigation(&site);
    let brand = site
        .tenant
        .as_ref()
        .map_or_else(|| "MediSync".to_owned(), |t| t.name.clone());
    let support = viewer.as_ref().and_then(|v| v.support.clone());
    let arrears = viewer.as_ref().and_then(|v| {
        let notice = v.billing.clone()?;
        let manages = v.can(super::permissions::Permission::SettingsManage);
        // Everyone learns why changes are refused; only those who can pay
        // hear of a failed payment before that.
        (notice.read_only || manages).then(|| (notice, manages.then(|| site.href("/staff/plan"))))
    });
    let trial = site
        .tenant
        .as_ref()
        .filter(|_| {
            viewer
                .as_ref()
                .is_some_and(|v| v.can(super::permissions::Permission::SettingsManage))
        })
        .and_then(|t| {
            t.trial_days_left
                .map(|days| (days, site.href("/staff/plan")))
        });
    view! {
        <AppShell brand area nav testid>
            <crate::shell::reauth::ReauthDialog/>
            {support.map(|s| view! { <SupportBanner access=s/> })}
            {arrears.map(|(notice, plan)| {
                let text = if notice.read_only {
                    "This clinic's records are read-only because MediSync's subscription is unpaid. Reading and exporting records still work. ".to_owned()
                } else {
                    format!(
                        "A payment for MediSync failed. Update the card before {} to keep changing records. ",
                        notice.read_only_on.unwrap_or_default()
                    )
                };
                view! {
                    <p role="alert" data-testid="arrears-banner" class="mb-4 rounded bg-red-50 p-3 text-sm text-red-900">
                        {text}
                        {plan.map(|href| view! { <a class="underline" href=href>"Pay on Plan and usage"</a> })}
                    </p>
                }
            })}
            {trial.map(|(days, plan)| {
                view! {
                    <p data-testid="trial-banner" class="mb-4 rounded bg-sky-50 p-3 text-sm text-sky-900">
                        {format!("Trial: {days} day{} left. ", if days == 1 { "" } else { "s" })}
                        <a class="underline" href=plan>"Choose a plan"</a>
                    </p>
                }
            })}
            {children()}
        </AppShell>
    }
}

/// Shown on every page while a platform operator works inside the clinic.
#[component]
fn SupportBanner(access: super::SupportAccess) -> impl IntoView {
    let end = ServerAction::<crate::platform::api::EndSupportSession>::new();
    Effect::new(move |_| {
        if let Some(Ok(url)) = end.value().get() {
            go(&url);
        }
    });
    view! {
        <div role="status" data-testid="support-banner" class="mb-4 rounded border-2 border-amber-500 bg-amber-50 p-3 text-sm text-amber-950">
            <p class="font-semibold">{format!("Support session by {}", access.operator_email)}</p>
            <p>{format!("Reason: {}", access.reason)}</p>
            <p>{format!("Ends at {} UTC. Everything done here is recorded in the clinic's audit log.", access.expires_at.format("%H:%M"))}</p>
            <ActionForm action=end attr:class="mt-2">
                <button type="submit" data-testid="end-support" class="rounded border border-amber-700 px-3 py-1">"End support session"</button>
            </ActionForm>
        </div>
    }
}

/// `/account/security`: two-factor set-up and removal, sign out everywhere.
#[component]
pub fn SecurityPage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| security_overview());
    let start = ServerAction::<StartTotp>::new();
    let confirm = ServerAction::<ConfirmTotp>::new();
    let disable = ServerAction::<DisableTotp>::new();
    let everywhere = ServerAction::<SignOutEverywhere>::new();
    let change = ServerAction::<ChangePassword>::new();
    let change_error = error_of!(change);
    Effect::new(move |_| {
        if let Some(Ok(url)) = everywhere.value().get() {
            go(&url);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = disable.value().get() {
            overview.refetch();
        }
    });
    let start_error = error_of!(start);
    let confirm_error = error_of!(confirm);
    let disable_error = error_of!(disable);
    let must = current_site()
        .viewer
        .is_some_and(|v| v.must_set_up_two_factor);
    view! {
        <PageTitle text="Sign-in security"/>
        <SignedInShell testid="security-page">
            <h1 class="text-xl font-semibold">"Sign-in security"</h1>
            {must.then(|| view! {
                <p data-testid="two-factor-required" class="mt-3 rounded bg-amber-50 p-3 text-sm text-amber-900">
                    "Two-factor sign-in is required here. Set it up to continue."
                </p>
            })}
            <div class="mt-4 grid grid-cols-1 gap-4 lg:grid-cols-2">
                <Panel title="Two-factor sign-in">
                    <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                        {move || overview.get().map(|o| match o {
                            Err(e) => view! { <p role="alert">{e.message()}</p> }.into_any(),
                            Ok(o) if o.totp_enabled => view! {
                                <p data-testid="totp-on">"On: sign-in asks for a code from your authenticator app."</p>
                                {(!o.two_factor_required).then(|| view! {
                                    <ActionForm action=disable attr:class="mt-3 space-y-2">
                                        <label for="disable_password" class="block text-sm font-medium">"Current password"</label>
                                        <input id="disable_password" name="current_password" type="password" autocomplete="current-password" class=INPUT/>
                                        <FieldError error=disable_error field="current_password"/>
                                        <FormError error=disable_error/>
                                        <button type="submit" class=BUTTON>"Turn off two-factor"</button>
                                    </ActionForm>
                                })}
                            }.into_any(),
                            Ok(_) => view! { <TotpSetupForm start confirm start_error confirm_error/> }.into_any(),
                        })}
                    </Suspense>
                </Panel>
                <Panel title="Password">
                    <ActionForm action=change attr:class="space-y-2" attr:data-testid="change-password-form">
                        <label for="current_password" class="block text-sm font-medium">"Current password"</label>
                        <input id="current_password" name="current_password" type="password" autocomplete="current-password" required class=INPUT/>
                        <FieldError error=change_error field="current_password"/>
                        <PasswordField error=change_error label="New password"/>
                        <FormError error=change_error/>
                        {move || matches!(change.value().get(), Some(Ok(()))).then(|| view! {
                            <p data-testid="password-changed" class="text-sm text-green-800">"Password changed. Your other devices were signed out."</p>
                        })}
                        <button type="submit" class=BUTTON disabled=move || change.pending().get()>"Change password"</button>
                    </ActionForm>
                </Panel>
                <Panel title="Sessions">
                    <p>"Signed in on a computer you no longer use? End every session, this one included."</p>
                    <ActionForm action=everywhere attr:class="mt-3">
                        <button type="submit" data-testid="sign-out-everywhere" class=BUTTON>"Sign out of all devices"</button>
                    </ActionForm>
                </Panel>
            </div>
            <HydratedMarker/>
        </SignedInShell>
    }
}

#[component]
fn TotpSetupForm(
    start: ServerAction<StartTotp>,
    confirm: ServerAction<ConfirmTotp>,
    start_error: Signal<Option<AppError>>,
    confirm_error: Signal<Option<AppError>>,
) -> impl IntoView {
    view! {
        {move || match (start.value().get(), confirm.value().get()) {
            (_, Some(Ok(codes))) => view! {
                <div data-testid="recovery-codes">
                    <p class="font-medium">"Two-factor sign-in is on. Keep these recovery codes somewhere safe; each works once."</p>
                    <ul class="mt-2 grid grid-cols-2 gap-1 font-mono">
                        {codes.into_iter().map(|c| view! { <li>{c}</li> }).collect_view()}
                    </ul>
                </div>
            }.into_any(),
            (Some(Ok(setup)), _) => view! {
                <div>
                    <p>"Scan this code with your authenticator app, or type the key."</p>
                    <div class="mt-2 w-48" inner_html=setup.qr_svg.clone()></div>
                    <p class="mt-2 break-all font-mono text-xs" data-testid="totp-secret">{setup.secret.clone()}</p>
                    <ActionForm action=confirm attr:class="mt-3 space-y-2">
                        <label for="totp_code" class="block text-sm font-medium">"Code from the app"</label>
                        <input id="totp_code" name="code" autocomplete="one-time-code" required class=INPUT/>
                        <FieldError error=confirm_error field="code"/>
                        <FormError error=confirm_error/>
                        <button type="submit" class=BUTTON disabled=move || confirm.pending().get()>"Turn on"</button>
                    </ActionForm>
                </div>
            }.into_any(),
            _ => view! {
                <p>"Off. Add a second step to sign-in with an authenticator app."</p>
                <ActionForm action=start attr:class="mt-3 space-y-2">
                    <label for="start_password" class="block text-sm font-medium">"Current password"</label>
                    <input id="start_password" name="current_password" type="password" autocomplete="current-password" required class=INPUT/>
                    <FieldError error=start_error field="current_password"/>
                    <FormError error=start_error/>
                    <button type="submit" class=BUTTON disabled=move || start.pending().get()>"Set up two-factor"</button>
                </ActionForm>
            }.into_any(),
        }}
    }
}

/// `/staff/users`: members, invitations, roles.
#[component]
pub fn UsersPage() -> impl IntoView {
    let invite = ServerAction::<InviteStaff>::new();
    let change = ServerAction::<ChangeStaffRole>::new();
    // One action per kind of change (each action costs every page's download):
    // deactivate/reactivate share one, resend/withdraw another.
    let set_active = ServerAction::<SetStaffActive>::new();
    let manage = ServerAction::<ManageStaffInvitation>::new();
    // Which of the two the last press was, for the confirmation line.
    let last_manage = RwSignal::new("");
    let staff = Resource::new(
        move || {
            (
                invite.version().get(),
                change.version().get(),
                set_active.version().get(),
                manage.version().get(),
            )
        },
        |_| async { (list_staff().await, list_staff_invitations().await) },
    );
    let invite_error = error_of!(invite);
    let change_error = Signal::derive(move || {
        error_of!(change)
            .get()
            .or_else(|| error_of!(set_active).get())
            .or_else(|| error_of!(manage).get())
    });
    let me = current_site()
        .viewer
        .map(|v| v.email.to_string())
        .unwrap_or_default();
    // What was typed, when the invitation was posted before the page's code
    // arrived and came back refused (`crate::forms`).
    let typed_email = crate::forms::typed(InviteStaff::PATH, "email");
    let typed_role = crate::forms::typed(InviteStaff::PATH, "role")
        .and_then(|r| r.parse::<Role>().ok())
        .unwrap_or(Role::Receptionist);
    let sent_plainly = crate::forms::succeeded(InviteStaff::PATH);
    let role_options = move || {
        Role::ALL
            .iter()
            .map(|r| view! { <option value=r.as_str() selected=*r == typed_role>{role_label(*r)}</option> })
            .collect_view()
    };
    view! {
        <PageTitle text="Users"/>
        <SignedInShell testid="users-page">
            <h1 class="text-xl font-semibold">"Users"</h1>
            <ActionForm action=invite attr:class="mt-4 flex flex-wrap items-end gap-3 rounded-lg border border-slate-200 bg-white p-4" attr:data-testid="invite-form">
                <div class="min-w-56 flex-1">
                    <label for="invite_email" class="block text-sm font-medium">"Email"</label>
                    <input id="invite_email" name="email" type="email" required class=INPUT value=typed_email/>
                    <FieldError error=invite_error field="email"/>
                </div>
                <div>
                    <label for="invite_role" class="block text-sm font-medium">"Role"</label>
                    <select id="invite_role" name="role" class=INPUT>{role_options()}</select>
                    <FieldError error=invite_error field="role"/>
                </div>
                <button type="submit" class=BUTTON disabled=move || invite.pending().get()>
                    {move || if invite.pending().get() { "Sending…" } else { "Send invitation" }}
                </button>
            </ActionForm>
            {move || (sent_plainly || matches!(invite.value().get(), Some(Ok(())))).then(|| view! {
                <p data-testid="invite-sent" class="mt-2 text-sm text-green-800">"Invitation sent."</p>
            })}
            <FormError error=invite_error/>
            <FormError error=change_error/>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || staff.get().map(|(list, _)| match list {
                    Err(e) => view! { <p role="alert">{e.message()}</p> }.into_any(),
                    Ok(list) => view! {
                        <div class="relative mt-4 max-w-full overflow-x-auto" tabindex="0" role="region" aria-label="Staff members"><table class="w-full text-left text-sm" data-testid="staff-table">
                            <thead><tr><th class="p-2">"Name"</th><th class="p-2">"Email"</th><th class="p-2">"Role"</th><th class="p-2">"Status"</th><th class="p-2"><span class="sr-only">"Actions"</span></th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|m| {
                                    let id = m.id.to_string();
                                    let id_for_deactivate = id.clone();
                                    let current = m.role;
                                    // Nobody changes their own role or deactivates themselves.
                                    let editable = m.email != me && m.status == super::MemberStatus::Active;
                                    let reactivable = m.email != me && m.status != super::MemberStatus::Active;
                                    let id_for_reactivate = id.clone();
                                    view! {
                                        <tr class="border-t border-slate-200">
                                            <td class="p-2">{m.display_name.clone()}</td>
                                            <td class="p-2">{m.email.clone()}</td>
                                            <td class="p-2">
                                                {if editable { view! {
                                                <ActionForm action=change attr:class="flex gap-2">
                                                    <input type="hidden" name="member_id" value=id/>
                                                    <select name="role" aria-label="Role" class="rounded border border-slate-300 px-2 py-1">
                                                        {Role::ALL.iter().map(|r| view! { <option value=r.as_str() selected=*r == current>{role_label(*r)}</option> }).collect_view()}
                                                    </select>
                                                    <button type="submit" class="text-brand underline">"Change"</button>
                                                </ActionForm>
                                                }.into_any() } else { view! { <span>{role_label(current)}</span> }.into_any() }}
                                            </td>
                                            <td class="p-2" data-testid="member-status">{match m.status {
                                                super::MemberStatus::Active => "Active",
                                                _ => "Deactivated",
                                            }}</td>
                                            <td class="p-2">
                                                // Deactivating asks first, and says what it does; it can be undone.
                                                {editable.then(|| view! {
                                                <details data-testid="deactivate">
                                                    <summary class="cursor-pointer text-red-700 underline">"Deactivate…"</summary>
                                                    <div class="mt-2 space-y-2 rounded border border-red-200 bg-red-50 p-2 text-xs text-red-900">
                                                        <p>"They are signed out here at once and can no longer sign in to this clinic. You can reactivate them later."</p>
                                                        <ActionForm action=set_active>
                                                            <input type="hidden" name="member_id" value=id_for_deactivate/>
                                                            <input type="hidden" name="active" value="false"/>
                                                            <button type="submit" class="rounded bg-red-700 px-2 py-1 font-semibold text-white">"Yes, deactivate"</button>
                                                        </ActionForm>
                                                    </div>
                                                </details>
                                                })}
                                                {reactivable.then(|| view! {
                                                <ActionForm action=set_active>
                                                    <input type="hidden" name="member_id" value=id_for_reactivate/>
                                                    <input type="hidden" name="active" value="true"/>
                                                    <button type="submit" class="text-brand underline">"Reactivate"</button>
                                                </ActionForm>
                                                })}
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table></div>
                    }.into_any(),
                })}
            </Suspense>
            <h2 class="mt-8 text-lg font-semibold">"Pending invitations"</h2>
            <p class="text-sm text-slate-600">"Each holds a seat of the plan until it is accepted, withdrawn or expires."</p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || staff.get().map(|(_, list)| match list {
                    Err(e) => view! { <p role="alert">{e.message()}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <p data-testid="no-pending" class="mt-2 text-sm text-slate-700">"No invitations are waiting."</p>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class="mt-2 space-y-2" data-testid="pending-invitations">
                            {list.into_iter().map(|i| {
                                let id = i.id.to_string();
                                let id_for_revoke = id.clone();
                                view! {
                                    <li class="flex flex-wrap items-center gap-x-4 gap-y-1 rounded border border-slate-200 bg-white p-3 text-sm" data-email=i.email.clone()>
                                        <span class="min-w-0 break-all font-medium">{i.email.clone()}</span>
                                        <span>{role_label(i.role)}</span>
                                        <span class="text-slate-600">"Link works until "{i.expires.clone()}</span>
                                        <ActionForm action=manage>
                                            <input type="hidden" name="id" value=id/>
                                            <input type="hidden" name="action" value="resend"/>
                                            <button type="submit" class="text-brand underline" on:click=move |_| last_manage.set("resend")>"Send again"</button>
                                        </ActionForm>
                                        <ActionForm action=manage>
                                            <input type="hidden" name="id" value=id_for_revoke/>
                                            <input type="hidden" name="action" value="withdraw"/>
                                            <button type="submit" class="text-red-700 underline" on:click=move |_| last_manage.set("withdraw")>"Withdraw"</button>
                                        </ActionForm>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                })}
            </Suspense>
            {move || matches!(manage.value().get(), Some(Ok(()))).then(|| match last_manage.get() {
                "withdraw" => view! { <p data-testid="invite-withdrawn" class="mt-2 text-sm text-green-800">"Invitation withdrawn: its link no longer works."</p> }.into_any(),
                _ => view! { <p data-testid="invite-resent" class="mt-2 text-sm text-green-800">"Invitation sent again, with a new link."</p> }.into_any(),
            })}
            <HydratedMarker/>
        </SignedInShell>
    }
}

/// `/staff/audit`: the tenant's audit trail with filters.
#[component]
pub fn AuditPage() -> impl IntoView {
    let action_filter = RwSignal::new(String::new());
    let actor_filter = RwSignal::new(String::new());
    let entries = Resource::new(
        move || (action_filter.get(), actor_filter.get()),
        |(action, actor)| list_audit(Some(action), Some(actor)),
    );
    view! {
        <PageTitle text="Audit log"/>
        <SignedInShell testid="audit-page">
            <h1 class="text-xl font-semibold">"Audit log"</h1>
            <div class="mt-4 flex flex-wrap gap-3">
                <label class="text-sm">"Activity"
                    <select class=INPUT data-testid="filter-action"
                        on:change=move |ev| action_filter.set(event_target_value(&ev))>
                        {super::AUDIT_FILTERS.iter().map(|(prefix, label)| view! {
                            <option value=*prefix>{*label}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label class="text-sm">"Person (email contains)"
                    <input class=INPUT data-testid="filter-actor"
                        on:change=move |ev| actor_filter.set(event_target_value(&ev))/>
                </label>
            </div>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || entries.get().map(|list| match list {
                    Err(e) => view! { <p role="alert">{e.message()}</p> }.into_any(),
                    Ok(list) => view! {
                        <div class="relative mt-4 max-w-full overflow-x-auto" tabindex="0" role="region" aria-label="Audit entries"><table class="w-full text-left text-sm" data-testid="audit-table">
                            <thead><tr><th class="p-2">"When"</th><th class="p-2">"Who"</th><th class="p-2">"What"</th><th class="p-2">"Target"</th><th class="p-2">"From"</th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|e| view! {
                                    <tr class="border-t border-slate-200" data-action=e.action.clone()>
                                        <td class="p-2 whitespace-nowrap" title=e.occurred_at.to_rfc3339()>{e.when.clone()}</td>
                                        <td class="p-2">{e.actor.clone().unwrap_or_default()}</td>
                                        <td class="p-2" title=e.action.clone()>{e.description.clone()}</td>
                                        <td class="p-2">{e.target.clone().unwrap_or_default()}</td>
                                        <td class="p-2 text-xs" title=e.user_agent.clone().unwrap_or_default()>{e.ip.clone().unwrap_or_default()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table></div>
                    }.into_any(),
                })}
            </Suspense>
            <HydratedMarker/>
        </SignedInShell>
    }
}

/// `/staff/security`: the clinic's sign-in policy.
#[component]
pub fn ClinicSecurityPage() -> impl IntoView {
    let action = ServerAction::<SetSecurityPolicy>::new();
    let error = error_of!(action);
    let current = Resource::new(move || action.version().get(), |_| clinic_security_policy());
    view! {
        <PageTitle text="Clinic security"/>
        <SignedInShell testid="clinic-security-page">
            <h1 class="text-xl font-semibold">"Clinic sign-in policy"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || current.get().map(|p| { let p = p.unwrap_or_default(); view! {
            <ActionForm action attr:class=CARD>
                <label class="flex items-center gap-2">
                    <input type="checkbox" name="require_staff_2fa" checked=p.require_staff_2fa/>
                    "Require two-factor sign-in for all staff"
                </label>
                <div>
                    <label for="idle_minutes" class="block text-sm font-medium">"Sign staff out after this many idle minutes (empty: 15)"</label>
                    <input id="idle_minutes" name="idle_minutes" inputmode="numeric" class=INPUT
                        value=p.staff_idle_minutes.map(|m| m.to_string()).unwrap_or_default()/>
                    <FieldError error field="idle_minutes"/>
                </div>
                <label class="flex items-center gap-2">
                    <input type="checkbox" name="doctors_see_own_patients" checked=p.doctors_see_own_patients data-testid="doctors-own-patients"/>
                    "Doctors see only the patients assigned to them or whose visit notes they wrote"
                </label>
                <FormError error/>
                {move || matches!(action.value().get(), Some(Ok(()))).then(|| view! { <p class="text-sm text-green-800">"Saved."</p> })}
                <Submit pending=action.pending().into() label="Save" busy="Saving…"/>
            </ActionForm>
            }})}
            </Suspense>
            <HydratedMarker/>
        </SignedInShell>
    }
}
