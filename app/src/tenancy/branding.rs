use std::fmt;

use serde::{Deserialize, Serialize};

/// A `#rrggbb` color. Validated on the way in, so it is always safe to place in CSS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HexColor([u8; 3]);

impl HexColor {
    pub const fn rgb(r: u8, g: u8, b: u8) -> Self {
        Self([r, g, b])
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        let hex = raw.trim().strip_prefix('#').unwrap_or(raw.trim());
        let error = || format!("{raw:?} is not a color: use the form #0f766e");
        if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(error());
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| error());
        Ok(Self([byte(0)?, byte(2)?, byte(4)?]))
    }

    /// WCAG 2 relative luminance.
    pub fn luminance(self) -> f64 {
        let channel = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        let [r, g, b] = self.0;
        0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    }

    /// WCAG 2 contrast ratio between two colors, from 1.0 to 21.0.
    pub fn contrast_with(self, other: HexColor) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        let (light, dark) = if a > b { (a, b) } else { (b, a) };
        (light + 0.05) / (dark + 0.05)
    }

    /// White or near-black, whichever reads better on this color.
    pub fn readable_text(self) -> HexColor {
        if self.contrast_with(WHITE) >= self.contrast_with(INK) {
            WHITE
        } else {
            INK
        }
    }
}

pub const WHITE: HexColor = HexColor::rgb(0xff, 0xff, 0xff);
pub const INK: HexColor = HexColor::rgb(0x11, 0x18, 0x27);

impl fmt::Display for HexColor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [r, g, b] = self.0;
        write!(f, "#{r:02x}{g:02x}{b:02x}")
    }
}

impl TryFrom<String> for HexColor {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<HexColor> for String {
    fn from(c: HexColor) -> String {
        c.to_string()
    }
}

/// How a tenant looks: applied server-side in the document head before first paint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Branding {
    /// Path of the logo image served by the platform, when the clinic has one.
    pub logo_url: Option<String>,
    /// Square renditions of the logo (192 and 512 px) for the favicon and the
    /// installable app.
    #[serde(default)]
    pub icon_url: Option<String>,
    #[serde(default)]
    pub icon_large_url: Option<String>,
    pub primary_color: HexColor,
    pub accent_color: HexColor,
    pub sign_in_headline: String,
    pub welcome_text: String,
    /// Shown on the sign-in page when set.
    #[serde(default)]
    pub support_phone: Option<String>,
    #[serde(default)]
    pub support_email: Option<String>,
}

impl Default for Branding {
    fn default() -> Self {
        Self {
            logo_url: None,
            icon_url: None,
            icon_large_url: None,
            primary_color: HexColor::rgb(0x43, 0x38, 0xca),
            accent_color: HexColor::rgb(0x0e, 0x74, 0x90),
            sign_in_headline: "Welcome back".into(),
            welcome_text: "Sign in to continue.".into(),
            support_phone: None,
            support_email: None,
        }
    }
}

/// WCAG AA for normal text.
pub const MIN_CONTRAST: f64 = 4.5;

/// Why a branding was refused: the form field and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrandingError {
    pub field: &'static str,
    pub message: String,
}

impl std::fmt::Display for BrandingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn refuse(field: &'static str, message: impl Into<String>) -> Result<(), BrandingError> {
    Err(BrandingError {
        field,
        message: message.into(),
    })
}

/// A path the platform serves (never another origin, never markup).
fn is_local_path(url: &str) -> bool {
    url.starts_with('/')
        && !url.starts_with("//")
        && url.len() <= 300
        && url
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-_.".contains(c))
}

