//! Runtime configuration: built-in defaults (this repository's Leptos.toml), then the
//! Leptos.toml file next to the server, then environment variables.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use app::db::Backend;

const DEFAULTS: &str = include_str!("../../Leptos.toml");
const DEFAULT_TERMS: &str = include_str!("../../legal/terms.md");
const DEFAULT_DPA: &str = include_str!("../../legal/dpa.md");

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub site_addr: SocketAddr,
    pub base_domain: String,
    pub site_root: PathBuf,
    pub environment: Environment,
    pub database_url: String,
    pub database_owner_url: Option<String>,
    pub database_max_connections: u32,
    pub cookie_secure: bool,
    pub idle_timeout_seconds: u32,
    pub absolute_timeout_hours: u32,
    /// Per-IP requests per minute to each sign-in-like endpoint.
    pub rate_limit_per_minute: u32,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    /// Twilio's REST API (`twilio.api_base`); a local fake in tests.
    pub twilio_api: String,
    /// Meta's Graph API with its version (`whatsapp.api_base`).
    pub whatsapp_api: String,
    /// Stripe's API (`stripe.api_base`); a local fake in tests.
    pub stripe_api: String,
    /// Razorpay's API (`razorpay.api_base`); a local fake in tests.
    pub razorpay_api: String,
    /// The platform's Stripe account for clinics' subscriptions
    /// (`subscriptions.stripe_secret_key`); empty: subscriptions closed.
    pub subscriptions_stripe_key: String,
    /// Signs Stripe's events to `/webhooks/subscriptions/stripe`
    /// (`subscriptions.stripe_webhook_secret`).
    pub subscriptions_webhook_secret: String,
    /// Days from a first failed renewal to read-only records
    /// (`subscriptions.grace_days`).
    pub grace_days: u32,
    /// Which provider new subscriptions go through (`subscriptions.provider`:
    /// `stripe`, the default, or `razorpay`).
    pub subscriptions_provider: app::payments::Provider,
    /// The platform's Razorpay account (`subscriptions.razorpay_key_id`,
    /// `subscriptions.razorpay_key_secret`, `subscriptions.razorpay_webhook_secret`);
    /// empty key id: no Razorpay subscriptions.
    pub subscriptions_razorpay: Option<(String, String, String)>,
    /// The platform WhatsApp app's webhook verify token (`whatsapp.verify_token`,
    /// stable key); empty: the handshake is refused.
    pub whatsapp_verify_token: String,
    /// The platform WhatsApp app's secret (`whatsapp.app_secret`, stable key);
    /// empty: no event is believed.
    pub whatsapp_app_secret: String,
    /// Job-queue workers this server runs; 0: none (a separate `medisync worker`
    /// process does the background work).
    pub job_workers: u32,
    pub storage_path: PathBuf,
    /// The name server that checks custom domains' TXT records; `None`: the
    /// machine's resolvers.
    pub dns_server: Option<std::net::SocketAddr>,
    /// The medication knowledge base file; `None`: the one shipped in the build.
    pub knowledge_base: Option<PathBuf>,
    /// The port in links in emails; 0: `site_addr`'s.
    pub public_port: u16,
    /// Proxies whose `X-Forwarded-For` is believed; empty: none.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Encrypts secrets at rest; `None` only in development.
    pub secret_key: Option<[u8; 32]>,
    /// The terms of service clinics accept (text, from `legal.terms_file`).
    pub terms_text: String,
    /// The data processing agreement (text, from `legal.dpa_file`).
    pub dpa_text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// A configuration problem, naming the key and where its value came from.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid TOML: {message}")]
    Syntax { path: String, message: String },
    #[error("unknown configuration key {key} in {path}")]
    UnknownKey { key: String, path: String },
    #[error("invalid configuration value for {key} (from {origin}): {message}")]
    Invalid {
        key: String,
        origin: String,
        message: String,
    },
}

/// One raw value and where it came from.
#[derive(Debug, Clone)]
struct Raw {
    value: toml::Value,
    origin: String,
}

