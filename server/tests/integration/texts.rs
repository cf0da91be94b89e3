//! Texts to patients by SMS through the clinic's own Twilio account (issue 16),
//! against a local Twilio that speaks the Messages API and signs its webhooks:
//! a clinic connects its account (the token sealed at rest) and a test text
//! arrives; bookings and reminders go by SMS once, without PHI; delivery reports
//! move a text forward only and are believed only when signed by that clinic's
//! account over the configured public URL; a patient's STOP is honoured; a text
//! is never sent twice across crashes, and tried again only when it surely did
//! not go.

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;

use ::server::worker::{Handlers, Worker};
use app::channels::Providers;
use app::jobs::{kinds, JobState};

use crate::engagement::{at, booked, clinic, clinic_with, drain, message_worker, messages};
use crate::scheduling::{day, free_starts, next_monday, Setup};
use crate::self_service::{field_of, register};
use crate::support;
use support::server::Browser;
use support::twilio::{hang_up_server, FakeTwilio, Mode};
use support::whatsapp::{self as wa, FakeWhatsapp};
use support::TestDb;

on_both_backends!(
    whatsapps_handshake_answers_only_the_configured_token,
    whatsapp_texts_go_free_inside_the_24_hour_window_and_as_the_template_outside,
    whatsapp_events_are_believed_only_when_signed_and_reach_only_their_clinic,
    a_clinic_connects_its_twilio_account_and_a_test_text_arrives_and_reports_back,
    bookings_and_reminders_go_by_sms_once_and_say_nothing_private,
    a_patient_who_texts_stop_gets_no_more_texts_until_start,
    a_text_is_never_sent_twice_and_is_retried_only_when_it_surely_did_not_go,
    one_clinics_account_cannot_reach_another_clinics_texts,
);

const SID: &str = "AC00000000000000000000000000000001";
const TOKEN: &str = "f0e1d2c3b4a5968778695a4b3c2d1e0f";
const FROM: &str = "+14155550100";
const PATIENT_PHONE: &str = "+14155550123";

fn text_worker(db: &app::db::Db, api: &str, port: u16) -> Worker {
    let providers = Providers::new(api, api, &format!("http://localhost:{port}"));
    let db2 = db.clone();
    let handlers = Handlers::default().on(kinds::TEXT_DELIVERY, move |job, now| {
        let (db, providers) = (db2.clone(), providers.clone());
        async move { app::channels::deliver::run(&db, &providers, &job, now).await }
    });
    Worker::new(db.clone(), "texts", handlers)
}

async fn connect(admin: &Browser, sid: &str, token: &str) {
    admin
        .api_ok(
            "acme",
            "connect_sms",
            &[
                ("account_sid", sid),
                ("auth_token", token),
                ("sender", FROM),
            ],
        )
        .await;
}

fn status_url(admin: &Browser) -> String {
    format!(
        "http://localhost:{}/webhooks/twilio/status",
        admin.addr.port()
    )
}

fn inbound_url(admin: &Browser) -> String {
    format!(
        "http://localhost:{}/webhooks/twilio/inbound",
        admin.addr.port()
    )
}

/// The set-up page's test texts: "when · to · state".
async fn test_lines(admin: &Browser) -> Vec<String> {
    let setup = admin.api_ok("acme", "scheduling_setup", &[]).await;
    setup["texts"]["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .map(|t| {
            format!(
                "{} · {} · {}",
                t[2].as_str().unwrap_or(""),
                t[0].as_str().unwrap_or(""),
                t[1].as_str().unwrap_or("")
            )
        })
        .collect()
}

