//! Documents on the record (issue 12): accepted by content and size only, stored
//! under the clinic's own prefix and counted against its plan, reviewed before the
//! patient sees them, downloaded only through the authorized route (an attachment,
//! audited), never deleted and never swapped behind the application's back.

use reqwest::StatusCode;

use app::identity::Role;

use crate::chart::{id_literal, raw_pool};
use crate::self_service::{field_of, patient_of, staff_of};
use crate::support;
use support::fixtures::staffed_clinic;
use support::server::{self, Browser, Reply};
use support::TestDb;

on_both_backends!(
    a_report_is_filed_reviewed_and_reaches_the_patient_only_when_approved,
    uploads_are_checked_by_content_size_and_clinic,
    downloads_are_for_the_clinics_people_and_the_patient_only,
    a_filed_document_cannot_be_swapped_or_deleted_behind_the_application,
);

/// A small but real PDF.
fn pdf(text: &str) -> Vec<u8> {
    format!(
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
         2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n% {text}\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )
    .into_bytes()
}

async fn upload(b: &Browser, fields: &[(&str, &str)], file: Option<(Vec<u8>, &str)>) -> Reply {
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    if let Some((bytes, name)) = file {
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(name.to_owned())
            .mime_str("application/octet-stream")
            .expect("mime");
        form = form.part("file", part);
    }
    let res = b
        .client
        .post(format!("http://{}/t/acme/api/upload_document", b.addr))
        .header("host", format!("localhost:{}", b.addr.port()))
        .header("origin", format!("http://localhost:{}", b.addr.port()))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let status = res.status();
    let headers = res.headers().clone();
    Reply {
        status,
        headers,
        body: res.text().await.expect("body"),
    }
}

/// The download's status, headers and bytes.
async fn download(b: &Browser, id: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let res = b
        .client
        .get(format!("http://{}/t/acme/documents/{id}/download", b.addr))
        .header("host", format!("localhost:{}", b.addr.port()))
        .send()
        .await
        .expect("download");
    let status = res.status();
    let headers = res.headers().clone();
    (status, headers, res.bytes().await.expect("bytes").to_vec())
}

/// The portal patient of the fixture clinic.
async fn portal_patient(staff: &Browser) -> String {
    let found = staff
        .call(
            "localhost",
            "/t/acme/api/list_patients",
            &[("query", "MRN-1")],
        )
        .await
        .json();
    found["items"][0]["id"]
        .as_str()
        .expect("the portal patient")
        .to_owned()
}

