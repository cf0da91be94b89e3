//! Custom patient fields: the clinic's own registry fields (an NHIS number, a
//! referral source), defined by its administrators, shown and checked on the
//! patient forms, and searchable from the patient search box when marked so.

pub mod api;
#[cfg(feature = "ssr")]
pub mod db;
pub mod pages;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::text::text_enum;

/// What a custom field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FieldKind {
    Text,
    Number,
    Date,
    YesNo,
    Choice,
}

text_enum!(FieldKind {
    Text => "text",
    Number => "number",
    Date => "date",
    YesNo => "yes_no",
    Choice => "choice",
});

impl FieldKind {
    pub const ALL: [FieldKind; 5] = [
        FieldKind::Text,
        FieldKind::Number,
        FieldKind::Date,
        FieldKind::YesNo,
        FieldKind::Choice,
    ];

    pub fn label(self) -> &'static str {
        match self {
            FieldKind::Text => "Text",
            FieldKind::Number => "Number",
            FieldKind::Date => "Date",
            FieldKind::YesNo => "Yes / no",
            FieldKind::Choice => "Choice from a list",
        }
    }
}

/// The longest value a field keeps, in characters.
pub const MAX_VALUE_CHARS: usize = 200;
/// The most fields a clinic may define (retired ones do not count).
pub const MAX_FIELDS: usize = 30;
const MAX_CHOICES: usize = 50;

/// A field as the clinic defined it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldDefinition {
    pub id: Uuid,
    pub label: String,
    pub kind: FieldKind,
    /// The options of a [`FieldKind::Choice`] field, in the order shown.
    pub choices: Vec<String>,
    pub required: bool,
    pub searchable: bool,
}

/// The key of a field in a form's `custom` map: `f` and the id's hex digits (a
/// key starting with a digit would be read as a list index).
pub fn form_key(field: Uuid) -> String {
    format!("f{}", field.simple())
}

/// The form input's name for a field: `custom[<key>]`, read back as a map.
pub fn input_name(field: Uuid) -> String {
    format!("custom[{}]", form_key(field))
}

impl FieldDefinition {
    /// Checks what was typed into this field and returns the value to keep
    /// (`None` when left empty), or the sentence that says what to fix.
    pub fn check(&self, raw: &str) -> Result<Option<String>, String> {
        let text = raw.trim();
        if text.is_empty() {
            return if self.required {
                Err(format!("fill in {}", self.label))
            } else {
                Ok(None)
            };
        }
        if text.chars().count() > MAX_VALUE_CHARS {
            return Err(format!(
                "{} takes at most {MAX_VALUE_CHARS} characters",
                self.label
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(format!("remove the control characters from {}", self.label));
        }
        let value = match self.kind {
            FieldKind::Text => text.to_owned(),
            FieldKind::Number => {
                let n: f64 = text
                    .parse()
                    .ok()
                    .filter(|n: &f64| n.is_finite())
                    .ok_or_else(|| format!("{} must be a number, such as 12 or 4.5", self.label))?;
                // One spelling per number, so search and display agree.
                n.to_string()
            }
            FieldKind::Date => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| format!("{} must be a date (YYYY-MM-DD)", self.label))?
                .to_string(),
            FieldKind::YesNo => match text.to_lowercase().as_str() {
                "yes" | "true" | "on" => "yes".into(),
                "no" | "false" | "off" => "no".into(),
                _ => return Err(format!("answer {} with yes or no", self.label)),
            },
            FieldKind::Choice => self
                .choices
                .iter()
                .find(|c| c.eq_ignore_ascii_case(text))
                .cloned()
                .ok_or_else(|| {
                    format!(
                        "choose {} from its list: {}",
                        self.label,
                        self.choices.join(", ")
                    )
                })?,
        };
        Ok(Some(value))
    }

    /// The words the patient search box finds this value by (text, numbers and
    /// choices of searchable fields; dates and yes/no are not searched).
    pub fn search_words(&self, value: &str) -> Vec<String> {
        if !self.searchable || matches!(self.kind, FieldKind::Date | FieldKind::YesNo) {
            return Vec::new();
        }
        value.split_whitespace().map(str::to_lowercase).collect()
    }
}

/// A field's value on one patient's record, for display.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldValue {
    pub field: FieldDefinition,
    pub value: Option<String>,
}

/// A field an administrator is defining, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewField {
    pub label: String,
    pub kind: FieldKind,
    pub choices: Vec<String>,
    pub required: bool,
    pub searchable: bool,
}