async fn a_clinic_connects_its_twilio_account_and_a_test_text_arrives_and_reports_back(t: &TestDb) {
    let twilio = FakeTwilio::start().await;
    twilio.add_account(SID, TOKEN);
    let (admin, desk, _, _) = clinic(t, "UTC").await;

    // Mistakes are named where they were made.
    for (form, field) in [
        (
            [
                ("account_sid", "AC123"),
                ("auth_token", TOKEN),
                ("sender", FROM),
            ],
            "account_sid",
        ),
        (
            [
                ("account_sid", SID),
                ("auth_token", "short"),
                ("sender", FROM),
            ],
            "auth_token",
        ),
        (
            [
                ("account_sid", SID),
                ("auth_token", TOKEN),
                ("sender", "4155550100"),
            ],
            "sender",
        ),
    ] {
        let reply = admin.api("acme", "connect_sms", &form).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.body
        );
        assert_eq!(field_of(&reply), field);
    }
    // Only those who manage settings connect a provider.
    let reply = desk
        .api(
            "acme",
            "connect_sms",
            &[
                ("account_sid", SID),
                ("auth_token", TOKEN),
                ("sender", FROM),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = admin
        .api("acme", "send_test_sms", &[("to", PATIENT_PHONE)])
        .await;
    assert_eq!(field_of(&reply), "to", "nothing to send with yet");

    connect(&admin, SID, TOKEN).await;
    let setup = admin.api_ok("acme", "scheduling_setup", &[]).await;
    assert_eq!(
        setup["texts"]["connected"],
        serde_json::json!(["0001", FROM])
    );
    assert!(
        !setup.to_string().contains(TOKEN),
        "the token is never shown"
    );

    // Sealed at rest: the stored value is not the token and does not hold it.
    let tenant = app::tenancy::db::find_by_slug(
        &mut t.db.begin_platform_read().await.expect("tx"),
        &app::tenancy::Slug::parse("acme").expect("slug"),
    )
    .await
    .expect("find")
    .expect("acme");
    let mut tx = t.db.begin_for(tenant.id).await.expect("tx");
    let (sealed,): (String,) = tx
        .fetch_one(
            "SELECT secret_sealed FROM messaging_channels WHERE tenant_id = $1",
            &[],
        )
        .await
        .expect("sealed");
    drop(tx);
    assert!(
        sealed.starts_with("v1:") && !sealed.contains(TOKEN),
        "{sealed}"
    );

    admin
        .api_ok("acme", "send_test_sms", &[("to", "+1 (415) 555-0123")])
        .await;
    let worker = text_worker(&t.db, &twilio.url(), admin.addr.port());
    assert_eq!(drain(&worker, Utc::now()).await, 1);
    let taken = twilio.taken();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].account, SID);
    assert_eq!(taken[0].field("To"), PATIENT_PHONE, "normalised to E.164");
    assert_eq!(taken[0].field("From"), FROM);
    assert!(taken[0].field("Body").contains("acme clinic"));
    assert_eq!(taken[0].field("StatusCallback"), status_url(&admin));
    assert!(test_lines(&admin).await[0].ends_with("accepted by the provider"));

    // Reports arrive signed; out of order or twice, they only move it forward.
    assert_eq!(
        twilio.report(&taken[0], "sent", None).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        twilio.report(&taken[0], "delivered", None).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        twilio.report(&taken[0], "sent", None).await,
        StatusCode::NO_CONTENT
    );
    assert!(
        test_lines(&admin).await[0].ends_with("· delivered"),
        "{:?}",
        test_lines(&admin).await
    );

    // A report not signed by the account is refused and changes nothing.
    let forged = [
        ("AccountSid", SID),
        ("MessageSid", taken[0].sid.as_str()),
        ("MessageStatus", "failed"),
    ];
    let url = status_url(&admin);
    assert_eq!(
        FakeTwilio::post_signed(&url, "not-the-token-at-all-0000000000", &forged).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        FakeTwilio::post_with(&url, "", &forged).await,
        StatusCode::UNAUTHORIZED
    );
    // Signed for another address (a proxy's, say): not believed either.
    let elsewhere = url.replace("localhost", "127.0.0.1");
    let owned: Vec<(String, String)> = forged
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let signed_elsewhere = app::channels::twilio::signature(TOKEN, &elsewhere, &owned);
    assert_eq!(
        FakeTwilio::post_with(&url, &signed_elsewhere, &forged).await,
        StatusCode::UNAUTHORIZED
    );
    let unknown = [
        ("AccountSid", "AC99999999999999999999999999999999"),
        ("MessageSid", "SMx"),
        ("MessageStatus", "failed"),
    ];
    assert_eq!(
        FakeTwilio::post_signed(&url, TOKEN, &unknown).await,
        StatusCode::UNAUTHORIZED
    );
    assert!(test_lines(&admin).await[0].ends_with("· delivered"));

    // Disconnected: the account no longer reaches the clinic.
    admin.api_ok("acme", "disconnect_sms", &[]).await;
    assert_eq!(
        twilio.report(&taken[0], "read", None).await,
        StatusCode::UNAUTHORIZED
    );
}

/// A patient with a mobile number and an email.
async fn texting_patient(desk: &Browser) -> String {
    register(
        desk,
        "acme",
        "Sam",
        "Mensah",
        "1990-04-05",
        &[("phone", PATIENT_PHONE), ("email", "sam@example.com")],
    )
    .await
}