async fn documents_on_chart(b: &Browser, patient: &str) -> Vec<serde_json::Value> {
    let r = b
        .call("localhost", "/t/acme/api/chart", &[("patient_id", patient)])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()["documents"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn review(b: &Browser, patient: &str, doc: &str, decision: &str) -> Reply {
    b.call(
        "localhost",
        "/t/acme/api/review_document",
        &[
            ("patient_id", patient),
            ("document_id", doc),
            ("decision", decision),
        ],
    )
    .await
}

async fn a_report_is_filed_reviewed_and_reaches_the_patient_only_when_approved(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let p = portal_patient(&desk).await;
    let bytes = pdf("haemoglobin 13.9 g/dL");
    let filed = upload(
        &desk,
        &[
            ("patient_id", &p),
            ("kind", "lab_report"),
            ("title", "Full blood count"),
            ("report_date", "2026-11-02"),
        ],
        Some((bytes.clone(), "cbc.pdf")),
    )
    .await;
    assert_eq!(filed.status, StatusCode::OK, "{}", filed.body);
    let id = filed.json().as_str().expect("the new id").to_owned();

    let listed = documents_on_chart(&doctor, &p).await;
    assert_eq!(listed.len(), 1);
    let d = &listed[0];
    assert_eq!(
        (
            d["title"].as_str(),
            d["status"].as_str(),
            d["kind"].as_str()
        ),
        (
            Some("Full blood count"),
            Some("pending"),
            Some("lab_report")
        )
    );
    assert_eq!(d["size_bytes"].as_i64(), Some(bytes.len() as i64));
    let expected_hash = {
        use sha2::Digest;
        data_encoding::HEXLOWER.encode(&sha2::Sha256::digest(&bytes))
    };
    assert_eq!(d["sha256"].as_str(), Some(expected_hash.as_str()));

    // Not the patient's until approved.
    let patient = patient_of(addr, "acme").await;
    let own = patient
        .call("localhost", "/t/acme/api/my_chart", &[])
        .await
        .json();
    assert_eq!(own["documents"].as_array().map(Vec::len), Some(0), "{own}");
    assert_eq!(download(&patient, &id).await.0, StatusCode::NOT_FOUND);

    // The front desk files; clinicians review.
    assert_eq!(
        review(&desk, &p, &id, "approved").await.status,
        StatusCode::FORBIDDEN
    );
    let reviewed = review(&doctor, &p, &id, "reviewed").await;
    assert_eq!(reviewed.status, StatusCode::OK, "{}", reviewed.body);
    assert_eq!(
        review(&doctor, &p, &id, "reviewed").await.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reviewing twice is refused"
    );
    let nurse = staff_of(addr, "acme", Role::Nurse).await;
    let approved = review(&nurse, &p, &id, "approved").await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    let d = &documents_on_chart(&doctor, &p).await[0];
    assert_eq!(d["status"].as_str(), Some("approved"));
    assert!(
        d["reviewed_by"].as_str().is_some() && d["approved_by"].as_str().is_some(),
        "{d}"
    );
    assert_ne!(
        d["reviewed_by"], d["approved_by"],
        "each decision names its own clinician"
    );

    // Now in the portal, and downloadable by the patient: the same bytes.
    let own = patient
        .call("localhost", "/t/acme/api/my_chart", &[])
        .await
        .json();
    let docs = own["documents"].as_array().cloned().unwrap_or_default();
    assert_eq!(docs.len(), 1, "{own}");
    assert_eq!(docs[0][0]["title"].as_str(), Some("Full blood count"));
    assert_eq!(
        docs[0][1].as_str(),
        Some(format!("/t/acme/documents/{id}/download").as_str())
    );
    let (status, headers, got) = download(&patient, &id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, bytes);
    assert_eq!(headers["content-type"], "application/pdf");

    // Each step is in the patient's access log, the downloads included.
    let log = patient
        .call("localhost", "/t/acme/api/my_access_log", &[])
        .await
        .json();
    let what: Vec<&str> = log
        .as_array()
        .expect("log")
        .iter()
        .filter_map(|e| e["what"].as_str())
        .collect();
    for expected in [
        "Filed a document on a chart",
        "Reviewed a document",
        "Approved a document for the patient",
    ] {
        assert!(what.contains(&expected), "{expected}: {what:?}");
    }

    // Entered in error: hidden from the patient again, kept on the chart.
    let wrong = review(&doctor, &p, &id, "entered_in_error").await;
    assert_eq!(wrong.status, StatusCode::OK, "{}", wrong.body);
    let own = patient
        .call("localhost", "/t/acme/api/my_chart", &[])
        .await
        .json();
    assert_eq!(own["documents"].as_array().map(Vec::len), Some(0));
    assert_eq!(download(&patient, &id).await.0, StatusCode::NOT_FOUND);
    let d = &documents_on_chart(&doctor, &p).await[0];
    assert_eq!(d["status"].as_str(), Some("entered-in-error"));
    assert_eq!(
        review(&doctor, &p, &id, "approved").await.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an entry in error is final"
    );
}

async fn uploads_are_checked_by_content_size_and_clinic(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    staffed_clinic(&t.db, "other").await;
    let addr = server::start(&t.db, |_| {}).await;
    let desk = staff_of(addr, "acme", Role::Receptionist).await;
    let p = portal_patient(&desk).await;
    let base = |kind: &'static str| vec![("patient_id", p.clone()), ("kind", kind.to_owned())];
    let send = |fields: Vec<(&'static str, String)>, file: Option<(Vec<u8>, &'static str)>| {
        let desk = desk.clone();
        async move {
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            upload(&desk, &pairs, file).await
        }
    };

    // Each accepted type, told by its bytes whatever the name says.
    let mut docx = b"PK\x03\x04\x14\0\0\0".to_vec();
    docx.extend_from_slice(b"[Content_Types].xml word/document.xml");
    for (bytes, name) in [
        (
            vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F'],
            "scan.bin",
        ),
        (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(), "xray.png"),
        (
            vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0],
            "letter.doc",
        ),
        (docx, "letter.docx"),
    ] {
        let r = send(base("other"), Some((bytes, name))).await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.body);
    }

    // Refusals name the field and store nothing.
    let too_big = {
        let mut b = pdf("big");
        b.resize(app::documents::MAX_BYTES + 1, b' ');
        b
    };
    for (fields, file, field) in [
        (
            base("lab_report"),
            Some((b"MZ\x90\0\x03".to_vec(), "report.pdf")),
            "file",
        ),
        (
            base("lab_report"),
            Some((b"<html><script>alert(1)</script>".to_vec(), "r.pdf")),
            "file",
        ),
        (base("lab_report"), Some((Vec::new(), "empty.pdf")), "file"),
        (base("lab_report"), None, "file"),
        (base("lab_report"), Some((too_big, "huge.pdf")), "file"),
        (base("x-ray"), Some((pdf("k"), "k.pdf")), "kind"),
        (
            [
                base("lab_report"),
                vec![("report_date", "2999-01-01".into())],
            ]
            .concat(),
            Some((pdf("d"), "d.pdf")),
            "report_date",
        ),
        (
            [base("lab_report"), vec![("title", "<b>x</b>".into())]].concat(),
            Some((pdf("t"), "t.pdf")),
            "title",
        ),
    ] {
        let r = send(fields, file).await;
        assert_eq!(
            (r.status, field_of(&r)),
            (StatusCode::UNPROCESSABLE_ENTITY, field.to_owned()),
            "{}",
            r.body
        );
    }
    assert_eq!(documents_on_chart(&desk, &p).await.len(), 4);

    // Another clinic's patient, a made-up id: not found.
    let theirs = staff_of(addr, "other", Role::Receptionist).await;
    let their_patient = {
        let found = theirs
            .call(
                "localhost",
                "/t/other/api/list_patients",
                &[("query", "MRN-1")],
            )
            .await
            .json();
        found["items"][0]["id"]
            .as_str()
            .expect("their patient")
            .to_owned()
    };
    for patient in [
        their_patient.as_str(),
        "0190aaaa-0000-7000-8000-000000000000",
        "nonsense",
    ] {
        let r = upload(
            &desk,
            &[("patient_id", patient), ("kind", "other")],
            Some((pdf("x"), "x.pdf")),
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{patient}: {}", r.body);
    }

    // Not a multipart body at all: a clear refusal, not a 500.
    let plain = desk
        .call(
            "localhost",
            "/t/acme/api/upload_document",
            &[("patient_id", &p)],
        )
        .await;
    assert_eq!(
        plain.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        plain.body
    );

    // Who may file: not billing (no patient updates).
    let billing = staff_of(addr, "acme", Role::Billing).await;
    let r = upload(
        &billing,
        &[("patient_id", &p), ("kind", "other")],
        Some((pdf("b"), "b.pdf")),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // The files count against the clinic's storage.
    let raw = raw_pool(t).await;
    let stored = raw
        .count("SELECT count(*) FROM tenant_files WHERE purpose = 'document'")
        .await;
    assert_eq!(stored, 4);

    // A page posted without JavaScript comes back to the chart, not as JSON.
    let origin = format!("http://localhost:{}", addr.port());
    let form = reqwest::multipart::Form::new()
        .text("patient_id", p.clone())
        .text("kind", "referral_letter")
        .part(
            "file",
            reqwest::multipart::Part::bytes(pdf("referral")).file_name("referral.pdf"),
        );
    let res = desk
        .client
        .post(format!("http://{addr}/t/acme/api/upload_document"))
        .header("host", format!("localhost:{}", addr.port()))
        .header("origin", &origin)
        .header("accept", "text/html")
        .header("referer", format!("{origin}/t/acme/staff/patients/{p}"))
        .multipart(form)
        .send()
        .await
        .expect("plain upload");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()["location"].to_str().unwrap_or_default(),
        format!("/t/acme/staff/patients/{p}")
    );
    assert_eq!(documents_on_chart(&desk, &p).await.len(), 5);
}

async fn downloads_are_for_the_clinics_people_and_the_patient_only(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    staffed_clinic(&t.db, "other").await;
    let addr = server::start(&t.db, |_| {}).await;
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let p = portal_patient(&doctor).await;
    let bytes = pdf("imaging");
    let filed = upload(
        &doctor,
        &[
            ("patient_id", &p),
            ("kind", "imaging"),
            ("title", "Chest X-ray"),
        ],
        Some((bytes.clone(), "chest \"x-ray\".pdf")),
    )
    .await;
    assert_eq!(filed.status, StatusCode::OK, "{}", filed.body);
    let id = filed.json().as_str().expect("id").to_owned();

    // Staff: an attachment, never cached, never sniffed, under a safe name.
    let (status, headers, got) = download(&doctor, &id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, bytes);
    let disposition = headers["content-disposition"].to_str().unwrap_or_default();
    assert_eq!(disposition, "attachment; filename=\"chest _x-ray_.pdf\"");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-content-type-options"], "nosniff");

    // Billing reads patients too (to invoice them), so it may download; every
    // download is audited with the reader's role.
    let billing = staff_of(addr, "acme", Role::Billing).await;
    assert_eq!(download(&billing, &id).await.0, StatusCode::OK);

    // Signed out: to the sign-in page, coming back here afterwards.
    let nobody = Browser::new(addr);
    let (status, headers, _) = download(&nobody, &id).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = headers["location"].to_str().unwrap_or_default();
    assert!(
        location.starts_with("/t/acme/signin?next=/documents/"),
        "{location}"
    );

    // Another clinic's staff, at their clinic or this one: nothing.
    let theirs = staff_of(addr, "other", Role::Owner).await;
    assert_eq!(
        download(&theirs, &id).await.0,
        StatusCode::SEE_OTHER,
        "their session does not count here"
    );
    let res = theirs
        .client
        .get(format!("http://{}/t/other/documents/{id}/download", addr))
        .header("host", format!("localhost:{}", addr.port()))
        .send()
        .await
        .expect("download");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // A made-up or malformed id.
    for bad in ["0190aaaa-0000-7000-8000-000000000000", "..%2F..%2Fetc", "x"] {
        assert_eq!(
            download(&doctor, bad).await.0,
            StatusCode::NOT_FOUND,
            "{bad}"
        );
    }

    // The downloads are in the trail, with who and in what role.
    let raw = raw_pool(t).await;
    let downloads = raw
        .count("SELECT count(*) FROM audit_events WHERE action = 'document.downloaded'")
        .await;
    assert_eq!(downloads, 2);
}

async fn a_filed_document_cannot_be_swapped_or_deleted_behind_the_application(t: &TestDb) {
    staffed_clinic(&t.db, "acme").await;
    let addr = server::start(&t.db, |_| {}).await;
    let doctor = staff_of(addr, "acme", Role::Doctor).await;
    let p = portal_patient(&doctor).await;
    let filed = upload(
        &doctor,
        &[("patient_id", &p), ("kind", "lab_report")],
        Some((pdf("lipids"), "lipids.pdf")),
    )
    .await;
    assert_eq!(filed.status, StatusCode::OK, "{}", filed.body);
    let id = filed.json().as_str().expect("id").to_owned();
    let doc = id_literal(t, &id);

    // As the application's own database role, around the application.
    let raw = raw_pool(t).await;
    for sql in [
        format!(
            "UPDATE patient_documents SET sha256 = '{}' WHERE id = {doc}",
            "0".repeat(64)
        ),
        format!("UPDATE patient_documents SET size_bytes = 1 WHERE id = {doc}"),
        format!("UPDATE patient_documents SET object_key = 'elsewhere' WHERE id = {doc}"),
        format!("DELETE FROM patient_documents WHERE id = {doc}"),
    ] {
        assert!(raw.execute(&sql).await.is_err(), "refused: {sql}");
    }
    // Review may still move it along (the columns that are not the file).
    let moved = raw
        .execute(&format!(
            "UPDATE patient_documents SET title = 'Lipid panel' WHERE id = {doc}"
        ))
        .await;
    assert_eq!(moved.ok(), Some(1));
    let d = &documents_on_chart(&doctor, &p).await[0];
    assert_eq!(d["title"].as_str(), Some("Lipid panel"));

    // Once entered in error, nothing about the row changes.
    let wrong = review(&doctor, &p, &id, "entered_in_error").await;
    assert_eq!(wrong.status, StatusCode::OK, "{}", wrong.body);
    for sql in [
        format!("UPDATE patient_documents SET status = 'approved' WHERE id = {doc}"),
        format!("UPDATE patient_documents SET title = 'x' WHERE id = {doc}"),
    ] {
        assert!(raw.execute(&sql).await.is_err(), "refused: {sql}");
    }
}
