//! Staff and portal access you can see (issue 11, finding 4): pending staff
//! invitations listed, sent again and withdrawn (giving their seat back); nobody
//! invited twice or invited while already on the staff; deactivation undone;
//! each patient's portal status, and one portal invitation at a time.

use reqwest::StatusCode;

use app::identity::Role;

use crate::self_service::{field_of, member_id, owner_of, staff_of};
use crate::support;
use support::fixtures::{staff_email, staffed_clinic, PASSWORD};
use support::server::{self, Browser};
use support::TestDb;

on_both_backends!(
    pending_invitations_are_listed_sent_again_and_withdrawn,
    deactivated_staff_can_be_reactivated,
    each_patient_shows_their_portal_status,
);

async fn last_token_for(t: &TestDb, email: &str) -> String {
    let mail = app::mail::recent(&t.db, 50)
        .await
        .expect("mail")
        .into_iter()
        .find(|m| m.to_address == email)
        .unwrap_or_else(|| panic!("no mail to {email}"));
    crate::self_service::token_in(&mail.text_body, "/invite?token=")
}

async fn pending(owner: &Browser) -> Vec<serde_json::Value> {
    let r = owner
        .call("localhost", "/t/acme/api/list_staff_invitations", &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json().as_array().cloned().unwrap_or_default()
}

async fn seats_held_by_invitations(owner: &Browser) -> i64 {
    let usage = owner.call("localhost", "/t/acme/api/plan_usage", &[]).await;
    usage.json()["usage"]["pending_invitations"]
        .as_i64()
        .unwrap_or_else(|| panic!("no pending_invitations in {}", usage.body))
}

async fn pending_invitations_are_listed_sent_again_and_withdrawn(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let owner = owner_of(addr, "acme").await;
    let invite = |email: &'static str| {
        let owner = &owner;
        async move {
            owner
                .call(
                    "localhost",
                    "/t/acme/api/invite_staff",
                    &[("email", email), ("role", "nurse")],
                )
                .await
        }
    };
    assert_eq!(pending(&owner).await.len(), 0);
    let first = invite("new.nurse@acme.example").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    // Nobody is invited twice, nor invited while already on the staff.
    let again = invite("new.nurse@acme.example").await;
    assert_eq!(field_of(&again), "email", "{}", again.body);
    assert!(again.body.contains("already invited"), "{}", again.body);
    let doctor = staff_email(Role::Doctor, "acme");
    let member = owner
        .call(
            "localhost",
            "/t/acme/api/invite_staff",
            &[("email", &doctor), ("role", "nurse")],
        )
        .await;
    assert_eq!(field_of(&member), "email", "{}", member.body);
    assert!(
        member.body.contains("already on the staff"),
        "{}",
        member.body
    );

    let list = pending(&owner).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["email"], "new.nurse@acme.example");
    assert_eq!(list[0]["role"], "nurse");
    let id = list[0]["id"].as_str().expect("id").to_owned();
    assert_eq!(seats_held_by_invitations(&owner).await, 1);

    // Sent again: a new link; the old one no longer works.
    let old = last_token_for(t, "new.nurse@acme.example").await;
    let resent = owner
        .call(
            "localhost",
            "/t/acme/api/manage_staff_invitation",
            &[("id", &id), ("action", "resend")],
        )
        .await;
    assert_eq!(resent.status, StatusCode::OK, "{}", resent.body);
    let new = last_token_for(t, "new.nurse@acme.example").await;
    assert_ne!(old, new);
    let details = |token: String| async move {
        Browser::new(addr)
            .call(
                "localhost",
                "/t/acme/api/invitation_details",
                &[("token", &token)],
            )
            .await
            .status
    };
    assert_eq!(details(old).await, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(details(new.clone()).await, StatusCode::OK);

    // Withdrawn: gone from the list, its link dead, its seat back.
    let revoked = owner
        .call(
            "localhost",
            "/t/acme/api/manage_staff_invitation",
            &[("id", &id), ("action", "withdraw")],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    assert_eq!(pending(&owner).await.len(), 0);
    assert_eq!(details(new.clone()).await, StatusCode::UNPROCESSABLE_ENTITY);
    let accept = Browser::new(addr)
        .call(
            "localhost",
            "/t/acme/api/accept_invitation",
            &[
                ("token", &new),
                ("display_name", "New Nurse"),
                ("password", "a long enough passphrase"),
            ],
        )
        .await;
    assert_eq!(
        accept.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        accept.body
    );
    assert_eq!(seats_held_by_invitations(&owner).await, 0);
    let twice = owner
        .call(
            "localhost",
            "/t/acme/api/manage_staff_invitation",
            &[("id", &id), ("action", "withdraw")],
        )
        .await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Withdrawn, the address can be invited afresh.
    assert_eq!(
        invite("new.nurse@acme.example").await.status,
        StatusCode::OK
    );

    // A nurse may not see or touch the list.
    let nurse = staff_of(addr, "acme", Role::Nurse).await;
    let denied = nurse
        .call("localhost", "/t/acme/api/list_staff_invitations", &[])
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
}

async fn deactivated_staff_can_be_reactivated(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let owner = owner_of(addr, "acme").await;
    let nurse_email = staff_email(Role::Nurse, "acme");
    let id = member_id(&owner, "acme", &nurse_email).await;
    let off = owner
        .call(
            "localhost",
            "/t/acme/api/set_staff_active",
            &[("member_id", &id), ("active", "false")],
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    let refused = Browser::new(addr)
        .sign_in("localhost", "/t/acme", &nurse_email, PASSWORD, "staff")
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Inviting them again says what to do instead.
    let invite = owner
        .call(
            "localhost",
            "/t/acme/api/invite_staff",
            &[("email", &nurse_email), ("role", "nurse")],
        )
        .await;
    assert!(invite.body.contains("reactivate"), "{}", invite.body);
    let on = owner
        .call(
            "localhost",
            "/t/acme/api/set_staff_active",
            &[("member_id", &id), ("active", "true")],
        )
        .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    let back = Browser::new(addr)
        .sign_in("localhost", "/t/acme", &nurse_email, PASSWORD, "staff")
        .await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    let audit = owner
        .call(
            "localhost",
            "/t/acme/api/list_audit",
            &[("action", "member.")],
        )
        .await;
    assert!(audit.body.contains("member.reactivated"), "{}", audit.body);
}

async fn each_patient_shows_their_portal_status(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let mut tx =
        t.db.begin_for(crate::self_service::tenant(t, "acme").await.id)
            .await
            .expect("begin");
    app::patients::db::create(
        &mut tx,
        &support::fixtures::new_patient("MRN-2", "Noor", "Nadeem", None),
    )
    .await
    .expect("patient");
    tx.commit().await.expect("commit");
    let addr = server::start(&t.db, |_| {}).await;
    let owner = owner_of(addr, "acme").await;
    let status_of = |mrn: &'static str| {
        let owner = &owner;
        async move {
            let list = owner
                .call("localhost", "/t/acme/api/list_patients", &[])
                .await;
            let row = list.json()["items"]
                .as_array()
                .expect("patients")
                .iter()
                .find(|p| p["mrn"] == mrn)
                .cloned()
                .unwrap_or_else(|| panic!("no {mrn} in {}", list.body));
            (
                row["portal"].as_str().unwrap_or_default().to_owned(),
                row["id"].as_str().unwrap_or_default().to_owned(),
            )
        }
    };
    // The fixture's MRN-1 already has a portal account; MRN-2 has none.
    assert_eq!(status_of("MRN-1").await.0, "Active");
    let (status, noor) = status_of("MRN-2").await;
    assert_eq!(status, "None");
    let active = owner
        .call(
            "localhost",
            "/t/acme/api/invite_patient",
            &[
                ("patient_id", &status_of("MRN-1").await.1),
                ("email", "x@acme.example"),
            ],
        )
        .await;
    assert_eq!(field_of(&active), "email", "{}", active.body);
    let invite = |email: &'static str| {
        let (owner, noor) = (&owner, noor.clone());
        async move {
            owner
                .call(
                    "localhost",
                    "/t/acme/api/invite_patient",
                    &[("patient_id", noor.as_str()), ("email", email)],
                )
                .await
        }
    };
    assert_eq!(invite("noor@old.example").await.status, StatusCode::OK);
    assert_eq!(status_of("MRN-2").await.0, "Invited");
    let first = last_token_for(t, "noor@old.example").await;
    // Inviting again replaces the earlier link.
    assert_eq!(invite("noor@new.example").await.status, StatusCode::OK);
    let second = last_token_for(t, "noor@new.example").await;
    let accept = |token: String| async move {
        Browser::new(addr)
            .call(
                "localhost",
                "/t/acme/api/accept_invitation",
                &[
                    ("token", token.as_str()),
                    ("display_name", "Noor Nadeem"),
                    ("password", "a long enough passphrase"),
                ],
            )
            .await
            .status
    };
    assert_eq!(accept(first).await, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(accept(second).await, StatusCode::OK);
    assert_eq!(status_of("MRN-2").await.0, "Active");
}
