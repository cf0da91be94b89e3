//! Macros for the small text-backed types at the system's edges.

/// Conversions for a validated text newtype with a `parse` constructor: serde
/// deserializes through `TryFrom<String>` (so invalid input never gets past the
/// edge), and the type reads back as `&str`, `String` and `Display`.
macro_rules! text_newtype {
    ($ty:ident, $err:ty) => {
        impl $ty {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $ty {
            type Error = $err;
            fn try_from(s: String) -> Result<Self, $err> {
                Self::parse(&s)
            }
        }

        impl From<$ty> for String {
            fn from(v: $ty) -> String {
                v.0
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
pub(crate) use text_newtype;

/// `as_str`, `FromStr` and `Display` for an enum stored as text.
macro_rules! text_enum {
    ($ty:ty { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }
        impl std::str::FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    other => Err(format!("unknown {} {other:?}", stringify!($ty))),
                }
            }
        }
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;

/// The longest search or filter text accepted, in characters.
pub const MAX_SEARCH_CHARS: usize = 100;

/// A search or filter box's text: trimmed, `None` when empty, refused (naming the
/// field) when longer than [`MAX_SEARCH_CHARS`] or holding control characters.
pub fn search_text(
    field: &str,
    value: Option<String>,
) -> Result<Option<String>, crate::error::AppError> {
    let Some(text) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > MAX_SEARCH_CHARS {
        return Err(crate::error::AppError::field(
            field,
            format!("search for at most {MAX_SEARCH_CHARS} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(crate::error::AppError::field(
            field,
            "remove the control characters from the search",
        ));
    }
    Ok(Some(text))
}

/// A name people read (a clinic, a person, a plan): trimmed, `min..=max`
/// characters, and no control characters or angle brackets, which have no place
/// in a name and are how markup gets in. The error is the message for the field.
pub fn plain_name(value: &str, min: usize, max: usize) -> Result<String, String> {
    let name = value.trim();
    let len = name.chars().count();
    if len < min {
        return Err(format!("enter at least {min} characters"));
    }
    if len > max {
        return Err(format!("use at most {max} characters"));
    }
    if name.chars().any(|c| c.is_control() || c == '<' || c == '>') {
        return Err(
            "use letters, numbers and punctuation only (no < or > or control characters)".into(),
        );
    }
    Ok(name.to_owned())
}

/// Text made safe to place between HTML tags or in a quoted attribute.
/// A CSV field (RFC 4180) holding `text`, quoted, and defused when a
/// spreadsheet would take it for a formula.
pub fn csv_field(text: &str) -> String {
    let guarded = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    format!("\"{}\"", guarded.replace('"', "\"\""))
}

pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_text_cannot_close_an_element() {
        assert_eq!(
            escape_html("</title><meta http-equiv=\"refresh\"> & 'x'"),
            "&lt;/title&gt;&lt;meta http-equiv=&quot;refresh&quot;&gt; &amp; &#39;x&#39;"
        );
    }

    #[test]
    fn names_refuse_markup_and_control_characters() {
        assert_eq!(
            plain_name("  Acme Clinic ", 2, 80),
            Ok("Acme Clinic".into())
        );
        assert_eq!(
            plain_name("O'Brien & Sons, Dr. Ng", 2, 80).map(|_| ()),
            Ok(())
        );
        for bad in [
            "</title><meta http-equiv=\"refresh\">",
            "Acme\u{0}",
            "Acme\nClinic",
            "a",
            "<b>Acme</b>",
        ] {
            assert!(plain_name(bad, 2, 80).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn searches_are_bounded_and_clean() {
        assert_eq!(search_text("query", Some("  ".into())), Ok(None));
        assert_eq!(
            search_text("query", Some(" Okafor ".into())),
            Ok(Some("Okafor".into()))
        );
        assert!(search_text("query", Some("a".repeat(101))).is_err());
        assert!(search_text("query", Some("a\0".into())).is_err());
    }
}
