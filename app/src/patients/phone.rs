//! Telephone numbers in E.164 (`+` and 8 to 15 digits), from whatever people type:
//! `+44 20 7946 0958`, `020 7946 0958` in a London clinic, `(212) 555-0142` in New
//! York. A number without its country code takes the clinic's country, dropping
//! the national trunk prefix (the leading `0` in most countries).

/// A country a clinic can be in: ISO 3166 code, calling code, trunk prefix.
struct Country {
    iso: &'static str,
    calling_code: &'static str,
    trunk: &'static str,
}

const fn c(iso: &'static str, calling_code: &'static str, trunk: &'static str) -> Country {
    Country {
        iso,
        calling_code,
        trunk,
    }
}

/// The countries whose local numbers MediSync completes (others type `+`).
const COUNTRIES: &[Country] = &[
    c("US", "1", ""),
    c("CA", "1", ""),
    c("GB", "44", "0"),
    c("IE", "353", "0"),
    c("IN", "91", "0"),
    c("PK", "92", "0"),
    c("BD", "880", "0"),
    c("LK", "94", "0"),
    c("NP", "977", "0"),
    c("NG", "234", "0"),
    c("GH", "233", "0"),
    c("KE", "254", "0"),
    c("UG", "256", "0"),
    c("TZ", "255", "0"),
    c("ZA", "27", "0"),
    c("EG", "20", "0"),
    c("AE", "971", "0"),
    c("SA", "966", "0"),
    c("AU", "61", "0"),
    c("NZ", "64", "0"),
    c("SG", "65", ""),
    c("MY", "60", "0"),
    c("PH", "63", "0"),
    c("ID", "62", "0"),
    c("JP", "81", "0"),
    c("CN", "86", "0"),
    c("DE", "49", "0"),
    c("FR", "33", "0"),
    c("ES", "34", ""),
    c("IT", "39", ""),
    c("NL", "31", "0"),
    c("BE", "32", "0"),
    c("CH", "41", "0"),
    c("AT", "43", "0"),
    c("SE", "46", "0"),
    c("NO", "47", ""),
    c("DK", "45", ""),
    c("FI", "358", "0"),
    c("PL", "48", ""),
    c("PT", "351", ""),
    c("BR", "55", "0"),
    c("MX", "52", ""),
    c("AR", "54", "0"),
];

/// The country a clinic's time zone is in, for completing local numbers (a zone
/// shared by several countries, such as `UTC`, has none: numbers need `+`).
pub fn country_of_timezone(zone: &str) -> Option<&'static str> {
    const ZONES: &[(&str, &str)] = &[
        ("America/New_York", "US"),
        ("America/Chicago", "US"),
        ("America/Denver", "US"),
        ("America/Phoenix", "US"),
        ("America/Los_Angeles", "US"),
        ("America/Anchorage", "US"),
        ("Pacific/Honolulu", "US"),
        ("America/Toronto", "CA"),
        ("America/Vancouver", "CA"),
        ("America/Edmonton", "CA"),
        ("America/Winnipeg", "CA"),
        ("America/Halifax", "CA"),
        ("Europe/London", "GB"),
        ("Europe/Dublin", "IE"),
        ("Asia/Kolkata", "IN"),
        ("Asia/Calcutta", "IN"),
        ("Asia/Karachi", "PK"),
        ("Asia/Dhaka", "BD"),
        ("Asia/Colombo", "LK"),
        ("Asia/Kathmandu", "NP"),
        ("Africa/Lagos", "NG"),
        ("Africa/Accra", "GH"),
        ("Africa/Nairobi", "KE"),
        ("Africa/Kampala", "UG"),
        ("Africa/Dar_es_Salaam", "TZ"),
        ("Africa/Johannesburg", "ZA"),
        ("Africa/Cairo", "EG"),
        ("Asia/Dubai", "AE"),
        ("Asia/Riyadh", "SA"),
        ("Australia/Sydney", "AU"),
        ("Australia/Melbourne", "AU"),
        ("Australia/Brisbane", "AU"),
        ("Australia/Perth", "AU"),
        ("Australia/Adelaide", "AU"),
        ("Pacific/Auckland", "NZ"),
        ("Asia/Singapore", "SG"),
        ("Asia/Kuala_Lumpur", "MY"),
        ("Asia/Manila", "PH"),
        ("Asia/Jakarta", "ID"),
        ("Asia/Tokyo", "JP"),
        ("Asia/Shanghai", "CN"),
        ("Europe/Berlin", "DE"),
        ("Europe/Paris", "FR"),
        ("Europe/Madrid", "ES"),
        ("Europe/Rome", "IT"),
        ("Europe/Amsterdam", "NL"),
        ("Europe/Brussels", "BE"),
        ("Europe/Zurich", "CH"),
        ("Europe/Vienna", "AT"),
        ("Europe/Stockholm", "SE"),
        ("Europe/Oslo", "NO"),
        ("Europe/Copenhagen", "DK"),
        ("Europe/Helsinki", "FI"),
        ("Europe/Warsaw", "PL"),
        ("Europe/Lisbon", "PT"),
        ("America/Sao_Paulo", "BR"),
        ("America/Mexico_City", "MX"),
        ("America/Argentina/Buenos_Aires", "AR"),
    ];
    ZONES.iter().find(|(z, _)| *z == zone).map(|(_, c)| *c)
}

