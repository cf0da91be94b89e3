//! The messaging set-up (a section of the scheduling set-up page) and an
//! appointment's message history (on the front-desk calendar). Plain forms and
//! links: they work before the wasm arrives.

use leptos::prelude::*;

use super::{MessageLine, MessagingSetup};

fn api(name: &str) -> String {
    crate::site::current_site().href(&format!("/api/{name}"))
}

fn clock(minutes: i32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// Reminder rules, sending hours and whether patients hear of changes.
#[component]
pub fn MessagingSetupSection(
    setup: MessagingSetup,
    texts: crate::channels::TextSetup,
) -> impl IntoView {
    let input = crate::identity::pages::INPUT;
    let button = crate::identity::pages::BUTTON;
    let sms_on = texts.connected.is_some();
    let whatsapp_on = texts.whatsapp.is_some();
    view! {
        <section class="mt-6 rounded-lg border border-slate-200 bg-white p-4" data-testid="setup-messaging">
            <h2 class="font-medium">"Reminders and messages to patients"</h2>
            <p class="mt-1 text-sm text-slate-600">"Emails give only the clinic, the date and time, and a portal link; texts only the clinic and the link. Sent within the sending hours (the location's time)."</p>
            <crate::forms::PlainFormError path="/api/add_reminder_rule"/>
            <crate::forms::PlainFormError path="/api/remove_reminder_rule"/>
            <crate::forms::PlainFormError path="/api/save_messaging_hours"/>
            <h3 class="mt-3 text-sm font-medium">"Reminders"</h3>
            {if setup.rules.is_empty() {
                view! { <p class="text-sm text-slate-600">"No reminders: patients get none."</p> }.into_any()
            } else {
                view! {
                    <ul class="text-sm">
                        {setup.rules.iter().map(|r| view! {
                            <li class="flex items-center gap-2" data-testid="reminder-rule">
                                <span>{r.label()}</span>
                                <form method="post" action=api("remove_reminder_rule")>
                                    <input type="hidden" name="minutes_before" value=r.minutes_before.to_string()/>
                                    <input type="hidden" name="channel" value=r.channel.as_str()/>
                                    <button type="submit" class="text-red-700 underline">"Remove"</button>
                                </form>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <form method="post" action=api("add_reminder_rule") class="mt-2 flex flex-wrap items-end gap-2" data-testid="add-reminder-rule">
                <label class="text-sm">"Send"<input name="amount" type="number" min="1" max="720" required class=input value="2"/></label>
                <label class="text-sm">"Unit"<select name="unit" class=input>
                    <option value="hours">"hours before"</option>
                    <option value="days">"days before"</option>
                    <option value="minutes">"minutes before"</option>
                </select></label>
                <label class="text-sm">"By"<select name="channel" class=input>
                    <option value="email">"Email"</option>
                    {sms_on.then(|| view! { <option value="sms">"SMS"</option> })}
                    {whatsapp_on.then(|| view! { <option value="whatsapp">"WhatsApp"</option> })}
                </select></label>
                <button type="submit" class=button>"Add reminder"</button>
            </form>
            <form method="post" action=api("save_messaging_hours") class="mt-4 grid gap-2 sm:grid-cols-3" data-testid="messaging-hours">
                <label class="text-sm">"Send from"<input name="send_from" type="time" required class=input value=clock(setup.window.from_min)/></label>
                <label class="text-sm">"Send until"<input name="send_until" type="time" required class=input value=clock(setup.window.until_min)/></label>
                <label class="text-sm"><input type="checkbox" name="updates" value="on" checked=setup.updates/>" Tell patients when a visit is booked, moved or cancelled"</label>
                {sms_on.then(|| view! { <label class="text-sm"><input type="checkbox" name="updates_sms" value="on" checked=setup.updates_sms/>" Also by SMS"</label> })}
                {whatsapp_on.then(|| view! { <label class="text-sm"><input type="checkbox" name="updates_whatsapp" value="on" checked=setup.updates_whatsapp/>" Also by WhatsApp"</label> })}
                <div><button type="submit" class=button>"Save sending hours"</button></div>
            </form>
            <crate::channels::pages::TextsSection texts=texts/>
        </section>
    }
}

/// The messages of one appointment, for the front desk: what, when, and what
/// became of each.
#[component]
pub fn MessageHistory(lines: Vec<MessageLine>) -> impl IntoView {
    (!lines.is_empty()).then(|| {
        let count = lines.len();
        view! {
            <details class="mt-1 text-xs" data-testid="message-history">
                <summary class="cursor-pointer text-slate-700">{format!("Messages ({count})")}</summary>
                <ul class="mt-1 space-y-1">
                    {lines.into_iter().map(|l| view! {
                        <li data-testid="message-line">
                            <span class="font-medium">{l.what}</span>": "{l.state}
                            {l.detail.map(|d| view! { <span class="block text-slate-600">{d}</span> })}
                        </li>
                    }).collect_view()}
                </ul>
            </details>
        }
    })
}
