//! Time-based one-time passwords (RFC 6238: HMAC-SHA1, 30 s steps, 6 digits),
//! as every authenticator app implements them.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use sha1::Sha1;

const STEP_SECONDS: i64 = 30;
const DIGITS: u32 = 6;

/// A new 160-bit secret, base32 as authenticator apps expect it.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    OsRng.fill_bytes(&mut bytes);
    BASE32_NOPAD.encode(&bytes)
}

/// The code for one 30-second step (RFC 4226 dynamic truncation).
fn code_at_step(secret: &[u8], step: u64) -> Option<u32> {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).ok()?;
    mac.update(&step.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = usize::from(hash[19] & 0x0f);
    let bin = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    Some(bin % 10u32.pow(DIGITS))
}

/// The step a code matched, so a caller can refuse a replay of the same step.
/// One step of clock drift either way is accepted.
pub fn verify(secret_b32: &str, typed: &str, unix_time: i64) -> Option<i64> {
    let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    if typed.len() != DIGITS as usize || !typed.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let wanted: u32 = typed.parse().ok()?;
    let secret = BASE32_NOPAD.decode(secret_b32.as_bytes()).ok()?;
    let now = unix_time.div_euclid(STEP_SECONDS);
    (now - 1..=now + 1).find(|&step| {
        u64::try_from(step)
            .ok()
            .and_then(|s| code_at_step(&secret, s))
            == Some(wanted)
    })
}

/// The code an authenticator shows at `unix_time` (for tests and tooling).
pub fn code_at(secret_b32: &str, unix_time: i64) -> Option<String> {
    let secret = BASE32_NOPAD.decode(secret_b32.as_bytes()).ok()?;
    let step = u64::try_from(unix_time.div_euclid(STEP_SECONDS)).ok()?;
    code_at_step(&secret, step).map(|c| format!("{c:06}"))
}

/// The `otpauth://` URI an authenticator app scans.
pub fn provisioning_uri(secret_b32: &str, issuer: &str, account: &str) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={secret_b32}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        enc(issuer),
        enc(account),
        enc(issuer)
    )
}

/// The provisioning URI as an inline SVG QR code.
pub fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (8-digit codes, last 6 digits compared).
    #[test]
    fn matches_the_rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, eight_digits) in [
            (59_u64, 94_287_082_u32),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
        ] {
            let code = code_at_step(secret, time / 30).expect("code");
            assert_eq!(code, eight_digits % 1_000_000, "t={time}");
        }
    }

    #[test]
    fn verify_accepts_one_step_of_drift_and_nothing_else() {
        let secret = BASE32_NOPAD.encode(b"12345678901234567890");
        let code = format!(
            "{:06}",
            code_at_step(b"12345678901234567890", 1000).expect("code")
        );
        assert_eq!(verify(&secret, &code, 1000 * 30), Some(1000));
        assert_eq!(verify(&secret, &code, 1001 * 30 + 29), Some(1000));
        assert_eq!(verify(&secret, &code, 1002 * 30), None);
        assert_eq!(verify(&secret, "12345", 1000 * 30), None);
        assert_eq!(verify(&secret, "abcdef", 1000 * 30), None);
    }

    #[test]
    fn provisioning_uri_escapes_labels() {
        let uri = provisioning_uri("ABC", "Acme Clinic", "a@b.com");
        assert!(uri
            .starts_with("otpauth://totp/Acme%20Clinic:a%40b.com?secret=ABC&issuer=Acme%20Clinic"));
        assert!(qr_svg(&uri).is_some_and(|svg| svg.contains("<svg")));
    }
}