async fn sms_clinic(t: &TestDb, twilio: &FakeTwilio) -> (Browser, Browser, Setup, String) {
    twilio.add_account(SID, TOKEN);
    let (admin, desk, s, _) = clinic(t, "UTC").await;
    connect(&admin, SID, TOKEN).await;
    let patient = texting_patient(&desk).await;
    (admin, desk, s, patient)
}

async fn bookings_and_reminders_go_by_sms_once_and_say_nothing_private(t: &TestDb) {
    let twilio = FakeTwilio::start().await;
    let (admin, desk, s, patient) = sms_clinic(t, &twilio).await;
    admin
        .api_ok(
            "acme",
            "save_messaging_hours",
            &[
                ("send_from", "00:00"),
                ("send_until", "24:00"),
                ("updates", "on"),
                ("updates_sms", "on"),
            ],
        )
        .await;
    admin
        .api_ok(
            "acme",
            "add_reminder_rule",
            &[("amount", "2"), ("unit", "hours"), ("channel", "sms")],
        )
        .await;
    let monday = next_monday();
    let free = free_starts(&day(&desk, &s, monday).await);
    booked(&desk, &s, &patient, &free[1]).await;
    let messenger = message_worker(&t.db, "m1");
    let texter = text_worker(&t.db, &twilio.url(), admin.addr.port());

    // Within the grace: nothing. After it: the booking, by email and by SMS.
    assert_eq!(drain(&messenger, Utc::now()).await, 0);
    assert_eq!(
        drain(&messenger, Utc::now() + Duration::minutes(3)).await,
        2
    );
    assert_eq!(drain(&texter, Utc::now() + Duration::minutes(3)).await, 1);
    let taken = twilio.taken();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].field("To"), PATIENT_PHONE);
    let body = taken[0].field("Body");
    assert!(
        body.starts_with("acme clinic: your appointment is booked."),
        "{body}"
    );
    assert!(body.contains("/t/acme/portal"), "{body}");
    assert!(body.contains("STOP"), "{body}");
    for private in ["Mensah", "Sam", "09:30", "Consultation", "Monday"] {
        assert!(!body.contains(private), "{private} in {body}");
    }

    // The reminder two hours ahead, once; running everything again sends nothing.
    let starts: DateTime<Utc> = at(&free[1]);
    let due = starts - Duration::hours(2);
    drain(&messenger, due - Duration::minutes(1)).await;
    drain(&texter, due - Duration::minutes(1)).await;
    assert_eq!(twilio.taken().len(), 1);
    drain(&messenger, due).await;
    drain(&texter, due).await;
    drain(&messenger, due + Duration::minutes(5)).await;
    drain(&texter, due + Duration::minutes(5)).await;
    let taken = twilio.taken();
    assert_eq!(taken.len(), 2, "{taken:?}");
    assert!(taken[1]
        .field("Body")
        .contains("a reminder of your upcoming appointment"));

    // The front desk sees each text and what became of it.
    twilio.report(&taken[1], "delivered", None).await;
    let shown = messages(&day(&desk, &s, monday).await);
    let sms: Vec<_> = shown.iter().filter(|m| m.0.ends_with("by SMS")).collect();
    assert_eq!(sms.len(), 2, "{shown:?}");
    assert!(
        sms.iter()
            .any(|m| m.0 == "Reminder by SMS" && m.1.ends_with("· delivered")),
        "{shown:?}"
    );
    assert!(
        sms.iter()
            .any(|m| m.0 == "Booking details by SMS" && m.1.ends_with("· accepted by the provider")),
        "{shown:?}"
    );
}

