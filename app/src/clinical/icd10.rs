//! ICD-10-CM codes (CMS, public domain), shipped in the repository
//! (`reference/icd10cm/`) and compiled into the server.

use std::sync::OnceLock;

static CODES_TSV: &str = include_str!("../../../reference/icd10cm/codes.tsv");
static README: &str = include_str!("../../../reference/icd10cm/README.md");

/// The code list's version, as shown beside coded problems.
pub fn version() -> &'static str {
    README
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("Version: "))
        .unwrap_or("ICD-10-CM")
}

fn codes() -> &'static [(&'static str, &'static str)] {
    static CODES: OnceLock<Vec<(&'static str, &'static str)>> = OnceLock::new();
    CODES.get_or_init(|| {
        CODES_TSV
            .lines()
            .filter_map(|line| line.split_once('\t'))
            .collect()
    })
}

/// The code as the list writes it (`e11.9` → `E11.9`, `E119` → `E11.9`) and its
/// description, when it is in the list.
pub fn lookup(typed: &str) -> Option<(&'static str, &'static str)> {
    let mut code: String = typed
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    if code.len() > 3 && !code.contains('.') {
        code.insert(3, '.');
    }
    let list = codes();
    list.binary_search_by(|(c, _)| c.cmp(&code.as_str()))
        .ok()
        .map(|i| list[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_found_however_they_are_typed() {
        assert_eq!(lookup("E11.9").map(|c| c.0), Some("E11.9"));
        assert_eq!(lookup(" e119 ").map(|c| c.0), Some("E11.9"));
        assert_eq!(
            lookup("I10"),
            Some(("I10", "Essential (primary) hypertension"))
        );
        assert_eq!(lookup("Z99.999"), None);
        assert_eq!(lookup(""), None);
        assert!(version().contains("ICD-10-CM"));
    }
}
