//! Layers depend downward only. The bottom of the house (shared identifiers and the
//! data layer) may not reach into any domain; a domain added later is covered
//! without touching this test, since everything but the bottom layer counts as
//! "above".

use std::path::{Path, PathBuf};

/// Modules of `app/src` that form the bottom layer, and may use only each other.
const BOTTOM: &[&str] = &["db", "ids"];

fn app_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../app/src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `crate::x` paths a source file names, by their first segment `x`.
fn crate_modules_named(source: &str) -> Vec<String> {
    source
        .match_indices("crate::")
        .map(|(i, _)| {
            source[i + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|m| !m.is_empty())
        .collect()
}

#[test]
fn the_data_layer_and_shared_ids_use_no_domain() {
    let src = app_src();
    let mut files = Vec::new();
    rust_files(&src.join("db"), &mut files);
    files.push(src.join("ids.rs"));
    let mut violations = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).expect("read source");
        for module in crate_modules_named(&source) {
            if !BOTTOM.contains(&module.as_str()) {
                violations.push(format!("{} uses crate::{module}", file.display()));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "the bottom layer reaches up into a domain:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_check_sees_a_violation() {
    let named = crate_modules_named("use crate::tenancy::TenantId;\nuse crate::db::Tx;");
    assert_eq!(named, vec!["tenancy".to_owned(), "db".to_owned()]);
}

/// leptos_meta writes a `<Title>`'s text into the server-rendered head unescaped;
/// every page sets its title through `shell::PageTitle`, which escapes it. A page
/// that used `leptos_meta`'s components directly would bring the hole back.
#[test]
fn pages_set_their_title_only_through_the_escaping_wrapper() {
    let src = app_src();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let wrapper = src.join("shell").join("mod.rs");
    let mut violations = Vec::new();
    for file in files.iter().filter(|f| **f != wrapper) {
        let source = std::fs::read_to_string(file).expect("read source");
        for needle in [
            "<Title",
            "leptos_meta::Title",
            "<Meta ",
            "leptos_meta::Meta",
        ] {
            if source.contains(needle) {
                violations.push(format!("{} uses {needle}", file.display()));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "set page titles with crate::shell::PageTitle:\n{}",
        violations.join("\n")
    );
}

/// Every audit action the code records has a sentence on the audit page (the
/// page shows sentences, not codes). Actions are the `"area.event"` literals in
/// the sources; permission codes and platform-only events are told apart here.
#[test]
fn every_recorded_audit_action_has_words() {
    // kb.json: the medication knowledge base file, named in `include_str!`;
    // hub.*: the parameters of Meta's webhook handshake.
    const NOT_ACTIONS: &[&str] = &[
        "t.slug",
        "tenants.manage",
        "plans.manage",
        "kb.json",
        // The calendar entry attached to booking emails.
        "appointment.ics",
        "hub.mode",
        "hub.verify_token",
        "hub.challenge",
        // Razorpay's event names.
        "payment_link.paid",
        "payment_link.expired",
        "payment_link.cancelled",
        "subscription.authenticated",
        "subscription.activated",
        "subscription.charged",
        "subscription.pending",
        "subscription.halted",
        "subscription.cancelled",
        "subscription.completed",
        // Stripe Billing's event names.
        "invoice.paid",
        "invoice.payment_failed",
    ];
    const PLATFORM_ONLY: &[&str] = &[
        "plan.retired",
        "plan.restored",
        "plan.created",
        "plan.updated",
    ];
    let mut files = Vec::new();
    rust_files(&app_src(), &mut files);
    // The server records one action itself (refused access).
    files.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/auth.rs"));
    let mut missing = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).expect("read source");
        for literal in source.split('"').skip(1).step_by(2) {
            let Some((area, event)) = literal.split_once('.') else {
                continue;
            };
            let word =
                |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '_');
            let permission = app::identity::permissions::ALL
                .iter()
                .any(|p| p.as_str() == literal);
            if !word(area) || !word(event) || permission || NOT_ACTIONS.contains(&literal) {
                continue;
            }
            if PLATFORM_ONLY.contains(&literal)
                || app::identity::describe_action(literal) != literal
            {
                continue;
            }
            missing.push(format!("{}: {literal}", file.display()));
        }
    }
    assert!(
        missing.is_empty(),
        "audit actions without words in identity::AUDIT_ACTIONS:\n{}",
        missing.join("\n")
    );
}
