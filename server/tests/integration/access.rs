//! The permission-matrix test: every server function and every protected page,
//! called by anonymous visitors, by every staff role, by a patient, by a member of
//! another tenant and by a platform operator, answers exactly as the access table
//! and the permission matrix say. A server function that is not in the table
//! fails here until it is given a rule.

use crate::support;

use reqwest::StatusCode;

use app::identity::access::{self, Decision, Rule};
use app::identity::permissions::PlatformRole;
use app::identity::Role;
use support::fixtures::{self, staff_email, staffed_clinic, PASSWORD};
use support::server::{self, Browser, Reply};
use support::TestDb;

on_both_backends!(every_function_and_page_answers_as_the_access_table_says);

#[derive(Debug, Clone, Copy)]
enum Who {
    Anonymous,
    Staff(Role),
    Patient,
    /// Staff of clinic B, presenting B's session on clinic A.
    OtherTenantStaff,
    Operator,
}

/// What the matrix says `who` gets on clinic A's site.
fn expected_on_tenant(rule: Rule, who: Who) -> Decision {
    match who {
        // Sessions of other sites do not count here: these are strangers.
        Who::Anonymous | Who::OtherTenantStaff | Who::Operator => {
            if rule == Rule::Public {
                Decision::Allow
            } else {
                Decision::SignIn
            }
        }
        Who::Staff(role) => match rule {
            Rule::Public | Rule::SignedIn | Rule::Staff(None) => Decision::Allow,
            Rule::Staff(Some(permission)) if role.can(permission) => Decision::Allow,
            _ => Decision::Deny,
        },
        Who::Patient => match rule {
            Rule::Public | Rule::SignedIn | Rule::Patient => Decision::Allow,
            _ => Decision::Deny,
        },
    }
}

fn expected_on_platform(rule: Rule, who: Who) -> Decision {
    match (who, rule) {
        (_, Rule::Public) => Decision::Allow,
        (Who::Operator, Rule::SignedIn | Rule::Platform(None)) => Decision::Allow,
        // The test's operator is a super admin, who holds every platform permission.
        (Who::Operator, Rule::Platform(Some(p))) if PlatformRole::SuperAdmin.can(p) => {
            Decision::Allow
        }
        (Who::Operator, _) => Decision::Deny,
        _ => Decision::SignIn,
    }
}

fn decision_of(reply: &Reply) -> Decision {
    match reply.status {
        StatusCode::UNAUTHORIZED | StatusCode::SEE_OTHER => Decision::SignIn,
        StatusCode::FORBIDDEN => Decision::Deny,
        _ => Decision::Allow,
    }
}

/// Every registered server function, with its table rule. Sign-out functions go
/// last, as they end the caller's session.
fn server_functions() -> Vec<(String, Rule)> {
    let mut registered: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_owned())
        .collect();
    registered.sort_by_key(|p| (p.contains("sign_out"), p.clone()));
    registered.dedup();
    assert!(registered.len() >= 20, "server functions: {registered:?}");
    for (name, _) in access::SERVER_FUNCTIONS {
        assert!(
            registered.contains(&format!("/api/{name}")),
            "{name} is in the access table but not a server function"
        );
    }
    registered
        .into_iter()
        .map(|path| {
            let rule = access::server_function_rule(&path).unwrap_or_else(|| {
                panic!("{path} has no rule in identity::access::SERVER_FUNCTIONS")
            });
            (path, rule)
        })
        .collect()
}

struct Site {
    host: &'static str,
    base: &'static str,
}

const CLINIC_A: Site = Site {
    host: "localhost",
    base: "/t/clinic-a",
};
const PLATFORM: Site = Site {
    host: "localhost",
    base: "",
};

/// A browser signed in as `who`.
async fn browser_for(addr: std::net::SocketAddr, who: Who) -> Browser {
    let b = Browser::new(addr);
    let reply = match who {
        Who::Anonymous => return b,
        Who::Staff(role) => {
            b.sign_in(
                "localhost",
                "/t/clinic-a",
                &staff_email(role, "clinic-a"),
                PASSWORD,
                "staff",
            )
            .await
        }
        Who::Patient => {
            b.sign_in(
                "localhost",
                "/t/clinic-a",
                &fixtures::patient_email("clinic-a"),
                PASSWORD,
                "patient",
            )
            .await
        }
        Who::OtherTenantStaff => {
            b.sign_in(
                "localhost",
                "/t/clinic-b",
                &staff_email(Role::Owner, "clinic-b"),
                PASSWORD,
                "staff",
            )
            .await
        }
        Who::Operator => {
            let first = b
                .sign_in(
                    "localhost",
                    "",
                    "operator@platform.example",
                    PASSWORD,
                    "platform",
                )
                .await;
            assert_eq!(
                first.json(),
                serde_json::json!("SecondFactor"),
                "{}",
                first.body
            );
            // TOTP codes work once per 30 s step and this test signs the operator
            // in many times: it uses the account's one-time recovery codes.
            let n = NEXT_RECOVERY_CODE.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let code = recovery_code(n);
            b.call("localhost", "/api/second_factor", &[("code", &code)])
                .await
        }
    };
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{who:?} signs in: {}",
        reply.body
    );
    b
}