async fn a_patient_who_texts_stop_gets_no_more_texts_until_start(t: &TestDb) {
    let twilio = FakeTwilio::start().await;
    let (admin, desk, s, patient) = sms_clinic(t, &twilio).await;
    admin
        .api_ok(
            "acme",
            "add_reminder_rule",
            &[("amount", "2"), ("unit", "hours"), ("channel", "sms")],
        )
        .await;
    let inbound = |sid: &'static str, body: &'static str| {
        let url = inbound_url(&admin);
        async move {
            FakeTwilio::post_signed(
                &url,
                TOKEN,
                &[
                    ("AccountSid", SID),
                    ("Body", body),
                    ("From", PATIENT_PHONE),
                    ("MessageSid", sid),
                    ("To", FROM),
                ],
            )
            .await
        }
    };
    let opt_outs = || async {
        desk.api_ok("acme", "chart", &[("patient_id", &patient)])
            .await["message_opt_outs"]
            .clone()
    };

    assert_eq!(inbound("SM0001", " stop ").await, StatusCode::OK);
    assert_eq!(opt_outs().await, serde_json::json!(["Sms"]));
    let monday = next_monday();
    let free = free_starts(&day(&desk, &s, monday).await);
    booked(&desk, &s, &patient, &free[0]).await;
    let messenger = message_worker(&t.db, "m1");
    let texter = text_worker(&t.db, &twilio.url(), admin.addr.port());
    let due = at(&free[0]) - Duration::hours(2);
    drain(&messenger, due).await;
    drain(&texter, due).await;
    assert!(twilio.taken().is_empty());
    let shown = messages(&day(&desk, &s, monday).await);
    assert!(
        shown
            .iter()
            .any(|m| m.0 == "Reminder by SMS" && m.2 == "the patient asked for no messages by SMS"),
        "{shown:?}"
    );

    // START brings texts back; the old STOP, delivered again, is not handled twice.
    assert_eq!(inbound("SM0002", "START").await, StatusCode::OK);
    assert_eq!(opt_outs().await, serde_json::json!([]));
    assert_eq!(inbound("SM0001", "STOP").await, StatusCode::OK);
    assert_eq!(opt_outs().await, serde_json::json!([]));
    // Anything else is not an instruction.
    assert_eq!(
        inbound("SM0003", "stop sending me reminders please").await,
        StatusCode::OK
    );
    assert_eq!(opt_outs().await, serde_json::json!([]));

    // Twilio's own refusal (the number texted STOP to Twilio) is recorded too.
    twilio.set_mode(Mode::Refuse {
        status: 400,
        code: 21610,
    });
    admin
        .api_ok("acme", "send_test_sms", &[("to", PATIENT_PHONE)])
        .await;
    assert_eq!(drain(&texter, Utc::now()).await, 1);
    assert_eq!(opt_outs().await, serde_json::json!(["Sms"]));
    let lines = test_lines(&admin).await;
    assert!(
        lines[0].contains("failed: Twilio refused it (21610)"),
        "{lines:?}"
    );

    // The trail records the patient's own wishes.
    let trail = admin
        .api_ok(
            "acme",
            "list_audit",
            &[("action", "messages.patient_stopped")],
        )
        .await;
    assert_eq!(trail.as_array().map(Vec::len), Some(2), "{trail}");
}

async fn job_state(t: &TestDb, text_key_prefix: &str) -> Vec<(String, i64)> {
    let mut found = Vec::new();
    for state in [JobState::Queued, JobState::Dead, JobState::Done] {
        for job in app::jobs::db::list(&t.db, state, 100).await.expect("jobs") {
            if job.idempotency_key.starts_with(text_key_prefix) {
                found.push((job.state.clone(), job.attempts));
            }
        }
    }
    found
}