impl NewField {
    /// Reads the definition form; the error names the input to fix.
    pub fn parse(
        label: &str,
        kind: &str,
        choices: &str,
        required: bool,
        searchable: bool,
    ) -> Result<Self, (&'static str, String)> {
        let label = crate::text::plain_name(label.trim(), 2, 60).map_err(|m| ("label", m))?;
        let kind: FieldKind = kind
            .parse()
            .map_err(|_| ("kind", "choose what the field holds".to_owned()))?;
        let mut options: Vec<String> = Vec::new();
        for line in choices.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let option = crate::text::plain_name(line, 1, 60).map_err(|m| ("choices", m))?;
            if options.iter().any(|o| o.eq_ignore_ascii_case(&option)) {
                return Err(("choices", format!("{option:?} is listed twice")));
            }
            options.push(option);
        }
        match kind {
            FieldKind::Choice if options.len() < 2 => {
                return Err(("choices", "list at least two options, one per line".into()))
            }
            FieldKind::Choice if options.len() > MAX_CHOICES => {
                return Err(("choices", format!("list at most {MAX_CHOICES} options")))
            }
            FieldKind::Choice => {}
            _ if !options.is_empty() => {
                return Err((
                    "choices",
                    "only a choice field has a list of options".into(),
                ))
            }
            _ => {}
        }
        Ok(Self {
            label,
            kind,
            choices: options,
            required,
            searchable,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(kind: FieldKind, required: bool) -> FieldDefinition {
        FieldDefinition {
            id: Uuid::nil(),
            label: "NHIS number".into(),
            kind,
            choices: vec!["Walk-in".into(), "Referral".into()],
            required,
            searchable: true,
        }
    }

    #[test]
    fn a_required_field_refuses_an_empty_value_and_an_optional_one_keeps_none() {
        assert_eq!(
            field(FieldKind::Text, true).check("  "),
            Err("fill in NHIS number".into())
        );
        assert_eq!(field(FieldKind::Text, false).check(""), Ok(None));
    }

    #[test]
    fn each_kind_keeps_one_spelling_of_its_value() {
        assert_eq!(
            field(FieldKind::Number, false).check(" 4.50 "),
            Ok(Some("4.5".into()))
        );
        assert!(field(FieldKind::Number, false).check("four").is_err());
        assert!(field(FieldKind::Number, false).check("NaN").is_err());
        assert_eq!(
            field(FieldKind::Date, false).check("2024-02-29"),
            Ok(Some("2024-02-29".into()))
        );
        assert!(field(FieldKind::Date, false).check("2023-02-29").is_err());
        assert_eq!(
            field(FieldKind::YesNo, false).check("YES"),
            Ok(Some("yes".into()))
        );
        assert!(field(FieldKind::YesNo, false).check("maybe").is_err());
        assert_eq!(
            field(FieldKind::Choice, false).check("referral"),
            Ok(Some("Referral".into()))
        );
        assert!(field(FieldKind::Choice, false).check("Other").is_err());
        assert!(field(FieldKind::Text, false)
            .check(&"x".repeat(201))
            .is_err());
        assert!(field(FieldKind::Text, false).check("a\u{0}b").is_err());
    }

    #[test]
    fn only_searchable_text_like_fields_give_search_words() {
        assert_eq!(
            field(FieldKind::Text, false).search_words("GH 1234"),
            vec!["gh".to_owned(), "1234".to_owned()]
        );
        assert!(field(FieldKind::Date, false)
            .search_words("2024-01-01")
            .is_empty());
        let mut hidden = field(FieldKind::Text, false);
        hidden.searchable = false;
        assert!(hidden.search_words("GH").is_empty());
    }

    #[test]
    fn a_definition_needs_a_name_and_choices_only_when_it_is_a_choice() {
        assert!(NewField::parse("N", "text", "", false, false).is_err());
        assert!(NewField::parse("Source", "choice", "Only one", false, false).is_err());
        assert!(NewField::parse("Source", "choice", "A\na", false, false).is_err());
        assert!(NewField::parse("NHIS", "text", "A\nB", false, false).is_err());
        assert!(NewField::parse("NHIS", "colour", "", false, false).is_err());
        let f = NewField::parse(" Source ", "choice", "Walk-in\n\nReferral\n", true, false)
            .expect("a valid choice field");
        assert_eq!(f.label, "Source");
        assert_eq!(f.choices, vec!["Walk-in".to_owned(), "Referral".to_owned()]);
    }
}
