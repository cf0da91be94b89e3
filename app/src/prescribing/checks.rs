//! The safety check at the moment of prescribing: the new lines against the
//! patient's active allergies, active medicines and each other. Pure: the caller
//! reads the chart and the knowledge base; nothing here touches the database.
//!
//! Levels (`AlertLevel`):
//! - allergy to the drug, its ingredient or its class; a high-severity
//!   interaction; cross-reactivity rated high or against a high-criticality
//!   allergy → **interruptive** (a reason on the line is required);
//! - anything that could not be checked (no knowledge base, allergies never
//!   recorded, a medicine or an allergen the knowledge base does not know) →
//!   **unchecked** (saving needs an acknowledgement);
//! - moderate interactions, moderate cross-reactivity, duplicate therapy →
//!   **warning**, kept on the line, never blocking. Low-severity interactions
//!   are not shown at all: trivia does not interrupt.

use chrono::{DateTime, Utc};

use super::kb::Kb;
use super::{Alert, AlertLevel, Review};
use crate::clinical::{Allergy, AllergyBanner, AllergyCategory, Criticality, EntryStatus};

/// A medicine being prescribed or already taken: its name and the knowledge
/// base's ingredients (`None`: the knowledge base does not know it).
#[derive(Debug, Clone)]
pub struct Drug {
    pub name: String,
    pub ingredients: Option<Vec<String>>,
}

/// Runs every check. `kb` is the knowledge base or why it is unavailable;
/// `when` formats the time an allergy was recorded.
pub fn check(
    kb: Result<&Kb, &str>,
    allergies: &[Allergy],
    current: &[Drug],
    lines: &[Drug],
    when: &dyn Fn(DateTime<Utc>) -> String,
) -> Review {
    let kb = match kb {
        Ok(kb) => kb,
        Err(why) => {
            return Review {
                alerts: vec![Alert {
                    key: "not-performed".into(),
                    rule: "check-not-performed".into(),
                    level: AlertLevel::Unchecked,
                    line: None,
                    title: "Allergy/interaction check NOT performed".into(),
                    detail: format!(
                        "The medication knowledge base is unavailable: {why}. No allergy, \
                         interaction or duplicate check was made. Check this prescription yourself."
                    ),
                }],
                kb_version: None,
                not_performed: Some(format!("knowledge base unavailable: {why}")),
            }
        }
    };
    let mut alerts = Vec::new();
    allergy_status(allergies, &mut alerts);
    unknown_medicines(kb, lines, &mut alerts);
    for allergy in allergies.iter().filter(|a| is_checkable(a)) {
        allergy_alerts(kb, allergy, lines, when, &mut alerts);
    }
    pair_alerts(kb, current, lines, &mut alerts);
    let not_performed = alerts
        .iter()
        .filter(|a| a.level == AlertLevel::Unchecked)
        .map(|a| a.title.clone())
        .reduce(|a, b| format!("{a}; {b}"));
    Review {
        alerts,
        kb_version: Some(kb.version.clone()),
        not_performed,
    }
}

/// An active allergy to something a medicine could contain.
fn is_checkable(a: &Allergy) -> bool {
    !a.none_known
        && a.status == EntryStatus::Active
        && matches!(
            a.category,
            AllergyCategory::Medication | AllergyCategory::Biologic | AllergyCategory::Other
        )
}

fn allergy_status(allergies: &[Allergy], alerts: &mut Vec<Alert>) {
    if AllergyBanner::of(allergies) == AllergyBanner::NotYetAsked {
        alerts.push(Alert {
            key: "allergies-not-recorded".into(),
            rule: "allergies-not-recorded".into(),
            level: AlertLevel::Unchecked,
            line: None,
            title: "Allergy check NOT performed: allergies never recorded".into(),
            detail: "Nobody has recorded this patient's allergies (or that they have none). \
                     Ask the patient and record them on the chart, or acknowledge that you \
                     prescribe without an allergy check."
                .into(),
        });
    }
}

fn unknown_medicines(kb: &Kb, lines: &[Drug], alerts: &mut Vec<Alert>) {
    for (n, line) in lines.iter().enumerate() {
        if line.ingredients.as_ref().is_none_or(Vec::is_empty) {
            alerts.push(Alert {
                key: format!("unknown-medicine@{n}"),
                rule: "unknown-medicine".into(),
                level: AlertLevel::Unchecked,
                line: Some(n),
                title: format!("Check NOT performed for {}", line.name),
                detail: format!(
                    "{} is not in the knowledge base (version {}): its allergies, \
                     interactions and duplicates were not checked.",
                    line.name, kb.version
                ),
            });
        }
    }
}

