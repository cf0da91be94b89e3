//! Password policy (shared, so forms can explain it) and hashing (server only).
//!
//! NIST SP 800-63B style: 12 to 128 characters, no composition rules, refused when
//! on the shipped list of common passwords or made of one repeated character.

use serde::{Deserialize, Serialize};

pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 128;

const COMMON: &str = include_str!("common-passwords.txt");

/// A password that passed the policy. Never serialized back out, never logged.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(…)")
    }
}

impl TryFrom<String> for NewPassword {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw)
    }
}

impl Serialize for NewPassword {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Only ever sent from the browser to the server function that sets it.
        s.serialize_str(&self.0)
    }
}

impl NewPassword {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let length = raw.chars().count();
        if length < MIN_LENGTH {
            return Err(format!("use at least {MIN_LENGTH} characters"));
        }
        if length > MAX_LENGTH {
            return Err(format!("use at most {MAX_LENGTH} characters"));
        }
        if is_common(raw) {
            return Err("this password is too common; choose a less predictable one".into());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

fn is_common(raw: &str) -> bool {
    let folded = raw.trim().to_lowercase();
    let mut chars = folded.chars();
    let first = chars.next();
    if first.is_some() && chars.all(|c| Some(c) == first) {
        return true;
    }
    COMMON
        .lines()
        .filter(|l| !l.starts_with('#'))
        .any(|l| l == folded)
}

#[cfg(feature = "ssr")]
pub use hashing::{hash, verify, verify_against_nothing, PARAMS};

#[cfg(feature = "ssr")]
mod hashing {
    use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
    use argon2::{Algorithm, Argon2, Params, PasswordVerifier, Version};
    use std::sync::OnceLock;

    use super::NewPassword;

    /// OWASP's first argon2id configuration: 19 MiB, 2 iterations, 1 lane.
    pub const PARAMS: (u32, u32, u32) = (19 * 1024, 2, 1);

    fn argon2() -> Argon2<'static> {
        let (m, t, p) = PARAMS;
        #[allow(clippy::expect_used)]
        let params = Params::new(m, t, p, None).expect("constant argon2 parameters are valid");
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    /// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`). CPU-heavy: call it from
    /// `spawn_blocking`.
    pub fn hash(password: &NewPassword) -> Result<String, String> {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| format!("password hashing failed: {e}"))
    }

    /// Whether `candidate` matches the stored hash. Parameters come from the hash
    /// itself, so older hashes keep verifying after a parameter change.
    pub fn verify(stored: &str, candidate: &str) -> bool {
        match PasswordHash::new(stored) {
            Ok(parsed) => argon2()
                .verify_password(candidate.as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        }
    }

    /// Spends the same time as a real verification, so an unknown email cannot be
    /// told apart from a wrong password by timing.
    pub fn verify_against_nothing(candidate: &str) {
        static DUMMY: OnceLock<String> = OnceLock::new();
        let stored = DUMMY.get_or_init(|| {
            NewPassword::parse("an unguessable placeholder password")
                .ok()
                .and_then(|p| hash(&p).ok())
                .unwrap_or_default()
        });
        let _ = verify(stored, candidate);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_bounds_are_enforced_without_composition_rules() {
        assert!(NewPassword::parse("short pass").is_err());
        assert!(NewPassword::parse(&"x".repeat(MAX_LENGTH + 1)).is_err());
        // Lower-case words only: long enough, so accepted.
        assert!(NewPassword::parse("violet harbor lantern").is_ok());
    }

    #[test]
    fn common_and_repeated_passwords_are_refused() {
        for bad in [
            "password1234",
            "Password1234",
            "123456789012",
            "qwertyuiop123",
            "zzzzzzzzzzzzzzz",
        ] {
            assert!(NewPassword::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn debug_output_hides_the_password() {
        let p = NewPassword::parse("violet harbor lantern").expect("valid");
        assert!(!format!("{p:?}").contains("violet"));
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn hashes_are_argon2id_and_verify() {
        let p = NewPassword::parse("violet harbor lantern").expect("valid");
        let stored = hash(&p).expect("hash");
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(verify(&stored, "violet harbor lantern"));
        assert!(!verify(&stored, "violet harbor lanterns"));
        assert!(!verify("not a hash", "violet harbor lantern"));
    }
}
