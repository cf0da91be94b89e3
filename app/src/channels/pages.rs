//! The clinic's SMS and WhatsApp connections, a part of the messaging set-up.
//! Plain forms: they work before the wasm arrives.

use leptos::prelude::*;

use super::TextSetup;

fn api(name: &str) -> String {
    crate::site::current_site().href(&format!("/api/{name}"))
}

/// Connect Twilio and WhatsApp (or see and end the connections), and send
/// test texts.
#[component]
pub fn TextsSection(texts: TextSetup) -> impl IntoView {
    let input = crate::identity::pages::INPUT;
    let button = crate::identity::pages::BUTTON;
    let TextSetup {
        connected,
        whatsapp,
        tests,
    } = texts;
    let test_form = move |channel: &'static str| {
        view! {
            <form method="post" action=api(&format!("send_test_{channel}")) class="mt-1 flex flex-wrap items-end gap-2" data-testid=format!("{channel}-test")>
                <label class="text-sm">"Test to"<input name="to" type="tel" required class=input/></label>
                <button type="submit" class=button>"Send test"</button>
            </form>
        }
    };
    view! {
        <div class="mt-4" data-testid="setup-sms">
            <h3 class="text-sm font-medium">"SMS (Twilio)"</h3>
            <crate::forms::PlainFormError path="/api/connect_sms"/>
            <crate::forms::PlainFormError path="/api/send_test_sms"/>
            {match connected {
                Some((account, sender)) => view! {
                    <p class="text-sm" data-testid="sms-connected">{format!("Connected: account …{account}, from {sender}")}</p>
                    <form method="post" action=api("disconnect_sms")>
                        <button type="submit" class="text-sm text-red-700 underline">"Disconnect SMS"</button>
                    </form>
                    {test_form("sms")}
                }.into_any(),
                None => view! {
                    <form method="post" action=api("connect_sms") class="grid gap-2 sm:grid-cols-4" data-testid="sms-connect">
                        <label class="text-sm">"Account SID"<input name="account_sid" required class=input autocomplete="off"/></label>
                        <label class="text-sm">"Auth token"<input name="auth_token" type="password" required class=input autocomplete="off"/></label>
                        <label class="text-sm">"From"<input name="sender" required class=input/></label>
                        <div><button type="submit" class=button>"Connect"</button></div>
                    </form>
                }.into_any(),
            }}
        </div>
        <div class="mt-4" data-testid="setup-whatsapp">
            <h3 class="text-sm font-medium">"WhatsApp"</h3>
            <crate::forms::PlainFormError path="/api/connect_whatsapp"/>
            <crate::forms::PlainFormError path="/api/send_test_whatsapp"/>
            {match whatsapp {
                Some((number, template)) => view! {
                    <p class="text-sm" data-testid="whatsapp-connected">{format!("Connected: number id {number}, template {}", if template.is_empty() { "none" } else { template.as_str() })}</p>
                    <form method="post" action=api("disconnect_whatsapp")>
                        <button type="submit" class="text-sm text-red-700 underline">"Disconnect WhatsApp"</button>
                    </form>
                    {test_form("whatsapp")}
                }.into_any(),
                None => view! {
                    <form method="post" action=api("connect_whatsapp") class="grid gap-2 sm:grid-cols-5" data-testid="whatsapp-connect">
                        <label class="text-sm">"Phone number id"<input name="phone_number_id" required class=input autocomplete="off"/></label>
                        <label class="text-sm">"Access token"<input name="access_token" type="password" required class=input autocomplete="off"/></label>
                        <label class="text-sm">"Template"<input name="template_name" class=input/></label>
                        <label class="text-sm">"Language"<input name="template_language" class=input placeholder="en"/></label>
                        <div><button type="submit" class=button>"Connect"</button></div>
                    </form>
                }.into_any(),
            }}
            <ul class="mt-1 text-sm">
                {tests.into_iter().map(|(to, state, at)| view! {
                    <li data-testid="sms-test-line">{format!("{at} · {to} · {state}")}</li>
                }).collect_view()}
            </ul>
        </div>
    }
}