/// Loads the configuration from `path` (if the file exists) and `env`.
pub fn load(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
    let mut values = flatten(DEFAULTS, "built-in defaults")?;
    if path.exists() {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let origin = path.display().to_string();
        for (key, raw) in flatten(&text, &origin)? {
            if !values.contains_key(&key) {
                return Err(ConfigError::UnknownKey { key, path: origin });
            }
            values.insert(key, raw);
        }
    }
    apply_env(&mut values, env)?;
    Config::from_values(&values)
}

/// Loads from `path` and the process environment.
pub fn load_from_env(path: &Path) -> Result<Config, ConfigError> {
    load(path, &|name| std::env::var(name).ok())
}

fn flatten(text: &str, origin: &str) -> Result<BTreeMap<String, Raw>, ConfigError> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::Syntax {
            path: origin.to_owned(),
            message: e.message().to_owned(),
        })?;
    let mut out = BTreeMap::new();
    for (section, body) in table {
        let toml::Value::Table(body) = body else {
            return Err(ConfigError::UnknownKey {
                key: section,
                path: origin.to_owned(),
            });
        };
        for (key, value) in body {
            let raw = Raw {
                value,
                origin: origin.to_owned(),
            };
            out.insert(format!("{section}.{key}"), raw);
        }
    }
    Ok(out)
}

/// The environment variable that overrides `section.key`.
pub fn env_name(key: &str) -> String {
    format!("MEDISYNC_{}", key.replace('.', "_").to_uppercase())
}

/// Variables set by convention elsewhere that we honour too (lower precedence).
const ALIASES: &[(&str, &str)] = &[
    ("database.url", "DATABASE_URL"),
    ("server.site_addr", "LEPTOS_SITE_ADDR"),
    ("server.site_root", "LEPTOS_SITE_ROOT"),
];

fn apply_env(
    values: &mut BTreeMap<String, Raw>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    for (key, raw) in values.iter_mut() {
        let alias = ALIASES
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, name)| *name);
        let primary = env_name(key);
        let found = env(&primary)
            .map(|v| (primary.clone(), v))
            .or_else(|| alias.and_then(|name| env(name).map(|v| (name.to_owned(), v))));
        let Some((name, text)) = found else { continue };
        let origin = format!("environment variable {name}");
        let invalid = |message: &str| ConfigError::Invalid {
            key: key.clone(),
            origin: origin.clone(),
            message: message.to_owned(),
        };
        let value = match &raw.value {
            toml::Value::Integer(_) => toml::Value::Integer(
                text.trim()
                    .parse()
                    .map_err(|_| invalid("expected a whole number"))?,
            ),
            toml::Value::Boolean(_) => toml::Value::Boolean(match text.trim() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                _ => return Err(invalid("expected true or false")),
            }),
            _ => toml::Value::String(text),
        };
        *raw = Raw { value, origin };
    }
    Ok(())
}

struct Reader<'a> {
    values: &'a BTreeMap<String, Raw>,
}

