//! One front door per clinic (issue 11, findings 1 and 2): the clinic's sign-in
//! knows from the account whether it is staff, patient or both there (both: it
//! asks), says plainly when it is neither; "Find my clinic" on the platform; and
//! every form works as a plain HTML form before the page's code arrives.

use reqwest::StatusCode;

use app::identity::Role;

use crate::support;
use support::fixtures::{new_patient, patient_email, staff_email, staffed_clinic, PASSWORD};
use support::server::{self, Browser};
use support::TestDb;

on_both_backends!(
    one_sign_in_knows_whether_the_account_is_staff_patient_or_both,
    a_right_password_without_a_door_here_is_told_so_plainly,
    find_my_clinic_emails_the_clinics_and_answers_every_address_alike,
    a_form_posted_without_javascript_comes_back_as_a_page,
    the_terms_and_the_dpa_are_pages_the_operator_configures,
);

const ACME: &str = "/t/acme";

/// Makes `email` (already on acme's staff) also one of `slug`'s patients.
async fn also_a_patient(t: &TestDb, slug: &str, email: &str, mrn: &str) {
    let mut platform = t.db.begin_platform().await.expect("begin");
    let tenant = app::tenancy::db::find_by_slug(
        &mut platform,
        &app::tenancy::Slug::parse(slug).expect("slug"),
    )
    .await
    .expect("tenant")
    .expect("exists");
    let account = app::identity::db::find_account_by_email(
        &mut platform,
        &app::identity::Email::parse(email).expect("email"),
    )
    .await
    .expect("account")
    .expect("exists");
    drop(platform);
    let mut tx = t.db.begin_for(tenant.id).await.expect("begin tenant");
    let patient = app::patients::db::create(&mut tx, &new_patient(mrn, "Dana", "Dual", None))
        .await
        .expect("patient");
    app::patients::db::link_account(&mut tx, patient.id, account.id)
        .await
        .expect("link");
    tx.commit().await.expect("commit");
}

fn went_to(reply: &server::Reply) -> String {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()["Go"]
        .as_str()
        .unwrap_or_else(|| panic!("not a Go step: {}", reply.body))
        .to_owned()
}

async fn one_sign_in_knows_whether_the_account_is_staff_patient_or_both(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let doctor = staff_email(Role::Doctor, "acme");
    also_a_patient(t, "acme", &doctor, "MRN-DUAL").await;
    let addr = server::start(&t.db, |_| {}).await;

    // A patient on the clinic's sign-in goes to the portal; a nurse on the
    // portal's own sign-in goes to the staff area.
    let patient = Browser::new(addr);
    let r = patient
        .sign_in("localhost", ACME, &patient_email("acme"), PASSWORD, "staff")
        .await;
    assert_eq!(went_to(&r), "/t/acme/portal");
    assert_eq!(
        patient.get("localhost", "/t/acme/portal").await.status,
        StatusCode::OK
    );
    let nurse = Browser::new(addr);
    let r = nurse
        .sign_in(
            "localhost",
            ACME,
            &staff_email(Role::Nurse, "acme"),
            PASSWORD,
            "patient",
        )
        .await;
    assert_eq!(went_to(&r), "/t/acme/staff");

    // Someone who is both is asked, and goes through the door chosen.
    let dual = Browser::new(addr);
    let r = dual
        .sign_in("localhost", ACME, &doctor, PASSWORD, "staff")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json(), serde_json::json!("ChooseDoor"));
    // Not signed in yet.
    assert_ne!(
        dual.get("localhost", "/t/acme/portal").await.status,
        StatusCode::OK
    );
    let r = dual
        .call(
            "localhost",
            "/t/acme/api/choose_door",
            &[("door", "patient")],
        )
        .await;
    assert_eq!(went_to(&r), "/t/acme/portal");
    assert_eq!(
        dual.get("localhost", "/t/acme/portal").await.status,
        StatusCode::OK
    );
    // The choice is made once.
    let again = dual
        .call("localhost", "/t/acme/api/choose_door", &[("door", "staff")])
        .await;
    assert_eq!(
        again.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        again.body
    );
    assert!(again.body.contains("expired"), "{}", again.body);

    // Heading somewhere decides for them; the portal's own page means the portal.
    let r = Browser::new(addr)
        .call(
            "localhost",
            "/t/acme/api/sign_in",
            &[
                ("email", &doctor),
                ("password", PASSWORD),
                ("audience", "staff"),
                ("next", "/staff/users"),
            ],
        )
        .await;
    assert_eq!(went_to(&r), "/t/acme/staff/users");
    let r = Browser::new(addr)
        .sign_in("localhost", ACME, &doctor, PASSWORD, "patient")
        .await;
    assert_eq!(went_to(&r), "/t/acme/portal");

    // A patient heading for a staff page lands in the portal, not on a refusal.
    let r = Browser::new(addr)
        .call(
            "localhost",
            "/t/acme/api/sign_in",
            &[
                ("email", &patient_email("acme")),
                ("password", PASSWORD),
                ("audience", "staff"),
                ("next", "/staff/users"),
            ],
        )
        .await;
    assert_eq!(went_to(&r), "/t/acme/portal");

    // Nobody chooses a door they do not have.
    let nurse_only = Browser::new(addr);
    let r = nurse_only
        .sign_in(
            "localhost",
            ACME,
            &staff_email(Role::Nurse, "acme"),
            PASSWORD,
            "staff",
        )
        .await;
    went_to(&r);
    let r = Browser::new(addr)
        .call("localhost", "/t/acme/api/choose_door", &[("door", "staff")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}

async fn a_right_password_without_a_door_here_is_told_so_plainly(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    staffed_clinic(&t.db, "globex").await;
    let addr = server::start(&t.db, |_| {}).await;
    let b = Browser::new(addr);
    let wrong = b
        .sign_in(
            "localhost",
            ACME,
            &staff_email(Role::Owner, "globex"),
            "not the password!",
            "staff",
        )
        .await;
    let elsewhere = b
        .sign_in(
            "localhost",
            ACME,
            &staff_email(Role::Owner, "globex"),
            PASSWORD,
            "staff",
        )
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        elsewhere.body
    );
    assert_ne!(
        elsewhere.body, wrong.body,
        "a right password is told the same as a wrong one"
    );
    assert!(
        elsewhere.body.contains("no access at acme clinic"),
        "{}",
        elsewhere.body
    );
    assert!(
        elsewhere.body.contains("Find my clinic"),
        "{}",
        elsewhere.body
    );
    // Still not signed in anywhere.
    assert_ne!(
        b.get("localhost", "/t/acme/staff").await.status,
        StatusCode::OK
    );

    // The platform's sign-in says where clinic people sign in.
    let r = b
        .sign_in(
            "localhost",
            "",
            &staff_email(Role::Owner, "acme"),
            PASSWORD,
            "platform",
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("clinic's own address"), "{}", r.body);
    let wrong = b
        .sign_in(
            "localhost",
            "",
            &staff_email(Role::Owner, "acme"),
            "not the password!",
            "platform",
        )
        .await;
    assert!(
        !wrong.body.contains("clinic's own address"),
        "{}",
        wrong.body
    );
}