async fn a_text_is_never_sent_twice_and_is_retried_only_when_it_surely_did_not_go(t: &TestDb) {
    let twilio = FakeTwilio::start().await;
    let (admin, _, _, _) = sms_clinic(t, &twilio).await;
    let send_test = || admin.api_ok("acme", "send_test_sms", &[("to", PATIENT_PHONE)]);
    // The workers' clock runs ahead of the texts queued on the wall clock.
    let now = Utc::now() + Duration::minutes(5);

    // Twilio busy (503): nothing was taken; the text waits and goes later, once.
    twilio.set_mode(Mode::Refuse {
        status: 503,
        code: 20503,
    });
    send_test().await;
    let texter = text_worker(&t.db, &twilio.url(), admin.addr.port());
    assert_eq!(drain(&texter, now).await, 1);
    assert_eq!(twilio.attempts(), 1);
    assert!(twilio.taken().is_empty());
    assert!(test_lines(&admin).await[0].contains("waiting to send"));
    twilio.set_mode(Mode::Accept);
    assert_eq!(drain(&texter, now + Duration::minutes(1)).await, 1);
    assert_eq!(twilio.taken().len(), 1);
    assert_eq!(drain(&texter, now + Duration::hours(7)).await, 0);
    assert_eq!(twilio.taken().len(), 1);

    // Nobody listening: surely not sent, so tried again.
    send_test().await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let unreachable = text_worker(&t.db, &format!("http://{closed}"), admin.addr.port());
    assert_eq!(drain(&unreachable, now).await, 1);
    assert!(test_lines(&admin).await[0].contains("waiting to send"));
    assert_eq!(drain(&texter, now + Duration::minutes(1)).await, 1);
    assert_eq!(twilio.taken().len(), 2);

    // The request went and the answer was lost: perhaps sent, so never again,
    // and the job is left dead for an operator.
    send_test().await;
    let hung = text_worker(
        &t.db,
        &format!("http://{}", hang_up_server().await),
        admin.addr.port(),
    );
    assert_eq!(drain(&hung, now).await, 1);
    assert!(
        test_lines(&admin).await[0].contains("outcome unknown"),
        "{:?}",
        test_lines(&admin).await
    );
    assert_eq!(drain(&texter, now + Duration::hours(7)).await, 0);
    assert_eq!(twilio.taken().len(), 2);
    let dead = app::jobs::db::list(&t.db, JobState::Dead, 10)
        .await
        .expect("dead");
    assert_eq!(dead.len(), 1);

    // A worker that died after marking the text, before Twilio answered: the
    // next attempt finds the mark and does not send.
    send_test().await;
    let tenant = app::tenancy::db::find_by_slug(
        &mut t.db.begin_platform_read().await.expect("tx"),
        &app::tenancy::Slug::parse("acme").expect("slug"),
    )
    .await
    .expect("find")
    .expect("acme");
    let mut tx = t.db.begin_for(tenant.id).await.expect("tx");
    tx.execute(
        "UPDATE channel_deliveries SET state = 'sending', sending_at = $2 WHERE tenant_id = $1 \
         AND state = 'queued'",
        &[Utc::now().into()],
    )
    .await
    .expect("mark");
    tx.commit().await.expect("commit");
    assert_eq!(drain(&texter, now + Duration::minutes(1)).await, 1);
    assert_eq!(twilio.taken().len(), 2);
    assert!(test_lines(&admin).await[0].contains("outcome unknown"));

    // An operator who knows better sends it back to the queue: then it goes.
    let dead = app::jobs::db::list(&t.db, JobState::Dead, 10)
        .await
        .expect("dead");
    assert_eq!(dead.len(), 2);
    let later = Utc::now() + Duration::seconds(1);
    assert!(app::jobs::db::requeue(&t.db, dead[0].id, later)
        .await
        .expect("requeue"));
    assert_eq!(drain(&texter, later + Duration::minutes(1)).await, 1);
    assert_eq!(twilio.taken().len(), 3);
    assert!(!job_state(t, "text:").await.is_empty());
}

async fn one_clinics_account_cannot_reach_another_clinics_texts(t: &TestDb) {
    let twilio = FakeTwilio::start().await;
    let (admin, _, _, _) = sms_clinic(t, &twilio).await;
    admin
        .api_ok("acme", "send_test_sms", &[("to", PATIENT_PHONE)])
        .await;
    let texter = text_worker(&t.db, &twilio.url(), admin.addr.port());
    drain(&texter, Utc::now()).await;
    let acme_text = twilio.taken()[0].clone();

    // Another clinic with its own account.
    let other_sid = "AC00000000000000000000000000000002";
    let other_token = "00112233445566778899aabbccddeeff";
    twilio.add_account(other_sid, other_token);
    support::fixtures::staffed_clinic(&t.db, "globex").await;
    let globex =
        crate::self_service::staff_of(admin.addr, "globex", app::identity::Role::Admin).await;
    globex
        .api_ok(
            "globex",
            "connect_sms",
            &[
                ("account_sid", other_sid),
                ("auth_token", other_token),
                ("sender", "+14155550199"),
            ],
        )
        .await;
    // Acme's account cannot be connected to another clinic.
    let taken = globex
        .api(
            "globex",
            "connect_sms",
            &[
                ("account_sid", SID),
                ("auth_token", TOKEN),
                ("sender", "+14155550199"),
            ],
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.body);

    // Globex's signed report about Acme's text changes nothing at Acme.
    let report = [
        ("AccountSid", other_sid),
        ("MessageSid", acme_text.sid.as_str()),
        ("MessageStatus", "failed"),
    ];
    assert_eq!(
        FakeTwilio::post_signed(&status_url(&admin), other_token, &report).await,
        StatusCode::NO_CONTENT
    );
    assert!(test_lines(&admin).await[0].ends_with("accepted by the provider"));
    // Naming Acme's account does not help without Acme's token.
    let report = [
        ("AccountSid", SID),
        ("MessageSid", acme_text.sid.as_str()),
        ("MessageStatus", "failed"),
    ];
    assert_eq!(
        FakeTwilio::post_signed(&status_url(&admin), other_token, &report).await,
        StatusCode::UNAUTHORIZED
    );
    assert!(test_lines(&admin).await[0].ends_with("accepted by the provider"));
}

// ------------------------------------------------------------- WhatsApp ----

const NUMBER_ID: &str = "106540352242922";
const WA_TOKEN: &str = "EAAGm0PX4ZCpsBAWhatsAppFixtureToken0123";
const APP_SECRET: &str = "platform-app-secret";
const VERIFY: &str = "verify-token-of-the-platform";

