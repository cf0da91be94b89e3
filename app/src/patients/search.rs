//! What the search box matches, and how a query is read.
//!
//! Each patient has a set of *terms* in `patient_search_terms`: folded name tokens
//! (`n:lovelace`), the record number (`m:acm-000123`), phone digits
//! (`p:442079460958`) and the email (`e:ada@example.com`). A query word matches a
//! patient when one of their terms starts with it; every word must match. Prefixes
//! are btree ranges (`term >= 'n:smi' AND term < 'n:smi\u{10ffff}'`), which both
//! databases answer from the primary key, and which PostgreSQL may use under
//! row-level security (LIKE, trigram and full-text operators it may not).

use chrono::NaiveDate;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Lower case without accents or compatibility forms: "Zoë Ángel" → "zoe angel".
pub fn fold(text: &str) -> String {
    text.nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Name words: folded, split on anything that is not a letter or digit
/// ("O'Brien-Smith" → "o", "brien", "smith", and the joined "obriensmith").
fn name_tokens(name: &str) -> Vec<String> {
    let folded = fold(name);
    let mut tokens: Vec<String> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    let joined: String = folded.chars().filter(|c| c.is_alphanumeric()).collect();
    if tokens.len() > 1 && !joined.is_empty() {
        tokens.push(joined);
    }
    tokens
}

/// Everything the search box can find a patient by.
pub struct Searchable<'a> {
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub preferred_name: Option<&'a str>,
    pub mrn: &'a str,
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
}

/// The terms stored for a patient (deduplicated).
pub fn terms(p: &Searchable<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for name in [Some(p.given_name), Some(p.family_name), p.preferred_name]
        .into_iter()
        .flatten()
    {
        out.extend(name_tokens(name).into_iter().map(|t| format!("n:{t}")));
    }
    out.push(format!("m:{}", p.mrn.to_lowercase()));
    if let Some(phone) = p.phone {
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        if !digits.is_empty() {
            out.push(format!("p:{digits}"));
        }
    }
    if let Some(email) = p.email {
        out.push(format!("e:{}", email.to_lowercase()));
    }
    out.sort();
    out.dedup();
    out
}

/// How a query is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// Nothing typed: everyone, by name.
    Everyone,
    /// A date of birth (`1980-01-02`, `02/01/1980` as the clinic writes dates).
    BirthDate(NaiveDate),
    /// Words, each of which must prefix one of the patient's terms; each word
    /// carries the term prefixes it may match (any one of them).
    Words(Vec<Vec<String>>),
}

/// Reads a search box: a date of birth, a phone number (any format: matched on
/// its digits, local or international), an email, or words (names in any order,
/// any case, with or without accents; record numbers).
pub fn parse(raw: &str, date_format: &str, country: Option<&str>) -> Query {
    let text = raw.trim();
    if text.is_empty() {
        return Query::Everyone;
    }
    if let Some(date) = parse_date(text, date_format) {
        return Query::BirthDate(date);
    }
    if text.contains('@') {
        return Query::Words(vec![vec![format!("e:{}", text.to_lowercase())]]);
    }
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let phone_like = text
        .chars()
        .all(|c| c.is_ascii_digit() || " -().+/".contains(c));
    if phone_like && digits.len() >= 4 {
        let mut options = vec![format!("p:{digits}"), format!("m:{}", text.to_lowercase())];
        if let Ok(e164) = super::phone::normalize(text, country) {
            options.push(format!("p:{}", &e164[1..]));
        }
        options.sort();
        options.dedup();
        return Query::Words(vec![options]);
    }
    // Each word (and each part of a hyphenated or apostrophised word) must start
    // a name token; a whole word may also start the record number.
    let mut words = Vec::new();
    for word in text.split_whitespace().take(5) {
        let parts: Vec<String> = fold(word)
            .split(|c: char| !c.is_alphanumeric())
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        let mrn = format!("m:{}", word.to_lowercase());
        match parts.as_slice() {
            [] => words.push(vec![mrn]),
            [only] => words.push(vec![format!("n:{only}"), mrn]),
            many => words.extend(many.iter().map(|p| vec![format!("n:{p}"), mrn.clone()])),
        }
    }
    Query::Words(words)
}

fn parse_date(text: &str, clinic_format: &str) -> Option<NaiveDate> {
    [clinic_format, "%Y-%m-%d"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(text, f).ok())
}

/// The exclusive upper bound of the range of terms starting with `prefix`.
pub fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10ffff}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ada() -> Vec<String> {
        terms(&Searchable {
            given_name: "Zoë",
            family_name: "O'Brien-Smith",
            preferred_name: Some("Zo"),
            mrn: "ACM-000123",
            phone: Some("+442079460958"),
            email: Some("Zoe@Example.com"),
        })
    }

    fn matches(query: &Query, terms: &[String]) -> bool {
        match query {
            Query::Everyone => true,
            Query::BirthDate(_) => false,
            Query::Words(words) => words.iter().all(|options| {
                options
                    .iter()
                    .any(|o| terms.iter().any(|t| t.starts_with(o.as_str())))
            }),
        }
    }

    #[test]
    fn names_match_in_any_order_case_and_accent() {
        let terms = ada();
        for q in [
            "zoe",
            "ZOË",
            "smith zoe",
            "o'brien",
            "obrien",
            "brien zo",
            "acm-0001",
            "zoe@ex",
            "020 7946",
            "+44 20 7946 0958",
            "7946 0958",
        ] {
            let query = parse(q, "%d/%m/%Y", Some("GB"));
            if q == "7946 0958" {
                // Digits match only from the start of the stored number.
                assert!(!matches(&query, &terms), "{q}");
                continue;
            }
            assert!(matches(&query, &terms), "{q} should match {terms:?}");
        }
        for q in ["smyth", "zoe jones", "bob"] {
            assert!(!matches(&parse(q, "%d/%m/%Y", None), &terms), "{q}");
        }
    }

    #[test]
    fn dates_are_read_as_the_clinic_writes_them() {
        let date = NaiveDate::from_ymd_opt(1980, 1, 2).expect("date");
        assert_eq!(
            parse("02/01/1980", "%d/%m/%Y", None),
            Query::BirthDate(date)
        );
        assert_eq!(
            parse("1980-01-02", "%d/%m/%Y", None),
            Query::BirthDate(date)
        );
        assert_eq!(parse("   ", "%d/%m/%Y", None), Query::Everyone);
    }
}