impl Reader<'_> {
    fn raw(&self, key: &str) -> Result<&Raw, ConfigError> {
        self.values.get(key).ok_or_else(|| ConfigError::Invalid {
            key: key.to_owned(),
            origin: "built-in defaults".into(),
            message: "missing".into(),
        })
    }

    fn fail<T>(&self, key: &str, message: impl Into<String>) -> Result<T, ConfigError> {
        let origin = self.raw(key).map(|r| r.origin.clone()).unwrap_or_default();
        Err(ConfigError::Invalid {
            key: key.to_owned(),
            origin,
            message: message.into(),
        })
    }

    fn string(&self, key: &str) -> Result<String, ConfigError> {
        match &self.raw(key)?.value {
            toml::Value::String(s) => Ok(s.trim().to_owned()),
            _ => self.fail(key, "expected text in quotes"),
        }
    }

    /// The text of the file `key` names, or `default` when it names none.
    fn text_file(&self, key: &str, default: &str) -> Result<String, ConfigError> {
        let Some(path) = self.optional(key)? else {
            return Ok(default.to_owned());
        };
        match std::fs::read_to_string(&path) {
            Ok(text) if !text.trim().is_empty() => Ok(text),
            Ok(_) => self.fail(key, format!("{path} is empty")),
            Err(e) => self.fail(key, format!("cannot read {path}: {e}")),
        }
    }

    fn optional(&self, key: &str) -> Result<Option<String>, ConfigError> {
        Ok(Some(self.string(key)?).filter(|s| !s.is_empty()))
    }

    fn number(&self, key: &str, range: std::ops::RangeInclusive<i64>) -> Result<u32, ConfigError> {
        match self.raw(key)?.value {
            toml::Value::Integer(n) if range.contains(&n) => {
                u32::try_from(n).or_else(|_| self.fail(key, "out of range"))
            }
            toml::Value::Integer(_) => self.fail(
                key,
                format!("must be between {} and {}", range.start(), range.end()),
            ),
            _ => self.fail(key, "expected a whole number"),
        }
    }

    fn boolean(&self, key: &str) -> Result<bool, ConfigError> {
        match self.raw(key)?.value {
            toml::Value::Boolean(b) => Ok(b),
            _ => self.fail(key, "expected true or false"),
        }
    }
}