const OPERATOR_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const RECOVERY_CODES: usize = 60;
static NEXT_RECOVERY_CODE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn recovery_code(n: usize) -> String {
    assert!(n < RECOVERY_CODES, "the operator ran out of recovery codes");
    format!("test-code-{n:04}")
}

async fn operator(db: &app::db::Db) {
    let codes: Vec<String> = (0..RECOVERY_CODES).map(recovery_code).collect();
    fixtures::operator_account(
        db,
        "operator@platform.example",
        PlatformRole::SuperAdmin,
        OPERATOR_SECRET,
        &codes,
    )
    .await;
}

async fn check(
    addr: std::net::SocketAddr,
    who: Who,
    site: &Site,
    expect: fn(Rule, Who) -> Decision,
) -> Vec<String> {
    let b = browser_for(addr, who).await;
    let mut wrong = Vec::new();
    // Pages first: the sign-out functions end every session of the account.
    let pages = ::server::routes::PageRoutes::of_app();
    for (prefix, rule) in access::PAGES {
        let tenant_area = !matches!(rule, Rule::Platform(_));
        let tenant_site = !site.base.is_empty();
        if tenant_area != tenant_site || *rule == Rule::Public {
            continue;
        }
        // A page of the area (an area prefix that is no page itself answers 404).
        let path = &pages
            .page_under(prefix)
            .unwrap_or_else(|| panic!("no page under {prefix}"));
        // A page that never finishes names itself (not just "timed out").
        let reply = tokio::time::timeout(
            std::time::Duration::from_secs(60),
            b.get(site.host, &format!("{}{path}", site.base)),
        )
        .await
        .unwrap_or_else(|_| panic!("{who:?}: page {}{path} did not finish in 60 s", site.base));
        let (want, got) = (expect(*rule, who), decision_of(&reply));
        if want != got {
            wrong.push(format!(
                "{who:?} page {}{path}: want {want:?}, got {}",
                site.base, reply.status
            ));
        }
        if got == Decision::Allow {
            let no_store = reply
                .headers
                .get("cache-control")
                .and_then(|v| v.to_str().ok());
            if no_store != Some("no-store") {
                wrong.push(format!(
                    "{who:?} page {path}: authenticated page without no-store"
                ));
            }
        }
    }
    for (path, rule) in server_functions() {
        // Signing out ends the session: give each such call a session of its own.
        let fresh;
        let caller = if path.contains("sign_out") {
            fresh = browser_for(addr, who).await;
            &fresh
        } else {
            &b
        };
        let reply = caller
            .call(site.host, &format!("{}{path}", site.base), &[])
            .await;
        let (want, got) = (expect(rule, who), decision_of(&reply));
        if want != got || reply.status == StatusCode::INTERNAL_SERVER_ERROR {
            wrong.push(format!(
                "{who:?} {}{path}: want {want:?}, got {} {}",
                site.base, reply.status, reply.body
            ));
        }
    }
    wrong
}

async fn every_function_and_page_answers_as_the_access_table_says(t: &TestDb) {
    staffed_clinic(&t.db, "clinic-a").await;
    staffed_clinic(&t.db, "clinic-b").await;
    operator(&t.db).await;
    let addr = server::start(&t.db, |_| {}).await;

    let mut everyone = vec![
        Who::Anonymous,
        Who::Patient,
        Who::OtherTenantStaff,
        Who::Operator,
    ];
    everyone.extend(Role::ALL.iter().map(|&r| Who::Staff(r)));
    let mut wrong = Vec::new();
    for &who in &everyone {
        wrong.extend(check(addr, who, &CLINIC_A, expected_on_tenant).await);
    }
    for who in [Who::Anonymous, Who::Operator, Who::Staff(Role::Owner)] {
        let expect = if matches!(who, Who::Staff(_)) {
            // A clinic session is a stranger on the platform site.
            |rule, _| expected_on_platform(rule, Who::Anonymous)
        } else {
            expected_on_platform
        };
        wrong.extend(check(addr, who, &PLATFORM, expect).await);
    }
    assert!(
        wrong.is_empty(),
        "{} mismatches:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