fn whatsapp_url(b: &Browser) -> String {
    format!("http://localhost:{}/webhooks/whatsapp", b.addr.port())
}

fn wa_worker(db: &app::db::Db, api: &str, port: u16) -> Worker {
    let providers = Providers::new(api, api, &format!("http://localhost:{port}"));
    let db2 = db.clone();
    let handlers = Handlers::default().on(kinds::TEXT_DELIVERY, move |job, now| {
        let (db, providers) = (db2.clone(), providers.clone());
        async move { app::channels::deliver::run(&db, &providers, &job, now).await }
    });
    Worker::new(db.clone(), "whatsapp", handlers)
}

/// A clinic on a server with the platform WhatsApp app configured, its number
/// connected (with a template when `template`), and a patient with a phone.
async fn whatsapp_clinic(
    t: &TestDb,
    fake: &FakeWhatsapp,
    template: bool,
) -> (Browser, Browser, Setup, String) {
    fake.add_number(NUMBER_ID, WA_TOKEN);
    let (admin, desk, s, _) = clinic_with(t, "UTC", |c| {
        c.whatsapp_app_secret = APP_SECRET.into();
        c.whatsapp_verify_token = VERIFY.into();
    })
    .await;
    let (name, language) = if template {
        ("appointment_news", "en_US")
    } else {
        ("", "")
    };
    admin
        .api_ok(
            "acme",
            "connect_whatsapp",
            &[
                ("phone_number_id", NUMBER_ID),
                ("access_token", WA_TOKEN),
                ("template_name", name),
                ("template_language", language),
            ],
        )
        .await;
    let patient = texting_patient(&desk).await;
    (admin, desk, s, patient)
}

async fn whatsapps_handshake_answers_only_the_configured_token(t: &TestDb) {
    let fake = FakeWhatsapp::start().await;
    let (admin, _, _, _) = whatsapp_clinic(t, &fake, false).await;
    let get = |query: String| {
        let url = format!("{}?{query}", whatsapp_url(&admin));
        async move {
            let r = reqwest::get(&url).await.expect("get");
            (r.status(), r.text().await.unwrap_or_default())
        }
    };
    let (status, body) = get(format!(
        "hub.mode=subscribe&hub.verify_token={VERIFY}&hub.challenge=1158201444"
    ))
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "1158201444"));
    for query in [
        "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1".to_owned(),
        format!("hub.mode=unsubscribe&hub.verify_token={VERIFY}&hub.challenge=1"),
        format!("hub.verify_token={VERIFY}&hub.challenge=1"),
        "hub.mode=subscribe&hub.verify_token=&hub.challenge=1".to_owned(),
        String::new(),
    ] {
        let (status, body) = get(query.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{query}");
        assert!(!body.contains('1'), "no challenge echoed: {body}");
    }
    // An installation without a verify token verifies nothing.
    let bare = support::server::start(&t.db, |_| {}).await;
    let url = format!(
        "http://localhost:{}/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=&hub.challenge=7",
        bare.port()
    );
    assert_eq!(
        reqwest::get(&url).await.expect("get").status(),
        StatusCode::FORBIDDEN
    );
}

