//! Signing in again in place when the session ends, so nobody loses work to the
//! idle timeout.
//!
//! Every server function answer "sign in first" reaches [`session_ended`] (from
//! `AppError`'s decoding in the browser). When it answers a form the person just
//! submitted on a signed-in page, a dialog asks for the password (and second
//! factor) over the page, which stays as it was, typed text included; once signed
//! in, the same form is submitted again, as it stands. Anything else (a page's
//! data while navigating) goes to the sign-in page and comes back afterwards.

use leptos::prelude::*;

use crate::identity::api::{second_factor, sign_in, SignInStep};
use crate::identity::pages::INPUT;
use crate::identity::Audience;

#[cfg(feature = "hydrate")]
mod browser {
    use leptos::prelude::*;
    use leptos::wasm_bindgen::{closure::Closure, JsCast};
    use leptos::web_sys::HtmlFormElement;
    use std::cell::{Cell, RefCell};

    /// A submission older than this is not what the answer was about.
    const RECENT_MS: f64 = 120_000.0;

    thread_local! {
        static LAST_FORM: RefCell<Option<(HtmlFormElement, f64)>> = const { RefCell::new(None) };
        static DIALOG: Cell<Option<RwSignal<bool>>> = const { Cell::new(None) };
        static LISTENING: Cell<bool> = const { Cell::new(false) };
    }

    fn now() -> f64 {
        leptos::web_sys::js_sys::Date::now()
    }

    /// Remembers every form submitted on the page (capture phase: before the
    /// form's own handler runs).
    pub fn listen_for_submissions() {
        if LISTENING.with(|l| l.replace(true)) {
            return;
        }
        let record =
            Closure::<dyn Fn(leptos::web_sys::Event)>::new(|ev: leptos::web_sys::Event| {
                let form = ev
                    .target()
                    .and_then(|t| t.dyn_into::<HtmlFormElement>().ok())
                    // The dialog's own form is not the work to carry on.
                    .filter(|f| !f.has_attribute("data-reauth"));
                if let Some(form) = form {
                    LAST_FORM.with(|f| *f.borrow_mut() = Some((form, now())));
                }
            });
        let _ = document().add_event_listener_with_callback_and_bool(
            "submit",
            record.as_ref().unchecked_ref(),
            true,
        );
        record.forget();
    }

    pub fn register(open: RwSignal<bool>) {
        DIALOG.with(|d| d.set(Some(open)));
    }

    pub fn unregister(open: RwSignal<bool>) {
        DIALOG.with(|d| {
            if d.get() == Some(open) {
                d.set(None);
            }
        });
    }

    /// The form just submitted, still on the page.
    pub fn recent_form() -> Option<HtmlFormElement> {
        LAST_FORM.with(|f| {
            f.borrow()
                .as_ref()
                .filter(|(form, at)| now() - at < RECENT_MS && form.is_connected())
                .map(|(form, _)| form.clone())
        })
    }

    pub fn session_ended() {
        let dialog = DIALOG.with(Cell::get);
        match (dialog, recent_form()) {
            (Some(open), Some(_)) => open.set(true),
            _ => {
                let location = window().location();
                let path = location.pathname().unwrap_or_default();
                let site = crate::site::current_site();
                let here = path
                    .strip_prefix(site.base.as_str())
                    .filter(|p| p.starts_with('/'))
                    .unwrap_or(&path)
                    .to_owned();
                let sign_in = site.href(if here.starts_with("/portal") {
                    "/portal/signin"
                } else {
                    "/signin"
                });
                let next: String = leptos::web_sys::js_sys::encode_uri_component(&here).into();
                let _ = location.set_href(&format!("{sign_in}?next={next}&expired=1"));
            }
        }
    }

    /// Submits the remembered form again, as it stands now.
    pub fn submit_again() {
        if let Some(form) = recent_form() {
            let _ = form.request_submit();
        }
    }
}

/// A server function answered "sign in first" (called in the browser only).
pub fn session_ended() {
    #[cfg(feature = "hydrate")]
    browser::session_ended();
}

/// Whether this page asks for the password in place when the session ends (so
/// forms need not show "please sign in").
pub fn asks_in_place() -> bool {
    use_context::<ReauthPresent>().is_some()
}

#[derive(Clone, Copy)]
struct ReauthPresent;