impl Config {
    fn from_values(values: &BTreeMap<String, Raw>) -> Result<Self, ConfigError> {
        let r = Reader { values };
        let site_addr = r.string("server.site_addr")?.parse().or_else(|_| {
            r.fail(
                "server.site_addr",
                "expected an address such as 127.0.0.1:3000",
            )
        })?;
        let base_domain = r.string("server.base_domain")?.to_lowercase();
        if !is_host_name(&base_domain) {
            return r.fail(
                "server.base_domain",
                "expected a host name such as medisync.example",
            );
        }
        let environment = match r.string("server.environment")?.as_str() {
            "development" => Environment::Development,
            "production" => Environment::Production,
            _ => return r.fail("server.environment", "expected development or production"),
        };
        let database_url = r.string("database.url")?;
        if let Err(e) = Backend::from_url(&database_url) {
            return r.fail("database.url", e.to_string());
        }
        let database_owner_url = r.optional("database.owner_url")?;
        if let Some(owner) = &database_owner_url {
            if Backend::from_url(owner).ok() != Some(Backend::Postgres) {
                return r.fail(
                    "database.owner_url",
                    "expected a postgres:// URL (or empty)",
                );
            }
        }
        let smtp_url = r.optional("mail.smtp_url")?;
        if let Some(url) = &smtp_url {
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return r.fail(
                    "mail.smtp_url",
                    "expected smtp://... or smtps://... (or empty)",
                );
            }
        }
        let mail_from = r.string("mail.from")?;
        if !mail_from.contains('@') {
            return r.fail(
                "mail.from",
                "expected a sender such as MediSync <no-reply@example.com>",
            );
        }
        let twilio_api = r.string("twilio.api_base")?;
        if !(twilio_api.starts_with("https://") || twilio_api.starts_with("http://")) {
            return r.fail(
                "twilio.api_base",
                "expected https://api.twilio.com (or another http(s) address)",
            );
        }
        let whatsapp_api = r.string("whatsapp.api_base")?;
        if !(whatsapp_api.starts_with("https://") || whatsapp_api.starts_with("http://")) {
            return r.fail(
                "whatsapp.api_base",
                "expected https://graph.facebook.com/v21.0 (or another http(s) address)",
            );
        }
        let stripe_api = r.string("stripe.api_base")?;
        if !(stripe_api.starts_with("https://") || stripe_api.starts_with("http://")) {
            return r.fail(
                "stripe.api_base",
                "expected https://api.stripe.com (or another http(s) address)",
            );
        }
        let razorpay_api = r.string("razorpay.api_base")?;
        if !(razorpay_api.starts_with("https://") || razorpay_api.starts_with("http://")) {
            return r.fail(
                "razorpay.api_base",
                "expected https://api.razorpay.com (or another http(s) address)",
            );
        }
        let subscriptions_stripe_key = r
            .optional("subscriptions.stripe_secret_key")?
            .unwrap_or_default();
        let subscriptions_webhook_secret = r
            .optional("subscriptions.stripe_webhook_secret")?
            .unwrap_or_default();
        if !subscriptions_stripe_key.is_empty() {
            if !app::payments::stripe::is_secret_key(&subscriptions_stripe_key) {
                return r.fail(
                    "subscriptions.stripe_secret_key",
                    "expected a Stripe secret key (sk_live_..., sk_test_... or rk_...)",
                );
            }
            if !app::payments::stripe::is_webhook_secret(&subscriptions_webhook_secret) {
                return r.fail(
                    "subscriptions.stripe_webhook_secret",
                    "expected the endpoint's signing secret (whsec_...) when a secret key is set",
                );
            }
        }
        let subscriptions_provider = match r.optional("subscriptions.provider")?.as_deref() {
            None | Some("" | "stripe") => app::payments::Provider::Stripe,
            Some("razorpay") => app::payments::Provider::Razorpay,
            Some(_) => return r.fail("subscriptions.provider", "expected stripe or razorpay"),
        };
        let razorpay_key_id = r
            .optional("subscriptions.razorpay_key_id")?
            .unwrap_or_default();
        let subscriptions_razorpay = if razorpay_key_id.is_empty() {
            None
        } else {
            if !app::payments::razorpay::is_key_id(&razorpay_key_id) {
                return r.fail(
                    "subscriptions.razorpay_key_id",
                    "expected a Razorpay key id (rzp_live_... or rzp_test_...)",
                );
            }
            let secret = r
                .optional("subscriptions.razorpay_key_secret")?
                .unwrap_or_default();
            let webhook = r
                .optional("subscriptions.razorpay_webhook_secret")?
                .unwrap_or_default();
            if secret.len() < 8 {
                return r.fail(
                    "subscriptions.razorpay_key_secret",
                    "expected the key secret that goes with the key id",
                );
            }
            if webhook.len() < 8 {
                return r.fail(
                    "subscriptions.razorpay_webhook_secret",
                    "expected the webhook's secret (at least 8 characters) when a key id is set",
                );
            }
            Some((razorpay_key_id, secret, webhook))
        };
        if subscriptions_provider == app::payments::Provider::Razorpay
            && subscriptions_razorpay.is_none()
        {
            return r.fail(
                "subscriptions.provider",
                "razorpay needs subscriptions.razorpay_key_id, razorpay_key_secret and razorpay_webhook_secret",
            );
        }
        let site_root = PathBuf::from(r.string("server.site_root")?);
        let storage_path = PathBuf::from(r.string("storage.path")?);
        if storage_path.as_os_str().is_empty() {
            return r.fail("storage.path", "expected a folder path");
        }
        let dns_server = match r.optional("server.dns_server")? {
            None => None,
            Some(text) => match text.parse() {
                Ok(addr) => Some(addr),
                Err(_) => return r.fail(
                    "server.dns_server",
                    "expected ip:port such as 127.0.0.1:53, or empty for the system's resolvers",
                ),
            },
        };
        let knowledge_base = r.optional("prescribing.knowledge_base")?.map(PathBuf::from);
        let public_port = u16::try_from(r.number("server.public_port", 0..=65535)?)
            .or_else(|_| r.fail("server.public_port", "out of range"))?;
        let mut trusted_proxies = Vec::new();
        for part in r.string("server.trusted_proxies")?.split(',') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            match part.parse() {
                Ok(ip) => trusted_proxies.push(ip),
                Err(_) => {
                    return r.fail(
                        "server.trusted_proxies",
                        format!("{part:?} is not an IP address (expected e.g. 127.0.0.1, ::1)"),
                    )
                }
            }
        }
        let secret_key = match r.optional("session.secret_key")? {
            Some(hex) => match data_encoding::HEXLOWER_PERMISSIVE.decode(hex.as_bytes()) {
                Ok(bytes) if bytes.len() == 32 => {
                    let mut key = [0u8; 32];
                    key.copy_from_slice(&bytes);
                    Some(key)
                }
                _ => {
                    return r.fail(
                        "session.secret_key",
                        "expected 64 hex digits (32 random bytes, e.g. from `openssl rand -hex 32`)",
                    )
                }
            },
            None if environment == Environment::Production => {
                return r.fail(
                    "session.secret_key",
                    "required in production: 64 hex digits (e.g. from `openssl rand -hex 32`) that encrypt two-factor secrets",
                )
            }
            None => None,
        };
        let terms_text = r.text_file("legal.terms_file", DEFAULT_TERMS)?;
        let dpa_text = r.text_file("legal.dpa_file", DEFAULT_DPA)?;
        Ok(Self {
            terms_text,
            dpa_text,
            secret_key,
            dns_server,
            knowledge_base,
            public_port,
            trusted_proxies,
            site_addr,
            base_domain,
            site_root,
            environment,
            database_url,
            database_owner_url,
            database_max_connections: r.number("database.max_connections", 1..=500)?,
            cookie_secure: r.boolean("session.cookie_secure")?,
            idle_timeout_seconds: r.number("session.idle_timeout_seconds", 1..=24 * 3600)?,
            rate_limit_per_minute: r.number("session.rate_limit_per_minute", 1..=100_000)?,
            absolute_timeout_hours: r.number("session.absolute_timeout_hours", 1..=24 * 30)?,
            smtp_url,
            mail_from,
            twilio_api,
            whatsapp_api,
            stripe_api,
            razorpay_api,
            whatsapp_verify_token: r.optional("whatsapp.verify_token")?.unwrap_or_default(),
            whatsapp_app_secret: r.optional("whatsapp.app_secret")?.unwrap_or_default(),
            job_workers: r.number("jobs.workers", 0..=64)?,
            subscriptions_stripe_key,
            subscriptions_webhook_secret,
            grace_days: r.number("subscriptions.grace_days", 0..=365)?,
            subscriptions_provider,
            subscriptions_razorpay,
            storage_path,
        })
    }
}