fn allergy_alerts(
    kb: &Kb,
    allergy: &Allergy,
    lines: &[Drug],
    when: &dyn Fn(DateTime<Utc>) -> String,
    alerts: &mut Vec<Alert>,
) {
    let targets = kb.allergy_targets(&allergy.substance);
    if targets.is_empty() {
        alerts.push(Alert {
            key: format!("unknown-allergen:{}", allergy.id),
            rule: "unknown-allergen".into(),
            level: AlertLevel::Unchecked,
            line: None,
            title: format!("Allergy to {} could not be checked", allergy.substance),
            detail: format!(
                "\"{}\" is not in the knowledge base (version {}): check this prescription \
                 against it yourself.",
                allergy.substance, kb.version
            ),
        });
        return;
    }
    let recorded = describe_allergy(allergy, when);
    // The classes the allergy names, directly or through the ingredients it names.
    let mut allergy_classes: Vec<String> = Vec::new();
    for t in &targets {
        match t.strip_prefix("class:") {
            Some(c) => allergy_classes.push(c.to_owned()),
            None => {
                allergy_classes.extend(kb.classes_of(t).into_iter().flatten().cloned());
            }
        }
    }
    for (n, line) in lines.iter().enumerate() {
        let ingredients = line.ingredients.as_deref().unwrap_or_default();
        let direct = ingredients
            .iter()
            .find_map(|i| targets.iter().find(|t| kb.matches(i, t)).map(|t| (i, t)));
        if let Some((ingredient, target)) = direct {
            alerts.push(Alert {
                key: format!("allergy:{}@{n}", allergy.id),
                rule: format!("allergy:{}", target.trim_start_matches("class:")),
                level: AlertLevel::Interruptive,
                line: Some(n),
                title: format!("Allergy: {}", allergy.substance),
                detail: format!(
                    "{} contains {}, and the patient is allergic to {}. {recorded}",
                    line.name,
                    kb.name_of(ingredient),
                    allergy.substance
                ),
            });
            continue;
        }
        for rule in &kb.cross_reactivity {
            if !allergy_classes.contains(&rule.allergy) {
                continue;
            }
            let drug_class = format!("class:{}", rule.drug);
            if !ingredients.iter().any(|i| kb.matches(i, &drug_class)) {
                continue;
            }
            let interrupt = rule.severity == "high" || allergy.criticality == Criticality::High;
            alerts.push(Alert {
                key: format!("cross:{}:{}@{n}", rule.id, allergy.id),
                rule: format!("cross:{}", rule.id),
                level: if interrupt {
                    AlertLevel::Interruptive
                } else {
                    AlertLevel::Warning
                },
                line: Some(n),
                title: format!(
                    "Possible cross-reactivity with the allergy to {}",
                    allergy.substance
                ),
                detail: format!(
                    "{}: {} {} {recorded}",
                    line.name, rule.text, rule.management
                ),
            });
        }
    }
}

fn describe_allergy(a: &Allergy, when: &dyn Fn(DateTime<Utc>) -> String) -> String {
    let mut parts = Vec::new();
    if let Some(r) = &a.reaction {
        parts.push(format!("Reaction: {r}."));
    }
    if let Some(s) = a.severity {
        parts.push(format!("Severity: {}.", s.as_str()));
    }
    parts.push(format!("Criticality: {}.", a.criticality.as_str()));
    parts.push(format!(
        "Recorded by {} on {}.",
        a.recorded_by,
        when(a.recorded_at)
    ));
    parts.join(" ")
}