/// The number in E.164, or the message for the field.
pub fn normalize(raw: &str, country: Option<&str>) -> Result<String, String> {
    let text = raw.trim();
    let allowed = |ch: char| ch.is_ascii_digit() || " -().+/".contains(ch);
    if text.is_empty() || !text.chars().all(allowed) || text[1..].contains('+') {
        return Err(invalid(country));
    }
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let international = if text.starts_with('+') {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_owned()
    } else {
        let country = country
            .and_then(|iso| COUNTRIES.iter().find(|c| c.iso == iso))
            .ok_or_else(|| invalid(None))?;
        let national = if country.trunk.is_empty() {
            // In the North American plan the leading 1 is the country code itself.
            digits
                .strip_prefix(country.calling_code)
                .filter(|rest| country.calling_code == "1" && rest.len() == 10)
                .unwrap_or(&digits)
        } else {
            digits.strip_prefix(country.trunk).unwrap_or(&digits)
        };
        format!("{}{national}", country.calling_code)
    };
    if (8..=15).contains(&international.len()) && !international.starts_with('0') {
        Ok(format!("+{international}"))
    } else {
        Err(invalid(country))
    }
}

fn invalid(country: Option<&str>) -> String {
    match country {
        Some(_) => {
            "enter a phone number such as 020 7946 0958, or with its country code: +44 20 7946 0958"
                .into()
        }
        None => "enter the phone number with its country code, such as +44 20 7946 0958".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_numbers_take_the_clinics_country() {
        assert_eq!(
            normalize("020 7946 0958", Some("GB")),
            Ok("+442079460958".into())
        );
        assert_eq!(
            normalize("(212) 555-0142", Some("US")),
            Ok("+12125550142".into())
        );
        assert_eq!(
            normalize("1 212 555 0142", Some("US")),
            Ok("+12125550142".into())
        );
        assert_eq!(
            normalize("0803 123 4567", Some("NG")),
            Ok("+2348031234567".into())
        );
        assert_eq!(
            normalize("098765 43210", Some("IN")),
            Ok("+919876543210".into())
        );
    }

    #[test]
    fn international_numbers_keep_their_country() {
        for typed in ["+44 20 7946 0958", "0044 20 7946 0958", "+44-20-7946-0958"] {
            assert_eq!(
                normalize(typed, Some("US")),
                Ok("+442079460958".into()),
                "{typed}"
            );
        }
    }

    #[test]
    fn nonsense_is_refused_with_a_message() {
        for typed in [
            "",
            "call me",
            "12",
            "+1 2",
            "+44 20 7946 0958 ext 5",
            "++44 20",
            "1+2",
        ] {
            assert!(normalize(typed, Some("GB")).is_err(), "{typed}");
        }
        assert!(
            normalize("020 7946 0958", None).is_err(),
            "no country, no +"
        );
        assert_eq!(country_of_timezone("Europe/London"), Some("GB"));
        assert_eq!(country_of_timezone("UTC"), None);
    }
}
