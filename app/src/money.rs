//! Money: integer minor units of an ISO 4217 currency, never floating point.
//! Parsing and showing amounts as people type and read them.

/// Digits after the decimal point of `currency`'s minor unit (ISO 4217).
pub fn minor_digits(currency: &str) -> u32 {
    match currency {
        "JPY" | "KRW" | "VND" | "CLP" | "ISK" | "UGX" | "XAF" | "XOF" | "RWF" | "PYG" => 0,
        "KWD" | "BHD" | "OMR" | "JOD" | "TND" | "LYD" | "IQD" => 3,
        _ => 2,
    }
}

/// "45", "45.5" or "45.50" as minor units of `currency`; `None` if it is not
/// a plain non-negative amount with at most the currency's decimals.
pub fn parse_amount(text: &str, currency: &str) -> Option<i64> {
    let text = text.trim();
    let digits = minor_digits(currency);
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty()
        || whole.len() > 9
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > digits as usize
        || (text.contains('.') && fraction.is_empty())
    {
        return None;
    }
    let scale = 10_i64.pow(digits);
    let padded = format!("{fraction:0<width$}", width = digits as usize);
    let fraction: i64 = if padded.is_empty() {
        0
    } else {
        padded.parse().ok()?
    };
    whole
        .parse::<i64>()
        .ok()?
        .checked_mul(scale)?
        .checked_add(fraction)
}

/// Minor units as "45.50".
pub fn format_amount(minor: i64, currency: &str) -> String {
    let digits = minor_digits(currency);
    if digits == 0 {
        return minor.to_string();
    }
    let scale = 10_u64.pow(digits);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        abs / scale,
        abs % scale,
        width = digits as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_whole_minor_units() {
        assert_eq!(parse_amount("45", "USD"), Some(4500));
        assert_eq!(parse_amount("45.5", "EUR"), Some(4550));
        assert_eq!(parse_amount("0.05", "GBP"), Some(5));
        assert_eq!(parse_amount("1500", "JPY"), Some(1500));
        assert_eq!(parse_amount("1.234", "KWD"), Some(1234));
        for bad in [
            "",
            "-1",
            "1.",
            ".5",
            "1.234",
            "1e3",
            "12,50",
            "1 000",
            "9999999999",
        ] {
            assert_eq!(parse_amount(bad, "USD"), None, "{bad}");
        }
        assert_eq!(parse_amount("1.5", "JPY"), None);
        assert_eq!(format_amount(4550, "EUR"), "45.50");
        assert_eq!(format_amount(1500, "JPY"), "1500");
        assert_eq!(format_amount(1234, "KWD"), "1.234");
        assert_eq!(format_amount(-50, "USD"), "-0.50");
        assert_eq!(format_amount(-1234, "INR"), "-12.34");
    }
}
