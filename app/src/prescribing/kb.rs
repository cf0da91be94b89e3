//! The medication knowledge base: drug classes, ingredients, the starter
//! formulary, allergy cross-reactivity and interaction pairs. It is data
//! (`kb.json`, checked by `scripts/check-kb.py`), loaded once when the server
//! starts; a server configured with a file it cannot read still starts, and
//! every check then says it was not performed.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::Deserialize;

/// The knowledge base shipped with this build.
pub const SHIPPED: &str = include_str!("kb.json");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    version: String,
    title: String,
    sources: Vec<String>,
    classes: Vec<Class>,
    ingredients: Vec<Ingredient>,
    medicines: Vec<Medicine>,
    cross_reactivity: Vec<CrossReactivity>,
    interactions: Vec<Interaction>,
    #[serde(default)]
    duplicate_therapy_classes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Class {
    pub id: String,
    pub name: String,
    pub parents: Vec<String>,
    pub synonyms: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ingredient {
    pub id: String,
    pub name: String,
    pub classes: Vec<String>,
    pub synonyms: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Medicine {
    pub id: String,
    pub generic: String,
    pub ingredients: Vec<String>,
    pub strength: String,
    pub form: String,
    pub route: String,
    pub unit: String,
}

impl Medicine {
    /// What the prescriber picks and the prescription prints: "Amoxicillin 500 mg capsule".
    pub fn label(&self) -> String {
        format!("{} {} {}", self.generic, self.strength, self.form)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrossReactivity {
    pub id: String,
    pub allergy: String,
    pub drug: String,
    pub severity: String,
    pub text: String,
    pub management: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interaction {
    pub id: String,
    pub a: String,
    pub b: String,
    pub severity: String,
    pub onc_high_priority: bool,
    pub text: String,
    pub management: String,
}

/// The knowledge base, indexed for the checks.
#[derive(Debug)]
pub struct Kb {
    pub version: String,
    pub title: String,
    pub sources: Vec<String>,
    pub classes: HashMap<String, Class>,
    pub ingredients: HashMap<String, Ingredient>,
    pub medicines: Vec<Medicine>,
    pub cross_reactivity: Vec<CrossReactivity>,
    pub interactions: Vec<Interaction>,
    pub duplicate_therapy: HashSet<String>,
    /// Each ingredient's classes with all their ancestors.
    closure: HashMap<String, HashSet<String>>,
    /// Normalised names and synonyms → "class:<id>" or an ingredient id.
    terms: Vec<(Vec<String>, String)>,
    by_label: HashMap<String, usize>,
}

/// The knowledge base as the server holds it: loaded, or why not.
#[derive(Debug, Clone)]
pub struct KbHandle(pub Arc<Result<Kb, String>>);

impl KbHandle {
    pub fn shipped() -> Self {
        Self(Arc::new(Kb::parse(SHIPPED)))
    }

    /// The file at `path`, or the shipped one when `path` is `None`.
    pub fn load(path: Option<&std::path::Path>) -> Self {
        let Some(path) = path else {
            return Self::shipped();
        };
        let loaded = std::fs::read_to_string(path)
            .map_err(|e| format!("the knowledge base file could not be read ({e})"))
            .and_then(|text| Kb::parse(&text));
        Self(Arc::new(loaded))
    }

    pub fn get(&self) -> Result<&Kb, &str> {
        self.0.as_ref().as_ref().map_err(String::as_str)
    }
}

/// Lower case, accents dropped, words split on anything not a letter or digit.
pub fn words(text: &str) -> Vec<String> {
    crate::patients::search::fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Kb {
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: File = serde_json::from_str(text)
            .map_err(|e| format!("the knowledge base is not valid ({e})"))?;
        let classes: HashMap<String, Class> = file
            .classes
            .into_iter()
            .map(|c| (c.id.clone(), c))
            .collect();
        let ingredients: HashMap<String, Ingredient> = file
            .ingredients
            .into_iter()
            .map(|i| (i.id.clone(), i))
            .collect();
        let known = |r: &str| match r.strip_prefix("class:") {
            Some(c) => classes.contains_key(c),
            None => ingredients.contains_key(r),
        };
        for i in ingredients.values() {
            if let Some(c) = i.classes.iter().find(|c| !classes.contains_key(*c)) {
                return Err(format!("ingredient {} names an unknown class {c}", i.id));
            }
        }
        for m in &file.medicines {
            if let Some(i) = m.ingredients.iter().find(|i| !ingredients.contains_key(*i)) {
                return Err(format!("medicine {} names an unknown ingredient {i}", m.id));
            }
        }
        for rule in &file.interactions {
            if !known(&rule.a) || !known(&rule.b) {
                return Err(format!("interaction {} names something unknown", rule.id));
            }
        }
        for rule in &file.cross_reactivity {
            if !classes.contains_key(&rule.allergy) || !classes.contains_key(&rule.drug) {
                return Err(format!(
                    "cross-reactivity {} names an unknown class",
                    rule.id
                ));
            }
        }
        let mut closure = HashMap::new();
        for i in ingredients.values() {
            let mut all = HashSet::new();
            let mut todo: Vec<&str> = i.classes.iter().map(String::as_str).collect();
            while let Some(c) = todo.pop() {
                if all.insert(c.to_owned()) {
                    if let Some(class) = classes.get(c) {
                        todo.extend(class.parents.iter().map(String::as_str));
                    }
                }
            }
            closure.insert(i.id.clone(), all);
        }
        let mut terms = Vec::new();
        for c in classes.values() {
            for name in std::iter::once(&c.name).chain(&c.synonyms) {
                terms.push((words(name), format!("class:{}", c.id)));
            }
        }
        for i in ingredients.values() {
            for name in std::iter::once(&i.name).chain(&i.synonyms) {
                terms.push((words(name), i.id.clone()));
            }
        }
        terms.retain(|(w, _)| !w.is_empty());
        let by_label = file
            .medicines
            .iter()
            .enumerate()
            .map(|(n, m)| (m.label().to_lowercase(), n))
            .collect();
        Ok(Self {
            version: file.version,
            title: file.title,
            sources: file.sources,
            classes,
            ingredients,
            medicines: file.medicines,
            cross_reactivity: file.cross_reactivity,
            interactions: file.interactions,
            duplicate_therapy: file.duplicate_therapy_classes.into_iter().collect(),
            closure,
            terms,
            by_label,
        })
    }

    /// The formulary medicine with this label (as [`Medicine::label`] spells it,
    /// any case).
    pub fn medicine_by_label(&self, label: &str) -> Option<&Medicine> {
        self.by_label
            .get(&label.trim().to_lowercase())
            .map(|n| &self.medicines[*n])
    }

    pub fn medicine(&self, id: &str) -> Option<&Medicine> {
        self.medicines.iter().find(|m| m.id == id)
    }

    /// The ingredient's classes with all their ancestors.
    pub fn classes_of(&self, ingredient: &str) -> Option<&HashSet<String>> {
        self.closure.get(ingredient)
    }

    /// Whether `ingredient` is what `reference` names: the ingredient itself, or
    /// `class:<id>` of one of its classes (ancestors included).
    pub fn matches(&self, ingredient: &str, reference: &str) -> bool {
        match reference.strip_prefix("class:") {
            Some(class) => self
                .closure
                .get(ingredient)
                .is_some_and(|all| all.contains(class)),
            None => ingredient == reference,
        }
    }

    /// What a free-text allergy names in the knowledge base: ingredient ids and
    /// `class:<id>`s whose name or synonym appears in it as whole words ("Penicillin
    /// allergy" names the penicillins). Empty: the knowledge base does not know it.
    pub fn allergy_targets(&self, substance: &str) -> Vec<String> {
        let said = words(substance);
        let mut found: Vec<String> = self
            .terms
            .iter()
            .filter(|(term, _)| said.windows(term.len()).any(|w| w == term.as_slice()))
            .map(|(_, target)| target.clone())
            .collect();
        found.sort();
        found.dedup();
        found
    }

    /// The display name of an ingredient id or `class:<id>`.
    pub fn name_of(&self, reference: &str) -> String {
        match reference.strip_prefix("class:") {
            Some(c) => self.classes.get(c).map_or(c, |c| &c.name).to_owned(),
            None => self
                .ingredients
                .get(reference)
                .map_or(reference, |i| &i.name)
                .to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kb() -> Kb {
        Kb::parse(SHIPPED).expect("the shipped knowledge base parses")
    }

    #[test]
    fn the_shipped_knowledge_base_is_complete_enough_to_prescribe_from() {
        let kb = kb();
        assert!(
            kb.medicines.len() >= 200,
            "{} medicines",
            kb.medicines.len()
        );
        let onc = kb
            .interactions
            .iter()
            .filter(|i| i.onc_high_priority)
            .count();
        assert!(onc >= 15, "{onc} ONC high-priority pairs");
        assert!(kb.matches("amoxicillin", "class:penicillins"));
        assert!(kb.matches("amoxicillin", "class:beta-lactams"));
        assert!(!kb.matches("paracetamol", "class:nsaids"));
    }

    #[test]
    fn every_allergen_the_form_offers_for_medicines_is_known() {
        let kb = kb();
        for (allergen, category) in crate::clinical::COMMON_ALLERGENS {
            use crate::clinical::AllergyCategory as C;
            if matches!(category, C::Medication | C::Biologic) {
                assert!(
                    !kb.allergy_targets(allergen).is_empty(),
                    "{allergen} is not in the knowledge base"
                );
            }
        }
        assert!(kb
            .allergy_targets("Penicillin allergy (rash)")
            .contains(&"class:penicillins".to_owned()));
        assert!(kb.allergy_targets("Peanut").is_empty());
    }

    #[test]
    fn a_file_that_cannot_be_read_is_reported_not_hidden() {
        let handle = KbHandle::load(Some(std::path::Path::new("/nonexistent/kb.json")));
        assert!(handle.get().is_err());
        assert!(Kb::parse("{}").is_err());
    }
}
