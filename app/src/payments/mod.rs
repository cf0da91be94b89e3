//! Online payment providers, as they document their HTTP APIs: Stripe
//! (Checkout Sessions, Refunds, `Stripe-Signature` webhooks) and Razorpay
//! (Payment Links, Refunds, `X-Razorpay-Signature` webhooks). Billing calls
//! them to let a patient pay an invoice with the clinic's own keys; nothing
//! here knows about invoices or clinics. No card data ever reaches MediSync:
//! the patient pays on the provider's page.

use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod razorpay;
#[cfg(feature = "ssr")]
pub mod razorpay_billing;
#[cfg(feature = "ssr")]
pub mod stripe;
#[cfg(feature = "ssr")]
pub mod stripe_billing;

/// A provider a clinic is paid through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Provider {
    Stripe,
    Razorpay,
}

crate::text::text_enum!(Provider { Stripe => "stripe", Razorpay => "razorpay" });

impl Provider {
    pub const ALL: [Provider; 2] = [Provider::Stripe, Provider::Razorpay];

    pub fn label(self) -> &'static str {
        match self {
            Self::Stripe => "Stripe",
            Self::Razorpay => "Razorpay",
        }
    }
}

/// A clinic's keys for one provider, secrets opened.
#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct Keys {
    /// Razorpay's key id (`rzp_...`), the user name of its HTTP Basic auth;
    /// Stripe needs none.
    pub key_id: Option<String>,
    /// Stripe's secret key (`sk_...`, or a restricted `rk_...`); Razorpay's key secret.
    pub secret_key: String,
    /// The secret that signs the provider's webhooks to this clinic.
    pub webhook_secret: String,
}

#[cfg(feature = "ssr")]
impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// What a payment page is opened for.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone)]
pub struct PageRequest<'a> {
    /// Minor units (cents, paise).
    pub amount: i64,
    /// ISO 4217, any case.
    pub currency: &'a str,
    /// What the patient sees on the page ("Invoice INV-00042").
    pub description: &'a str,
    /// Our id for this attempt: the provider's idempotency key and reference.
    pub reference: &'a str,
    /// Where the patient's browser goes afterwards (it proves nothing: only
    /// the signed webhook records a payment).
    pub return_url: &'a str,
    pub cancel_url: &'a str,
    /// Unix seconds after which the page no longer takes money.
    pub expires_at: i64,
}

/// A payment page the provider opened.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The provider's id for it (`cs_...`, `plink_...`).
    pub id: String,
    pub url: String,
}

/// Money the provider says it took for a page: its payment's id, amount and currency.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paid {
    pub payment: String,
    pub amount: i64,
    pub currency: String,
}

/// Where a payment page stands, by its provider.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageState {
    /// Nothing paid yet (or a payment still settling).
    Open,
    Paid(Paid),
    /// The payment failed or the page expired: it will take no money.
    Closed,
}

/// How a provider call ended (the channels' classification: refused with the
/// provider's words, unreachable, or unknown).
#[cfg(feature = "ssr")]
pub use crate::channels::Sent as Outcome;

/// The refusal of an id that is not of the kind a provider's call takes
/// ("not a subscription id"); nothing is sent.
#[cfg(feature = "ssr")]
fn not_an_id(what: &str) -> Outcome {
    Outcome::Refused {
        code: None,
        message: format!("not a {what} id"),
        retry: false,
    }
}

/// The providers' addresses (local fakes in tests) and one HTTP client.
#[cfg(feature = "ssr")]
#[derive(Clone, Debug)]
pub struct Gateways {
    /// `https://api.stripe.com` (`stripe.api_base`).
    pub stripe_api: String,
    /// `https://api.razorpay.com` (`razorpay.api_base`).
    pub razorpay_api: String,
    pub http: reqwest::Client,
}

#[cfg(feature = "ssr")]
impl Gateways {
    pub fn new(stripe_api: &str, razorpay_api: &str) -> Self {
        let http = crate::channels::provider_client();
        Self {
            stripe_api: stripe_api.trim_end_matches('/').to_owned(),
            razorpay_api: razorpay_api.trim_end_matches('/').to_owned(),
            http,
        }
    }

    /// Opens a payment page for `request` with the clinic's keys.
    pub async fn open_page(
        &self,
        provider: Provider,
        keys: &Keys,
        request: &PageRequest<'_>,
    ) -> Result<Page, Outcome> {
        match provider {
            Provider::Stripe => {
                stripe::create_checkout(&self.http, &self.stripe_api, keys, request).await
            }
            Provider::Razorpay => {
                razorpay::create_link(&self.http, &self.razorpay_api, keys, request).await
            }
        }
    }

    /// Asks the provider where a page stands (the reconciliation poll).
    pub async fn page_state(
        &self,
        provider: Provider,
        keys: &Keys,
        page: &str,
    ) -> Result<PageState, Outcome> {
        match provider {
            Provider::Stripe => stripe::session(&self.http, &self.stripe_api, keys, page).await,
            Provider::Razorpay => razorpay::link(&self.http, &self.razorpay_api, keys, page).await,
        }
    }

    /// Gives back `amount` of a payment the provider took; the refund's id.
    /// `reference` is our id for the refund (the idempotency key).
    pub async fn refund(
        &self,
        provider: Provider,
        keys: &Keys,
        payment: &str,
        amount: i64,
        reference: &str,
    ) -> Result<String, Outcome> {
        match provider {
            Provider::Stripe => {
                stripe::refund(
                    &self.http,
                    &self.stripe_api,
                    keys,
                    payment,
                    amount,
                    reference,
                )
                .await
            }
            Provider::Razorpay => {
                razorpay::refund(
                    &self.http,
                    &self.razorpay_api,
                    keys,
                    payment,
                    amount,
                    reference,
                )
                .await
            }
        }
    }
}

/// Hex HMAC-SHA256 of `parts`, concatenated, under `secret` (both providers'
/// webhook scheme).
#[cfg(feature = "ssr")]
fn hmac_sha256(secret: &str, parts: &[&[u8]]) -> hmac::Hmac<sha2::Sha256> {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    for part in parts {
        mac.update(part);
    }
    mac
}

/// Whether hex `given` is the HMAC of `parts` (constant time).
#[cfg(feature = "ssr")]
fn hmac_matches(secret: &str, parts: &[&[u8]], given: &str) -> bool {
    use hmac::Mac;
    let Ok(given) = data_encoding::HEXLOWER_PERMISSIVE.decode(given.trim().as_bytes()) else {
        return false;
    };
    !secret.is_empty() && hmac_sha256(secret, parts).verify_slice(&given).is_ok()
}

#[cfg(feature = "ssr")]
fn hmac_hex(secret: &str, parts: &[&[u8]]) -> String {
    use hmac::Mac;
    data_encoding::HEXLOWER.encode(&hmac_sha256(secret, parts).finalize().into_bytes())
}

/// An amount the providers take: positive, and within what their APIs accept.
pub fn payable(amount: i64) -> bool {
    (1..=99_999_999_999).contains(&amount)
}