impl Branding {
    /// The contrast each brand color reaches with the text MediSync puts on it.
    pub fn contrasts(&self) -> [(&'static str, HexColor, f64); 2] {
        [
            ("primary_color", self.primary_color),
            ("accent_color", self.accent_color),
        ]
        .map(|(field, color)| (field, color, color.contrast_with(color.readable_text())))
    }

    pub fn validate(&self) -> Result<(), String> {
        self.check().map_err(|e| e.message)
    }

    /// Every rule, naming the field that breaks one.
    pub fn check(&self) -> Result<(), BrandingError> {
        for (field, color, ratio) in self.contrasts() {
            if ratio < MIN_CONTRAST {
                let name = if field == "primary_color" {
                    "primary"
                } else {
                    "accent"
                };
                return refuse(
                    field,
                    format!(
                        "the {name} color {color} reaches only {ratio:.2}:1 contrast with white or dark text; \
                         WCAG AA needs 4.5:1, so choose a darker or lighter shade"
                    ),
                );
            }
        }
        let headline = self.sign_in_headline.trim();
        if headline.is_empty() || headline.chars().count() > 80 {
            return refuse(
                "sign_in_headline",
                "the sign-in headline must be 1 to 80 characters",
            );
        }
        if self.welcome_text.chars().count() > 500 {
            return refuse(
                "welcome_text",
                "the welcome text must be at most 500 characters",
            );
        }
        for text in [&self.sign_in_headline, &self.welcome_text] {
            if text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\r')
            {
                return refuse(
                    "welcome_text",
                    "the text may not contain control characters",
                );
            }
        }
        if let Some(phone) = &self.support_phone {
            let ok = (3..=30).contains(&phone.chars().count())
                && phone
                    .chars()
                    .all(|c| c.is_ascii_digit() || " +-().".contains(c));
            if !ok {
                return refuse(
                    "support_phone",
                    "a phone number is digits, spaces and + - ( ) . (up to 30)",
                );
            }
        }
        if let Some(email) = &self.support_email {
            if crate::identity::Email::parse(email).is_err() {
                return refuse(
                    "support_email",
                    "enter a valid support email address, or leave it empty",
                );
            }
        }
        for url in [&self.logo_url, &self.icon_url, &self.icon_large_url]
            .into_iter()
            .flatten()
        {
            if !is_local_path(url) {
                return refuse("logo", "the logo must be an image stored by MediSync");
            }
        }
        Ok(())
    }

    /// The same branding without a logo.
    pub fn without_logo(mut self) -> Self {
        self.logo_url = None;
        self.icon_url = None;
        self.icon_large_url = None;
        self
    }

    /// Whether anything differs from MediSync's defaults (for onboarding).
    pub fn is_customized(&self) -> bool {
        let d = Branding::default();
        self.logo_url.is_some()
            || self.primary_color != d.primary_color
            || self.accent_color != d.accent_color
            || self.sign_in_headline != d.sign_in_headline
            || self.welcome_text != d.welcome_text
    }

    /// The CSS custom properties for this branding. Colors are validated hex values,
    /// so the text cannot break out of the `<style>` element.
    pub fn css_variables(&self) -> String {
        format!(
            ":root{{--brand-primary:{p};--brand-on-primary:{op};--brand-accent:{a};--brand-on-accent:{oa};}}",
            p = self.primary_color,
            op = self.primary_color.readable_text(),
            a = self.accent_color,
            oa = self.accent_color.readable_text(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_hex_colors() {
        let c = HexColor::parse("#0F766E").expect("valid");
        assert_eq!(c.to_string(), "#0f766e");
        assert!(HexColor::parse("red").is_err());
        assert!(HexColor::parse("#12345").is_err());
        assert!(HexColor::parse("#12345g").is_err());
        assert!(HexColor::parse("#123456;}body{").is_err());
    }

    #[test]
    fn contrast_matches_wcag_reference_values() {
        assert!((WHITE.contrast_with(HexColor::rgb(0, 0, 0)) - 21.0).abs() < 0.01);
        // #767676 on white is the classic 4.54:1 threshold colour.
        let grey = HexColor::parse("#767676").expect("valid");
        assert!((grey.contrast_with(WHITE) - 4.54).abs() < 0.01);
        assert_eq!(
            HexColor::parse("#fef08a").expect("valid").readable_text(),
            INK
        );
        assert_eq!(
            HexColor::parse("#1e3a8a").expect("valid").readable_text(),
            WHITE
        );
    }

    #[test]
    fn default_branding_is_valid_and_renders_css_variables() {
        let b = Branding::default();
        assert_eq!(b.validate(), Ok(()));
        assert!(b.css_variables().contains("--brand-primary:#4338ca"));
    }

    #[test]
    fn refuses_unsafe_logo_urls_and_overlong_text() {
        let mut b = Branding {
            logo_url: Some("javascript:alert(1)".into()),
            ..Branding::default()
        };
        assert!(b.validate().is_err());
        b.logo_url = Some("//evil.example/x.png".into());
        assert!(b.validate().is_err());
        b.logo_url = None;
        b.sign_in_headline = "x".repeat(81);
        assert!(b.validate().is_err());
    }

    #[test]
    fn each_refusal_names_its_field() {
        let field = |b: Branding| b.check().err().map(|e| e.field);
        let grey = HexColor::parse("#777777").expect("valid");
        assert_eq!(
            field(Branding {
                primary_color: grey,
                ..Branding::default()
            }),
            Some("primary_color")
        );
        assert_eq!(
            field(Branding {
                accent_color: grey,
                ..Branding::default()
            }),
            Some("accent_color")
        );
        assert_eq!(
            field(Branding {
                support_phone: Some("call me maybe".into()),
                ..Branding::default()
            }),
            Some("support_phone")
        );
        assert_eq!(
            field(Branding {
                support_email: Some("not-an-email".into()),
                ..Branding::default()
            }),
            Some("support_email")
        );
        assert_eq!(
            field(Branding {
                icon_url: Some("https://evil.example/x.png".into()),
                ..Branding::default()
            }),
            Some("logo")
        );
        let ok = Branding {
            support_phone: Some("+351 21 000 0000".into()),
            support_email: Some("help@clinic.example".into()),
            ..Branding::default()
        };
        assert_eq!(ok.check(), Ok(()));
        assert!(!Branding::default().is_customized());
        assert!(ok.without_logo().logo_url.is_none());
    }
}