impl Config {
    /// `http` or `https`, as the site is reached.
    pub fn scheme(&self) -> &'static str {
        if self.cookie_secure {
            "https"
        } else {
            "http"
        }
    }

    /// `:port` for links, empty for the scheme's default port.
    fn port_suffix(&self) -> String {
        let port = match self.public_port {
            0 => self.site_addr.port(),
            port => port,
        };
        match (self.scheme(), port) {
            ("http", 80) | ("https", 443) => String::new(),
            (_, port) => format!(":{port}"),
        }
    }

    /// `scheme://host[:port]` for a host this installation serves (the base domain,
    /// a clinic's subdomain or its verified custom domain), from configuration.
    pub fn origin_of(&self, host: &str) -> String {
        format!("{}://{host}{}", self.scheme(), self.port_suffix())
    }

    /// The platform's own origin: `scheme://base_domain[:port]`.
    pub fn platform_origin(&self) -> String {
        self.origin_of(&self.base_domain)
    }
}

fn is_host_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn load_with(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        load(Path::new("/nonexistent/Leptos.toml"), &env_of(pairs))
    }

    #[test]
    fn defaults_are_valid_and_use_embedded_sqlite() {
        let config = load_with(&[]).expect("defaults load");
        assert_eq!(config.site_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(config.database_url, "sqlite://data/medisync.db");
        assert_eq!(config.base_domain, "localhost");
        assert_eq!(config.environment, Environment::Development);
    }

    #[test]
    fn environment_overrides_every_kind_of_key() {
        let config = load_with(&[
            ("MEDISYNC_SERVER_SITE_ADDR", "0.0.0.0:8080"),
            ("DATABASE_URL", "postgres://app@db/medisync"),
            ("MEDISYNC_DATABASE_MAX_CONNECTIONS", "25"),
            ("MEDISYNC_SESSION_COOKIE_SECURE", "true"),
            ("MEDISYNC_SERVER_BASE_DOMAIN", "Medisync.Example"),
        ])
        .expect("valid overrides");
        assert_eq!(config.site_addr.port(), 8080);
        assert_eq!(config.database_url, "postgres://app@db/medisync");
        assert_eq!(config.database_max_connections, 25);
        assert!(config.cookie_secure);
        assert_eq!(config.base_domain, "medisync.example");
    }

    #[test]
    fn provider_keys_come_from_their_stable_names() {
        let config = load_with(&[
            ("MEDISYNC_WHATSAPP_VERIFY_TOKEN", "verify-me"),
            ("MEDISYNC_WHATSAPP_APP_SECRET", "app-secret"),
            ("MEDISYNC_TWILIO_API_BASE", "http://127.0.0.1:9"),
        ])
        .expect("valid");
        assert_eq!(config.whatsapp_verify_token, "verify-me");
        assert_eq!(config.whatsapp_app_secret, "app-secret");
        assert_eq!(config.twilio_api, "http://127.0.0.1:9");
        let defaults = load_with(&[]).expect("defaults");
        assert_eq!(defaults.twilio_api, "https://api.twilio.com");
        assert_eq!(defaults.stripe_api, "https://api.stripe.com");
        assert_eq!(defaults.razorpay_api, "https://api.razorpay.com");
        let local = load_with(&[
            ("MEDISYNC_STRIPE_API_BASE", "http://127.0.0.1:7"),
            ("MEDISYNC_RAZORPAY_API_BASE", "http://127.0.0.1:8"),
        ])
        .expect("valid");
        assert_eq!(
            (local.stripe_api.as_str(), local.razorpay_api.as_str()),
            ("http://127.0.0.1:7", "http://127.0.0.1:8")
        );
        assert!(defaults
            .whatsapp_api
            .starts_with("https://graph.facebook.com/"));
        assert!(
            defaults.whatsapp_verify_token.is_empty() && defaults.whatsapp_app_secret.is_empty()
        );
        let bad = load_with(&[("MEDISYNC_WHATSAPP_API_BASE", "graph.facebook.com")]);
        assert!(bad.is_err_and(|e| e.to_string().contains("whatsapp.api_base")));
    }

    #[test]
    fn the_medisync_variable_wins_over_its_alias() {
        let config = load_with(&[
            ("DATABASE_URL", "postgres://alias@db/x"),
            ("MEDISYNC_DATABASE_URL", "sqlite://other.db"),
        ])
        .expect("valid");
        assert_eq!(config.database_url, "sqlite://other.db");
    }

    #[test]
    fn invalid_values_name_the_key_and_the_variable() {
        let cases = [
            (
                "MEDISYNC_SERVER_SITE_ADDR",
                "not-an-address",
                "server.site_addr",
            ),
            ("DATABASE_URL", "mysql://x", "database.url"),
            (
                "MEDISYNC_DATABASE_MAX_CONNECTIONS",
                "many",
                "database.max_connections",
            ),
            (
                "MEDISYNC_DATABASE_MAX_CONNECTIONS",
                "0",
                "database.max_connections",
            ),
            (
                "MEDISYNC_SESSION_COOKIE_SECURE",
                "perhaps",
                "session.cookie_secure",
            ),
            (
                "MEDISYNC_SERVER_ENVIRONMENT",
                "staging",
                "server.environment",
            ),
            (
                "MEDISYNC_SERVER_BASE_DOMAIN",
                "bad domain",
                "server.base_domain",
            ),
            ("MEDISYNC_MAIL_SMTP_URL", "http://mail", "mail.smtp_url"),
            (
                "MEDISYNC_SESSION_SECRET_KEY",
                "too-short",
                "session.secret_key",
            ),
            (
                "MEDISYNC_SERVER_TRUSTED_PROXIES",
                "10.0.0.1, proxy.internal",
                "server.trusted_proxies",
            ),
            ("MEDISYNC_SERVER_PUBLIC_PORT", "70000", "server.public_port"),
            (
                "MEDISYNC_LEGAL_TERMS_FILE",
                "/nonexistent/terms.md",
                "legal.terms_file",
            ),
        ];
        for (var, value, key) in cases {
            let err = load_with(&[(var, value)]).expect_err(var).to_string();
            assert!(err.contains(key), "{err} should name {key}");
            assert!(err.contains(var), "{err} should name {var}");
        }
    }

    #[test]
    fn the_operator_publishes_its_own_terms_or_the_shipped_ones_apply() {
        let defaults = load_with(&[]).expect("defaults");
        assert!(defaults.terms_text.starts_with("# Terms of service"));
        assert!(defaults.dpa_text.starts_with("# Data processing agreement"));
        let dir = std::env::temp_dir().join(format!("medisync-legal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let terms = dir.join("terms.md");
        std::fs::write(&terms, "# Our terms\n\nBe kind.").expect("write");
        let config = load_with(&[("MEDISYNC_LEGAL_TERMS_FILE", terms.to_str().expect("utf-8"))])
            .expect("configured terms");
        assert_eq!(config.terms_text, "# Our terms\n\nBe kind.");
        std::fs::write(&terms, "  \n").expect("write");
        let err = load_with(&[("MEDISYNC_LEGAL_TERMS_FILE", terms.to_str().expect("utf-8"))])
            .expect_err("empty terms")
            .to_string();
        assert!(err.contains("empty"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn production_needs_a_secret_key_and_links_use_the_public_port() {
        let err = load_with(&[("MEDISYNC_SERVER_ENVIRONMENT", "production")])
            .expect_err("no key in production")
            .to_string();
        assert!(err.contains("session.secret_key"), "{err}");
        let key = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        let config = load_with(&[
            ("MEDISYNC_SERVER_ENVIRONMENT", "production"),
            ("MEDISYNC_SESSION_SECRET_KEY", key),
            ("MEDISYNC_SESSION_COOKIE_SECURE", "true"),
            ("MEDISYNC_SERVER_BASE_DOMAIN", "clinics.example"),
            ("MEDISYNC_SERVER_SITE_ADDR", "0.0.0.0:3000"),
            ("MEDISYNC_SERVER_PUBLIC_PORT", "443"),
            ("MEDISYNC_SERVER_TRUSTED_PROXIES", "10.0.0.1, ::1"),
        ])
        .expect("valid");
        assert_eq!(config.secret_key.map(|k| k[31]), Some(0xff));
        assert_eq!(config.platform_origin(), "https://clinics.example");
        assert_eq!(
            config.origin_of("acme.clinics.example"),
            "https://acme.clinics.example"
        );
        assert_eq!(config.trusted_proxies.len(), 2);
        let dev = load_with(&[("MEDISYNC_SERVER_SITE_ADDR", "127.0.0.1:3107")]).expect("dev");
        assert_eq!(dev.platform_origin(), "http://localhost:3107");
        assert_eq!(dev.secret_key, None);
    }

    #[test]
    fn a_config_file_overrides_defaults_and_rejects_unknown_keys() {
        let dir = std::env::temp_dir().join(format!("medisync-config-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("Leptos.toml");
        std::fs::write(&file, "[server]\nbase_domain = \"clinics.example\"\n").expect("write");
        let config = load(&file, &env_of(&[])).expect("valid file");
        assert_eq!(config.base_domain, "clinics.example");

        std::fs::write(&file, "[server]\nbase_domian = \"typo.example\"\n").expect("write");
        let err = load(&file, &env_of(&[])).expect_err("typo").to_string();
        assert!(err.contains("server.base_domian"), "{err}");

        std::fs::write(&file, "[server\n").expect("write");
        assert!(matches!(
            load(&file, &env_of(&[])),
            Err(ConfigError::Syntax { .. })
        ));
        std::fs::remove_dir_all(&dir).ok();
    }
}