/// Interactions and duplicates: each new line against the lines after it and
/// against what the patient already takes.
fn pair_alerts(kb: &Kb, current: &[Drug], lines: &[Drug], alerts: &mut Vec<Alert>) {
    for (n, line) in lines.iter().enumerate() {
        let Some(mine) = line.ingredients.as_deref() else {
            continue;
        };
        let others = lines
            .iter()
            .enumerate()
            .skip(n + 1)
            .map(|(m, d)| (format!("{m}"), d, "this prescription"))
            .chain(
                current
                    .iter()
                    .enumerate()
                    .map(|(m, d)| (format!("c{m}"), d, "a current medicine")),
            );
        for (other_key, other, whose) in others {
            let Some(theirs) = other.ingredients.as_deref() else {
                continue;
            };
            for rule in &kb.interactions {
                let hit = mine.iter().any(|x| {
                    theirs.iter().any(|y| {
                        x != y
                            && ((kb.matches(x, &rule.a) && kb.matches(y, &rule.b))
                                || (kb.matches(x, &rule.b) && kb.matches(y, &rule.a)))
                    })
                });
                let level = match rule.severity.as_str() {
                    "high" => AlertLevel::Interruptive,
                    "moderate" => AlertLevel::Warning,
                    _ => continue,
                };
                if !hit {
                    continue;
                }
                let onc = if rule.onc_high_priority {
                    " (ONC high-priority interaction)"
                } else {
                    ""
                };
                alerts.push(Alert {
                    key: format!("interaction:{}@{n}-{other_key}", rule.id),
                    rule: format!("interaction:{}", rule.id),
                    level,
                    line: Some(n),
                    title: format!(
                        "Interaction ({}): {} with {}",
                        rule.severity, line.name, other.name
                    ),
                    detail: format!(
                        "{} and {} ({whose}): {} {}{onc}",
                        kb.name_of(&rule.a),
                        kb.name_of(&rule.b),
                        rule.text,
                        rule.management
                    ),
                });
            }
            if let Some(what) = duplicate(kb, mine, theirs) {
                alerts.push(Alert {
                    key: format!("duplicate:{what}@{n}-{other_key}"),
                    rule: format!("duplicate:{what}"),
                    level: AlertLevel::Warning,
                    line: Some(n),
                    title: format!("Duplicate therapy: {} and {}", line.name, other.name),
                    detail: format!(
                        "Both are {} ({whose}). Make sure both are intended.",
                        kb.name_of(&what)
                    ),
                });
            }
        }
    }
}