async fn whatsapp_texts_go_free_inside_the_24_hour_window_and_as_the_template_outside(t: &TestDb) {
    let fake = FakeWhatsapp::start().await;
    let (admin, desk, s, patient) = whatsapp_clinic(t, &fake, true).await;

    // Mistakes are named where they were made.
    for (form, field) in [
        (
            [
                ("phone_number_id", "12ab"),
                ("access_token", WA_TOKEN),
                ("template_name", ""),
            ],
            "phone_number_id",
        ),
        (
            [
                ("phone_number_id", NUMBER_ID),
                ("access_token", "short"),
                ("template_name", ""),
            ],
            "access_token",
        ),
        (
            [
                ("phone_number_id", NUMBER_ID),
                ("access_token", WA_TOKEN),
                ("template_name", "Appointment News"),
            ],
            "template_name",
        ),
        (
            [
                ("phone_number_id", NUMBER_ID),
                ("access_token", WA_TOKEN),
                ("template_name", "news"),
            ],
            "template_language",
        ),
    ] {
        let reply = admin.api("acme", "connect_whatsapp", &form).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.body
        );
        assert_eq!(field_of(&reply), field);
    }
    let setup = admin.api_ok("acme", "scheduling_setup", &[]).await;
    assert_eq!(
        setup["texts"]["whatsapp"],
        serde_json::json!([NUMBER_ID, "appointment_news"])
    );
    assert!(!setup.to_string().contains(WA_TOKEN));

    // No message from the patient yet: only the approved template may go.
    admin
        .api_ok("acme", "send_test_whatsapp", &[("to", PATIENT_PHONE)])
        .await;
    let worker = wa_worker(&t.db, &fake.url(), admin.addr.port());
    let now = Utc::now() + Duration::minutes(5);
    assert_eq!(drain(&worker, now).await, 1);
    let taken = fake.taken();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].number, NUMBER_ID);
    assert_eq!(taken[0].body["to"], "14155550123");
    assert_eq!(taken[0].body["type"], "template");
    assert_eq!(taken[0].body["template"]["name"], "appointment_news");
    assert_eq!(taken[0].body["template"]["language"]["code"], "en_US");
    assert_eq!(
        taken[0].body["template"]["components"][0]["parameters"][0]["text"],
        "acme clinic"
    );

    // The patient writes: the window opens, and free text goes.
    let url = whatsapp_url(&admin);
    let hello = wa::incoming(NUMBER_ID, "wamid.in1", "14155550123", "Hello");
    assert_eq!(
        FakeWhatsapp::post_event(&url, APP_SECRET, &hello).await,
        StatusCode::OK
    );
    admin
        .api_ok(
            "acme",
            "save_messaging_hours",
            &[
                ("send_from", "00:00"),
                ("send_until", "24:00"),
                ("updates", "on"),
                ("updates_whatsapp", "on"),
            ],
        )
        .await;
    let monday = next_monday();
    let free = free_starts(&day(&desk, &s, monday).await);
    booked(&desk, &s, &patient, &free[1]).await;
    let messenger = message_worker(&t.db, "m1");
    drain(&messenger, Utc::now() + Duration::minutes(3)).await;
    drain(&worker, Utc::now() + Duration::minutes(3)).await;
    let taken = fake.taken();
    assert_eq!(taken.len(), 2, "{taken:?}");
    assert_eq!(taken[1].body["type"], "text");
    let body = taken[1].body["text"]["body"].as_str().unwrap_or_default();
    assert!(
        body.starts_with("acme clinic: your appointment is booked."),
        "{body}"
    );
    assert!(
        !body.contains("Mensah") && !body.contains("09:30"),
        "{body}"
    );

    // A day after the patient's message the window has closed again.
    admin
        .api_ok("acme", "send_test_whatsapp", &[("to", PATIENT_PHONE)])
        .await;
    assert_eq!(drain(&worker, Utc::now() + Duration::hours(25)).await, 1);
    assert_eq!(fake.taken()[2].body["type"], "template");

    // Delivery reports move the booking's text forward.
    let report = wa::status(NUMBER_ID, &taken[1].id, "read");
    assert_eq!(
        FakeWhatsapp::post_event(&url, APP_SECRET, &report).await,
        StatusCode::OK
    );
    let shown = messages(&day(&desk, &s, monday).await);
    assert!(
        shown
            .iter()
            .any(|m| m.0 == "Booking details by WhatsApp" && m.1.ends_with("· read")),
        "{shown:?}"
    );

    // Without a template, nothing goes outside the window, and the reason shows.
    admin
        .api_ok(
            "acme",
            "connect_whatsapp",
            &[
                ("phone_number_id", NUMBER_ID),
                ("access_token", WA_TOKEN),
                ("template_name", ""),
                ("template_language", ""),
            ],
        )
        .await;
    admin
        .api_ok("acme", "send_test_whatsapp", &[("to", "+14155550999")])
        .await;
    drain(&worker, Utc::now() + Duration::minutes(5)).await;
    assert_eq!(fake.taken().len(), 3);
    let lines = test_lines(&admin).await;
    assert!(
        lines[0].contains("+14155550999 by WhatsApp · failed: outside WhatsApp's 24-hour window"),
        "{lines:?}"
    );
}

