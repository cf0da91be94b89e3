//! The clinic's SMS connection, a part of the messaging set-up. Plain forms:
//! they work before the wasm arrives.

use leptos::prelude::*;

use super::SmsSetup;

fn api(name: &str) -> String {
    crate::site::current_site().href(&format!("/api/{name}"))
}

/// Connect Twilio (or see and end the connection), and send a test text.
#[component]
pub fn SmsSection(sms: SmsSetup) -> impl IntoView {
    let input = crate::identity::pages::INPUT;
    let button = crate::identity::pages::BUTTON;
    let connected = sms.connected.clone();
    view! {
        <div class="mt-4" data-testid="setup-sms">
            <h3 class="text-sm font-medium">"SMS (Twilio)"</h3>
            <crate::forms::PlainFormError path="/api/connect_sms"/>
            <crate::forms::PlainFormError path="/api/send_test_sms"/>
            {match connected {
                Some((account, sender)) => view! {
                    <p class="text-sm" data-testid="sms-connected">{format!("Connected: account …{account}, from {sender}")}</p>
                    <form method="post" action=api("disconnect_sms")>
                        <button type="submit" class="text-sm text-red-700 underline">"Disconnect"</button>
                    </form>
                    <form method="post" action=api("send_test_sms") class="mt-2 flex flex-wrap items-end gap-2" data-testid="sms-test">
                        <label class="text-sm">"Test to"<input name="to" type="tel" required class=input/></label>
                        <button type="submit" class=button>"Send test"</button>
                    </form>
                    <ul class="mt-1 text-sm">
                        {sms.tests.into_iter().map(|(to, state, at)| view! {
                            <li data-testid="sms-test-line">{format!("{at} · {to} · {state}")}</li>
                        }).collect_view()}
                    </ul>
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
    }
}