async fn find_my_clinic_emails_the_clinics_and_answers_every_address_alike(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    staffed_clinic(&t.db, "globex").await;
    let doctor = staff_email(Role::Doctor, "acme");
    also_a_patient(t, "globex", &doctor, "MRN-GLOBEX").await;
    let addr = server::start(&t.db, |_| {}).await;
    let b = Browser::new(addr);
    let before = app::mail::recent(&t.db, 100).await.expect("mail").len();
    for email in [doctor.as_str(), "nobody@nowhere.example"] {
        let started = std::time::Instant::now();
        let r = b
            .call("localhost", "/api/find_my_clinic", &[("email", email)])
            .await;
        assert_eq!(r.status, StatusCode::OK, "{email}: {}", r.body);
        assert!(
            started.elapsed() >= app::identity::auth::UNIFORM_ANSWER,
            "{email} answered early"
        );
    }
    let mail = app::mail::recent(&t.db, 100).await.expect("mail");
    assert_eq!(
        mail.len(),
        before + 1,
        "exactly one message: to the address with clinics"
    );
    let message = mail
        .iter()
        .find(|m| m.to_address == doctor)
        .expect("a message to the doctor");
    for expected in [
        "acme clinic: http://acme.localhost",
        "globex clinic: http://globex.localhost",
    ] {
        assert!(
            message.text_body.contains(expected),
            "{expected} missing: {}",
            message.text_body
        );
    }
    // Nothing says which clinic the address is a patient of.
    for private in ["MRN-GLOBEX", "patient", "Patient"] {
        assert!(
            !message.text_body.contains(private),
            "{private} in: {}",
            message.text_body
        );
    }
    // Not on a clinic's address; a malformed address is named.
    let r = b
        .call(
            "localhost",
            "/t/acme/api/find_my_clinic",
            &[("email", &doctor)],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = b
        .call(
            "localhost",
            "/api/find_my_clinic",
            &[("email", "not an address")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}

async fn a_form_posted_without_javascript_comes_back_as_a_page(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let b = Browser::new(addr);
    let typed = "someone.unknown@acme.example";
    let page = "/t/acme/signin?next=%2Fstaff%2Fusers";
    let r = b
        .post_plainly(
            "localhost",
            "/t/acme/api/sign_in",
            page,
            &[
                ("email", typed),
                ("password", "a wrong password"),
                ("audience", "staff"),
                ("next", "/staff/users"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), page);
    assert!(
        !r.location().contains("someone"),
        "typed text in the address"
    );

    // The page shows the message and what was typed (never the password), once.
    let shown = b.get("localhost", page).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(
        shown.body.contains("We could not sign you in"),
        "{}",
        shown.body
    );
    assert!(
        shown.body.contains(&format!("value=\"{typed}\"")),
        "the email typed is not shown again"
    );
    assert!(
        !shown.body.contains("a wrong password"),
        "the password came back"
    );
    let again = b.get("localhost", page).await;
    assert!(
        !again.body.contains("We could not sign you in"),
        "the message stayed"
    );

    // The form's own address is the platform's `/api/...`: posted from a clinic
    // reached by path, it goes to that clinic.
    let r = b
        .post_plainly(
            "localhost",
            "/api/sign_in",
            page,
            &[
                ("email", typed),
                ("password", "a wrong password"),
                ("audience", "staff"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), page);
    let shown = b.get("localhost", page).await;
    assert!(
        shown.body.contains("We could not sign you in"),
        "{}",
        shown.body
    );

    // A page's text is escaped like any other.
    let hostile = "<script>alert(1)</script>@x.example";
    b.post_plainly(
        "localhost",
        "/t/acme/api/sign_in",
        page,
        &[("email", hostile), ("password", "x"), ("audience", "staff")],
    )
    .await;
    let shown = b.get("localhost", page).await;
    assert!(
        !shown.body.contains("<script>alert(1)"),
        "typed markup reached the page raw"
    );

    // Success goes where the browser's code would go.
    let r = b
        .post_plainly(
            "localhost",
            "/t/acme/api/sign_in",
            page,
            &[
                ("email", &staff_email(Role::Owner, "acme")),
                ("password", PASSWORD),
                ("audience", "staff"),
                ("next", "/staff/users"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/t/acme/staff/users");
    assert_eq!(
        b.get("localhost", "/t/acme/staff/users").await.status,
        StatusCode::OK
    );

    // A staff form: refused (an existing member), then sent.
    let users = "/t/acme/staff/users";
    let r = b
        .post_plainly(
            "localhost",
            "/t/acme/api/invite_staff",
            users,
            &[
                ("email", &staff_email(Role::Nurse, "acme")),
                ("role", "doctor"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), users);
    let shown = b.get("localhost", users).await;
    assert!(
        shown
            .body
            .contains(&format!("value=\"{}\"", staff_email(Role::Nurse, "acme"))),
        "typed email not kept"
    );
    assert!(
        shown.body.contains("data-testid=\"form-error\"")
            || shown.body.contains("data-testid=\"error-email\""),
        "no message"
    );
    let r = b
        .post_plainly(
            "localhost",
            "/t/acme/api/invite_staff",
            users,
            &[("email", "new.colleague@acme.example"), ("role", "nurse")],
        )
        .await;
    assert_eq!(r.location(), users);
    let shown = b.get("localhost", users).await;
    assert!(shown.body.contains("Invitation sent."), "no confirmation");

    // Refusals by the access rules come back as pages too, not JSON.
    let stranger = Browser::new(addr);
    let r = stranger
        .post_plainly(
            "localhost",
            "/t/acme/api/invite_staff",
            users,
            &[("email", "x@acme.example"), ("role", "nurse")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Only this site's pages are gone back to.
    let r = stranger
        .client
        .post(format!("http://{addr}/t/acme/api/sign_in"))
        .header("host", format!("localhost:{}", addr.port()))
        .header("accept", "text/html")
        .header("referer", "http://evil.example/phish")
        .form(&[
            ("email", "a@b.example"),
            ("password", "x"),
            ("audience", "staff"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = r.headers()["location"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        location.starts_with('/') && !location.contains("evil"),
        "{location}"
    );
}

async fn the_terms_and_the_dpa_are_pages_the_operator_configures(t: &TestDb) {
    let addr = server::start(&t.db, |c| {
        c.terms_text = "# Harbor Health terms\n\nNo <script>alert(1)</script> here.".into();
    })
    .await;
    let b = Browser::new(addr);
    let terms = b.get("localhost", "/legal/terms").await;
    assert_eq!(terms.status, StatusCode::OK);
    assert!(
        terms.body.contains("<title>Harbor Health terms"),
        "{}",
        terms.body
    );
    assert!(
        terms.body.contains("No &lt;script&gt;"),
        "not escaped: {}",
        terms.body
    );
    let dpa = b.get("localhost", "/legal/dpa").await;
    assert_eq!(dpa.status, StatusCode::OK);
    assert!(
        dpa.body.contains("Data processing agreement"),
        "{}",
        dpa.body
    );
    assert_eq!(
        b.get("localhost", "/legal/other").await.status,
        StatusCode::NOT_FOUND
    );
    // Sign-up links both where the clinic accepts them.
    let signup = b.get("localhost", "/signup").await;
    for href in ["href=\"/legal/terms\"", "href=\"/legal/dpa\""] {
        assert!(signup.body.contains(href), "sign-up does not link {href}");
    }
}