/// The dialog of a signed-in page, shown when the session ended under a form.
#[component]
pub fn ReauthDialog() -> impl IntoView {
    let site = crate::site::current_site();
    let Some(viewer) = site.viewer.clone() else {
        return ().into_any();
    };
    provide_context(ReauthPresent);
    let open = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    {
        browser::listen_for_submissions();
        browser::register(open);
        on_cleanup(move || browser::unregister(open));
    }
    let email = viewer.email.to_string();
    let audience = viewer.audience();
    let other = site.href("/signin");
    // The dialog's code arrives only when it is needed (rarely): every signed-in
    // page carries just the few lines above.
    view! {
        <Show when=move || open.get()>
            {
                let (email, other) = (email.clone(), other.clone());
                move || {
                    let (email, other) = (email.clone(), other.clone());
                    Suspend::new(async move { dialog(open, email, audience, other).await })
                }
            }
        </Show>
    }
    .into_any()
}

/// The dialog itself, loaded on demand.
#[leptos::lazy]
fn dialog(open: RwSignal<bool>, email: String, audience: Audience, other: String) -> AnyView {
    let needs_code = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let input_ref = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if open.get() {
            if let Some(input) = input_ref.get() {
                let _ = input.focus();
            }
        }
    });
    let finished = move || {
        open.set(false);
        needs_code.set(false);
        error.set(None);
        #[cfg(feature = "hydrate")]
        browser::submit_again();
    };
    let email_for_submit = email.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(input) = input_ref.get() else {
            return;
        };
        let typed = input.value();
        let email = email_for_submit.clone();
        let code_step = needs_code.get_untracked();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let here = current_path();
            let answer = if code_step {
                second_factor(typed).await
            } else {
                // Where they are decides the door for someone who has two.
                sign_in(email, typed, audience, Some(here)).await
            };
            busy.set(false);
            if let Some(input) = input_ref.get_untracked() {
                input.set_value("");
            }
            match answer {
                Ok(SignInStep::Go(_)) => finished(),
                Ok(SignInStep::SecondFactor) => {
                    error.set(None);
                    needs_code.set(true);
                    if let Some(input) = input_ref.get_untracked() {
                        let _ = input.focus();
                    }
                }
                Ok(SignInStep::ChooseDoor) => error.set(Some(
                    "Sign in again from the sign-in page to choose how.".into(),
                )),
                Err(e) => error.set(Some(e.message())),
            }
        });
    };
    view! {
            <div class="fixed inset-0 z-50 flex items-center justify-center bg-slate-900/60 p-4">
                <div
                    role="dialog"
                    aria-modal="true"
                    aria-labelledby="reauth-title"
                    aria-describedby="reauth-text"
                    data-testid="reauth-dialog"
                    class="w-full max-w-sm rounded-lg bg-white p-5 text-slate-900 shadow-xl"
                >
                <form data-reauth="" class="space-y-3" on:submit=on_submit>
                    <h2 id="reauth-title" class="text-lg font-semibold">"Your session ended"</h2>
                    <p id="reauth-text" class="text-sm text-slate-700">
                        "You were signed out after a while without activity, to protect your patients' privacy. Enter your password to carry on: this page and what you typed stay as they are, and what you were saving is saved."
                    </p>
                    <p class="text-sm">"Signed in as " <strong>{email.clone()}</strong></p>
                    <div>
                        <label for="reauth-secret" class="block text-sm font-medium">
                            {move || if needs_code.get() { "Code from your authenticator app" } else { "Password" }}
                        </label>
                        <input
                            id="reauth-secret"
                            node_ref=input_ref
                            type=move || if needs_code.get() { "text" } else { "password" }
                            autocomplete=move || if needs_code.get() { "one-time-code" } else { "current-password" }
                            required
                            class=INPUT
                        />
                    </div>
                    {move || error.get().map(|m| view! {
                        <p role="alert" data-testid="reauth-error" class="rounded bg-red-50 p-3 text-sm text-red-800">{m}</p>
                    })}
                    <button type="submit" class=format!("w-full {}", crate::identity::pages::BUTTON) disabled=move || busy.get()>
                        {move || if busy.get() { "Checking…" } else { "Continue" }}
                    </button>
                    <a href=other.clone() class="block text-center text-sm text-brand underline">"Sign in as someone else"</a>
                </form>
                </div>
            </div>
    }
    .into_any()
}

/// The page's path after the site's base, for where to go after signing in.
fn current_path() -> String {
    #[cfg(feature = "hydrate")]
    {
        let path = window().location().pathname().unwrap_or_default();
        let base = crate::site::current_site().base;
        return path
            .strip_prefix(base.as_str())
            .filter(|p| p.starts_with('/'))
            .map_or(path.clone(), str::to_owned);
    }
    #[allow(unreachable_code)]
    String::new()
}