async fn whatsapp_events_are_believed_only_when_signed_and_reach_only_their_clinic(t: &TestDb) {
    let fake = FakeWhatsapp::start().await;
    let (admin, desk, _, patient) = whatsapp_clinic(t, &fake, true).await;
    admin
        .api_ok("acme", "send_test_whatsapp", &[("to", PATIENT_PHONE)])
        .await;
    let worker = wa_worker(&t.db, &fake.url(), admin.addr.port());
    drain(&worker, Utc::now() + Duration::minutes(5)).await;
    let sent = fake.taken()[0].clone();
    let url = whatsapp_url(&admin);
    let opt_outs = || async {
        desk.api_ok("acme", "chart", &[("patient_id", &patient)])
            .await["message_opt_outs"]
            .clone()
    };

    // Forged or unsigned: 401, nothing read.
    let stop = wa::incoming(NUMBER_ID, "wamid.stop1", "14155550123", "STOP");
    let body = serde_json::to_vec(&stop).expect("json");
    let forged = app::channels::whatsapp::signature("not-the-secret", &body);
    assert_eq!(
        FakeWhatsapp::post_raw(&url, &forged, body.clone()).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        FakeWhatsapp::post_raw(&url, "", body.clone()).await,
        StatusCode::UNAUTHORIZED
    );
    let mut tampered = body.clone();
    tampered.push(b' ');
    let signed = app::channels::whatsapp::signature(APP_SECRET, &body);
    assert_eq!(
        FakeWhatsapp::post_raw(&url, &signed, tampered).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(opt_outs().await, serde_json::json!([]));

    // Signed: STOP opts the patient out of WhatsApp, once per message id.
    assert_eq!(
        FakeWhatsapp::post_event(&url, APP_SECRET, &stop).await,
        StatusCode::OK
    );
    assert_eq!(opt_outs().await, serde_json::json!(["Whatsapp"]));
    let start = wa::incoming(NUMBER_ID, "wamid.start1", "14155550123", "Start");
    assert_eq!(
        FakeWhatsapp::post_event(&url, APP_SECRET, &start).await,
        StatusCode::OK
    );
    assert_eq!(opt_outs().await, serde_json::json!([]));
    assert_eq!(
        FakeWhatsapp::post_event(&url, APP_SECRET, &stop).await,
        StatusCode::OK
    );
    assert_eq!(
        opt_outs().await,
        serde_json::json!([]),
        "a replayed message id is handled once"
    );

    // Another clinic's number, signed by the platform, about Acme's message:
    // it reaches the other clinic only, where no such message exists.
    let other = "209876543210987";
    support::fixtures::staffed_clinic(&t.db, "globex").await;
    let globex =
        crate::self_service::staff_of(admin.addr, "globex", app::identity::Role::Admin).await;
    globex
        .api_ok(
            "globex",
            "connect_whatsapp",
            &[("phone_number_id", other), ("access_token", WA_TOKEN)],
        )
        .await;
    let taken = globex
        .api(
            "globex",
            "connect_whatsapp",
            &[("phone_number_id", NUMBER_ID), ("access_token", WA_TOKEN)],
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.body);
    let cross = wa::status(other, &sent.id, "failed");
    assert_eq!(
        FakeWhatsapp::post_event(&url, APP_SECRET, &cross).await,
        StatusCode::OK
    );
    assert!(test_lines(&admin).await[0].ends_with("accepted by the provider"));
    // Unknown numbers are dropped; malformed JSON is refused.
    let stray = wa::status("999999999", &sent.id, "failed");
    assert_eq!(
        FakeWhatsapp::post_event(&url, APP_SECRET, &stray).await,
        StatusCode::OK
    );
    let junk = b"not json".to_vec();
    let signed = app::channels::whatsapp::signature(APP_SECRET, &junk);
    assert_eq!(
        FakeWhatsapp::post_raw(&url, &signed, junk).await,
        StatusCode::BAD_REQUEST
    );
    // The real report moves it.
    let delivered = wa::status(NUMBER_ID, &sent.id, "delivered");
    assert_eq!(
        FakeWhatsapp::post_event(&url, APP_SECRET, &delivered).await,
        StatusCode::OK
    );
    assert!(test_lines(&admin).await[0].ends_with("· delivered"));

    // A refusal is recorded with Meta's code; a rate limit waits and goes later.
    fake.refuse(Some((400, 131047)));
    admin
        .api_ok("acme", "send_test_whatsapp", &[("to", PATIENT_PHONE)])
        .await;
    drain(&worker, Utc::now() + Duration::minutes(5)).await;
    let lines = test_lines(&admin).await;
    assert!(
        lines[0].contains("failed: WhatsApp refused it (131047)"),
        "{lines:?}"
    );
    fake.refuse(Some((429, 130429)));
    admin
        .api_ok("acme", "send_test_whatsapp", &[("to", PATIENT_PHONE)])
        .await;
    drain(&worker, Utc::now() + Duration::minutes(5)).await;
    assert!(test_lines(&admin).await[0].contains("waiting to send"));
    fake.refuse(None);
    drain(&worker, Utc::now() + Duration::minutes(10)).await;
    assert!(test_lines(&admin).await[0].ends_with("accepted by the provider"));
    assert_eq!(fake.taken().len(), 2);
}