/// The ingredient, or the therapeutic class, two medicines share.
fn duplicate(kb: &Kb, a: &[String], b: &[String]) -> Option<String> {
    if let Some(same) = a.iter().find(|i| b.contains(i)) {
        return Some(same.clone());
    }
    let mut shared: Vec<&String> = a
        .iter()
        .filter_map(|i| kb.classes_of(i))
        .flatten()
        .filter(|c| kb.duplicate_therapy.contains(*c))
        .filter(|c| {
            b.iter()
                .any(|i| kb.classes_of(i).is_some_and(|all| all.contains(*c)))
        })
        .collect();
    shared.sort();
    shared.first().map(|c| format!("class:{c}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clinical::Severity;
    use uuid::Uuid;

    fn kb() -> Kb {
        Kb::parse(super::super::kb::SHIPPED).expect("parses")
    }

    fn drug(kb: &Kb, id: &str) -> Drug {
        let m = kb
            .medicine(id)
            .unwrap_or_else(|| panic!("no medicine {id}"));
        Drug {
            name: m.label(),
            ingredients: Some(m.ingredients.clone()),
        }
    }

    fn allergy(substance: &str, criticality: Criticality) -> Allergy {
        Allergy {
            id: Uuid::new_v4(),
            none_known: false,
            substance: substance.into(),
            category: AllergyCategory::Medication,
            criticality,
            severity: Some(Severity::Severe),
            reaction: Some("hives".into()),
            onset_on: None,
            status: EntryStatus::Active,
            recorded_by: "Dr Rao".into(),
            recorded_at: Utc::now(),
        }
    }

    fn none_known() -> Allergy {
        Allergy {
            none_known: true,
            ..allergy("No known allergies", Criticality::Low)
        }
    }

    fn when(_: DateTime<Utc>) -> String {
        "1 Jan 2026".into()
    }

    fn levels(r: &Review) -> Vec<(AlertLevel, String)> {
        r.alerts.iter().map(|a| (a.level, a.rule.clone())).collect()
    }

    #[test]
    fn an_allergy_to_the_class_interrupts_and_names_who_recorded_it() {
        let kb = kb();
        let r = check(
            Ok(&kb),
            &[allergy("Penicillins", Criticality::High)],
            &[],
            &[drug(&kb, "amoxicillin-500mg-capsule")],
            &when,
        );
        let a = &r.alerts[0];
        assert_eq!(a.level, AlertLevel::Interruptive);
        assert_eq!(a.rule, "allergy:penicillins");
        assert!(
            a.detail.contains("hives") && a.detail.contains("Dr Rao"),
            "{}",
            a.detail
        );
        assert_eq!(r.kb_version.as_deref(), Some(kb.version.as_str()));
        assert_eq!(r.not_performed, None);
    }

    #[test]
    fn cross_reactivity_warns_unless_the_allergy_is_critical() {
        let kb = kb();
        let cephalexin = [drug(&kb, "cefalexin-500mg-capsule")];
        let low = check(
            Ok(&kb),
            &[allergy("Penicillins", Criticality::Low)],
            &[],
            &cephalexin,
            &when,
        );
        assert!(low
            .alerts
            .iter()
            .any(|a| a.rule.starts_with("cross:") && a.level == AlertLevel::Warning));
        assert!(low
            .alerts
            .iter()
            .all(|a| a.level != AlertLevel::Interruptive));
        let high = check(
            Ok(&kb),
            &[allergy("Penicillins", Criticality::High)],
            &[],
            &cephalexin,
            &when,
        );
        assert!(high
            .alerts
            .iter()
            .any(|a| a.rule.starts_with("cross:") && a.level == AlertLevel::Interruptive));
    }

    #[test]
    fn a_high_interaction_interrupts_against_lines_and_current_medicines() {
        let kb = kb();
        let warfarin = drug(&kb, "warfarin-5mg-tablet");
        let ibuprofen = drug(&kb, "ibuprofen-400mg-tablet");
        let same = check(
            Ok(&kb),
            &[none_known()],
            &[],
            &[warfarin.clone(), ibuprofen.clone()],
            &when,
        );
        assert!(levels(&same).contains(&(
            AlertLevel::Interruptive,
            "interaction:warfarin+nsaids".into()
        )));
        let current = check(Ok(&kb), &[none_known()], &[warfarin], &[ibuprofen], &when);
        let a = current
            .alerts
            .iter()
            .find(|a| a.rule == "interaction:warfarin+nsaids")
            .expect("alert");
        assert_eq!((a.level, a.line), (AlertLevel::Interruptive, Some(0)));
    }

    #[test]
    fn safe_combinations_raise_nothing() {
        let kb = kb();
        let r = check(
            Ok(&kb),
            &[none_known()],
            &[drug(&kb, "metformin-500mg-tablet")],
            &[
                drug(&kb, "amoxicillin-500mg-capsule"),
                drug(&kb, "paracetamol-500mg-tablet"),
            ],
            &when,
        );
        assert_eq!(r.alerts, vec![]);
    }

    #[test]
    fn what_could_not_be_checked_is_said_never_passed() {
        let kb = kb();
        // Allergies never recorded.
        let r = check(
            Ok(&kb),
            &[],
            &[],
            &[drug(&kb, "amoxicillin-500mg-capsule")],
            &when,
        );
        assert_eq!(
            levels(&r),
            vec![(AlertLevel::Unchecked, "allergies-not-recorded".into())]
        );
        assert!(r.not_performed.is_some());
        // A medicine the knowledge base does not know.
        let unknown = Drug {
            name: "Grandma's tonic".into(),
            ingredients: None,
        };
        let r = check(Ok(&kb), &[none_known()], &[], &[unknown], &when);
        assert_eq!(
            levels(&r),
            vec![(AlertLevel::Unchecked, "unknown-medicine".into())]
        );
        // An allergen it does not know.
        let r = check(
            Ok(&kb),
            &[allergy("Zorblatine", Criticality::High)],
            &[],
            &[drug(&kb, "paracetamol-500mg-tablet")],
            &when,
        );
        assert_eq!(
            levels(&r),
            vec![(AlertLevel::Unchecked, "unknown-allergen".into())]
        );
        // No knowledge base at all.
        let r = check(
            Err("file missing"),
            &[none_known()],
            &[],
            &[drug(&kb, "paracetamol-500mg-tablet")],
            &when,
        );
        assert_eq!(r.alerts[0].title, "Allergy/interaction check NOT performed");
        assert_eq!(r.kb_version, None);
    }

    #[test]
    fn the_same_ingredient_twice_is_duplicate_therapy() {
        let kb = kb();
        let r = check(
            Ok(&kb),
            &[none_known()],
            &[drug(&kb, "ibuprofen-400mg-tablet")],
            &[drug(&kb, "ibuprofen-400mg-tablet")],
            &when,
        );
        assert!(levels(&r).contains(&(AlertLevel::Warning, "duplicate:ibuprofen".into())));
    }
}
