//! Invoices paid online, through the clinic's own Stripe or Razorpay account.
//!
//! The patient opens a provider's payment page from the portal; the money is
//! recorded only when the provider says so: its signed webhook
//! (`POST /webhooks/stripe/{tenant}`, `POST /webhooks/razorpay/{tenant}`,
//! stable addresses) or the reconciliation job asking the provider about a page
//! nobody heard back on. Never from the browser coming back. Both paths go
//! through [`settle`], and the database records a provider's payment once.

use serde::{Deserialize, Serialize};

use crate::payments::Provider;

/// The clinic's connection to a provider, as staff see it (no secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub provider: Provider,
    /// The secret key's kind and last four characters (`sk_test_…4242`).
    pub key_hint: String,
    pub key_id: Option<String>,
    /// Where the provider must send its webhooks for this clinic.
    pub webhook_url: String,
    pub connected_at: String,
}

/// How a webhook was received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// Believed and acted on (or handled before: a duplicate).
    Handled,
    /// Believed, but about nothing this clinic knows (answered 2xx, as the
    /// providers expect).
    Ignored,
    /// No such clinic or provider here, or a bad or stale signature.
    NotBelieved,
    /// Signed, but not an event we can read.
    Incomplete,
}

/// Webhook addresses (stable); `{tenant}` is the clinic's slug.
pub const STRIPE_WEBHOOK_PATH: &str = "/webhooks/stripe/{tenant}";
pub const RAZORPAY_WEBHOOK_PATH: &str = "/webhooks/razorpay/{tenant}";

/// The webhook address of a clinic for a provider.
pub fn webhook_url(origin: &str, provider: Provider, slug: &str) -> String {
    format!(
        "{}/webhooks/{}/{slug}",
        origin.trim_end_matches('/'),
        provider.as_str()
    )
}

/// How long a payment page takes money (Stripe allows 30 minutes to 24 hours,
/// Razorpay at least 15 minutes).
pub const PAGE_LIFETIME_MINUTES: i64 = 60;

/// Job kind: ask the provider about a page nobody heard back on.
pub const RECONCILE_JOB: &str = crate::jobs::kinds::PAYMENT_RECONCILE;

#[cfg(feature = "ssr")]
pub use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    use chrono::{DateTime, Duration, NaiveDate, Utc};
    use uuid::Uuid;

    use super::{AccountView, Received, RECONCILE_JOB};
    use crate::billing::{db as billing, DocumentKind, InvoiceStatus, PaymentMethod};
    use crate::db::{Db, DbError, TenantTx};
    use crate::identity::audit::{self, Actor, RequestMeta};
    use crate::jobs::{Done, Failure, Job, NewJob};
    use crate::payments::{
        razorpay, stripe, Gateways, Keys, Outcome, PageRequest, PageState, Paid, Provider,
    };
    use crate::tenancy::TenantId;

    fn seal_context(tenant: TenantId, provider: Provider) -> Vec<u8> {
        format!("payments:{tenant}:{provider}").into_bytes()
    }

    /// Checks keys as typed (or given on the command line); the error names the field.
    pub fn check_keys(
        provider: Provider,
        key_id: Option<&str>,
        secret_key: &str,
        webhook_secret: &str,
    ) -> Result<Keys, (&'static str, String)> {
        let secret_key = secret_key.trim();
        let webhook_secret = webhook_secret.trim();
        let key_id = key_id.map(str::trim).filter(|k| !k.is_empty());
        let plain =
            |s: &str| (8..=255).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic());
        match provider {
            Provider::Stripe => {
                if !stripe::is_secret_key(secret_key) {
                    return Err((
                        "secret_key",
                        "expected Stripe's secret key (sk_live_…, sk_test_… or a restricted rk_…)"
                            .into(),
                    ));
                }
                if !stripe::is_webhook_secret(webhook_secret) {
                    return Err((
                        "webhook_secret",
                        "expected the webhook endpoint's signing secret (whsec_…)".into(),
                    ));
                }
                Ok(Keys {
                    key_id: None,
                    secret_key: secret_key.to_owned(),
                    webhook_secret: webhook_secret.to_owned(),
                })
            }
            Provider::Razorpay => {
                // `rzp_…:secret` carries both in one value.
                let (key_id, secret) = match (key_id, secret_key.split_once(':')) {
                    (Some(id), _) => (Some(id), secret_key),
                    (None, Some((id, secret))) => (Some(id), secret),
                    (None, None) => (None, secret_key),
                };
                if key_id.is_some_and(|id| !razorpay::is_key_id(id)) {
                    return Err((
                        "key_id",
                        "expected Razorpay's key id (rzp_live_… or rzp_test_…)".into(),
                    ));
                }
                if !plain(secret) {
                    return Err((
                        "secret_key",
                        "expected Razorpay's key secret (8 or more characters, no spaces)".into(),
                    ));
                }
                if !plain(webhook_secret) {
                    return Err(("webhook_secret", "expected the webhook secret set in Razorpay's dashboard (8 or more characters, no spaces)".into()));
                }
                Ok(Keys {
                    key_id: key_id.map(str::to_owned),
                    secret_key: secret.to_owned(),
                    webhook_secret: webhook_secret.to_owned(),
                })
            }
        }
    }

    fn hint(secret: &str) -> String {
        let kind: String = secret
            .char_indices()
            .filter(|(_, c)| *c == '_')
            .nth(1)
            .map_or(String::new(), |(i, _)| secret[..=i].to_owned());
        let tail: String = secret
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("{kind}…{tail}")
    }

    /// Stores the clinic's keys for a provider, secrets sealed; `by` is empty
    /// when an operator sets them from the command line.
    pub async fn connect(
        tx: &mut TenantTx,
        provider: Provider,
        keys: &Keys,
        by: Option<Uuid>,
    ) -> Result<(), DbError> {
        let context = seal_context(tx.tenant_id(), provider);
        let secret = crate::identity::secrets::seal(&keys.secret_key, &context);
        let webhook = crate::identity::secrets::seal(&keys.webhook_secret, &context);
        tx.execute(
            "INSERT INTO payment_accounts (tenant_id, provider, key_id, secret_sealed, webhook_secret_sealed, \
             key_hint, connected_at, connected_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (tenant_id, provider) DO UPDATE SET key_id = $3, secret_sealed = $4, \
             webhook_secret_sealed = $5, key_hint = $6, connected_at = $7, connected_by = $8",
            &[
                provider.as_str().into(),
                keys.key_id.as_deref().into(),
                secret.as_str().into(),
                webhook.as_str().into(),
                hint(&keys.secret_key).as_str().into(),
                Utc::now().into(),
                by.into(),
            ],
        )
        .await
        .map(drop)
    }

    pub async fn disconnect(tx: &mut TenantTx, provider: Provider) -> Result<(), DbError> {
        tx.execute(
            "DELETE FROM payment_accounts WHERE tenant_id = $1 AND provider = $2",
            &[provider.as_str().into()],
        )
        .await
        .map(drop)
    }

    #[derive(sqlx::FromRow)]
    struct AccountRow {
        key_id: Option<String>,
        secret_sealed: String,
        webhook_secret_sealed: String,
    }

    /// The clinic's keys for `provider`, opened; `None` when not connected. A
    /// secret that does not open (the installation's key changed) is an error.
    pub async fn keys(tx: &mut TenantTx, provider: Provider) -> Result<Option<Keys>, DbError> {
        let Some(row) = tx
            .fetch_optional::<AccountRow>(
                "SELECT key_id, secret_sealed, webhook_secret_sealed FROM payment_accounts \
                 WHERE tenant_id = $1 AND provider = $2",
                &[provider.as_str().into()],
            )
            .await?
        else {
            return Ok(None);
        };
        let context = seal_context(tx.tenant_id(), provider);
        let open = |sealed: &str| {
            crate::identity::secrets::open(sealed, &context).ok_or_else(|| {
                DbError::Corrupt(format!(
                    "the {} keys do not open with this installation's key",
                    provider.label()
                ))
            })
        };
        Ok(Some(Keys {
            key_id: row.key_id,
            secret_key: open(&row.secret_sealed)?,
            webhook_secret: open(&row.webhook_secret_sealed)?,
        }))
    }

    /// The providers the clinic connected, for its settings page.
    pub async fn accounts(
        tx: &mut TenantTx,
        origin: &str,
        slug: &str,
        tz: chrono_tz::Tz,
    ) -> Result<Vec<AccountView>, DbError> {
        let rows: Vec<(String, String, Option<String>, DateTime<Utc>)> = tx
            .fetch_all(
                "SELECT provider, key_hint, key_id, connected_at FROM payment_accounts \
                 WHERE tenant_id = $1 ORDER BY provider",
                &[],
            )
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(provider, key_hint, key_id, at)| {
                let provider = provider.parse::<Provider>().ok()?;
                Some(AccountView {
                    provider,
                    key_hint,
                    key_id,
                    webhook_url: super::webhook_url(origin, provider, slug),
                    connected_at: at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
                })
            })
            .collect())
    }

    /// The providers a patient can pay through here.
    pub async fn connected(tx: &mut TenantTx) -> Result<Vec<Provider>, DbError> {
        let rows: Vec<(String,)> = tx
            .fetch_all(
                "SELECT provider FROM payment_accounts WHERE tenant_id = $1 ORDER BY provider DESC",
                &[],
            )
            .await?;
        Ok(rows.into_iter().filter_map(|(p,)| p.parse().ok()).collect())
    }

    /// `medisync payments set`: an operator sets a clinic's keys (audited,
    /// with nobody as the actor). The error is a sentence for the terminal.
    pub async fn set_by_operator(
        db: &Db,
        slug: &str,
        provider: Provider,
        keys: &Keys,
    ) -> Result<(), String> {
        let slug = crate::tenancy::Slug::parse(slug)
            .map_err(|_| format!("{slug:?} is not a clinic address"))?;
        let mut read = db.begin_platform_read().await.map_err(|e| e.to_string())?;
        let tenant = crate::tenancy::db::find_by_slug(&mut read, &slug)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no clinic at {}", slug.as_str()))?;
        drop(read);
        let mut tx = db.begin_for(tenant.id).await.map_err(|e| e.to_string())?;
        connect(&mut tx, provider, keys, None)
            .await
            .map_err(|e| e.to_string())?;
        audit::record(
            &mut tx,
            Actor::NOBODY,
            "billing.payments_connected",
            Some(&format!("{provider} (command line)")),
            &RequestMeta::default(),
        )
        .await
        .map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())
    }

    /// What a provider took for an invoice: the provider and its payment id.
    pub struct PaidOnline {
        pub provider: Provider,
        pub payment: String,
        pub keys: Keys,
    }

    /// The provider payment that paid an invoice online (the latest), with the
    /// clinic's keys for it; `None` when it was not paid online.
    pub async fn paid_online(
        tx: &mut TenantTx,
        invoice: Uuid,
    ) -> Result<Option<PaidOnline>, DbError> {
        let found: Option<(String, Option<String>)> = tx
            .fetch_optional(
                "SELECT c.provider, p.reference FROM online_checkouts c JOIN payments p \
                 ON p.tenant_id = c.tenant_id AND p.id = c.payment_id \
                 WHERE c.tenant_id = $1 AND c.invoice_id = $2 AND c.status = 'paid' \
                 ORDER BY c.settled_at DESC LIMIT 1",
                &[invoice.into()],
            )
            .await?;
        let Some((provider, Some(payment))) = found else {
            return Ok(None);
        };
        let provider = provider.parse::<Provider>().map_err(DbError::Corrupt)?;
        let Some(keys) = keys(tx, provider).await? else {
            return Err(DbError::Invalid(format!(
                "{} is no longer connected: connect it again to refund through it",
                provider.label()
            )));
        };
        Ok(Some(PaidOnline {
            provider,
            payment,
            keys,
        }))
    }

    /// What names a refund at the provider: the credit note, what was already
    /// refunded against it and the amount. A retry after a lost answer (nothing
    /// recorded, so the same three) reaches the provider under the same name and
    /// is answered with the first refund (Stripe's `Idempotency-Key`, Razorpay's
    /// receipt looked up first); a later, deliberate refund has a new name.
    /// 35 characters (Razorpay's receipt takes at most 40).
    pub fn refund_reference(credit_note: Uuid, refunded_before: i64, amount: i64) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("{credit_note}:{refunded_before}:{amount}"));
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        format!("rf_{hex}")
    }

    /// Gives `amount` back through the provider under `reference`
    /// ([`refund_reference`]); its refund id, or what to tell the member of staff.
    pub async fn refund_through_provider(
        gateways: &Gateways,
        paid: &PaidOnline,
        amount: i64,
        reference: &str,
    ) -> Result<String, String> {
        gateways
            .refund(paid.provider, &paid.keys, &paid.payment, amount, reference)
            .await
            .map_err(|outcome| match outcome {
                Outcome::Refused { message, .. } => format!(
                    "{} refused the refund: {}",
                    paid.provider.label(),
                    message.chars().take(200).collect::<String>()
                ),
                _ => format!(
                    "{} could not be reached; nothing was recorded. Check the provider's dashboard before trying again.",
                    paid.provider.label()
                ),
            })
    }

    // ------------------------------------------------------------ pages --

    /// Why a payment page could not be opened, in the patient's words.
    #[derive(Debug)]
    pub enum OpenError {
        Db(DbError),
        /// Said to the patient as is.
        Refused(String),
    }

    impl From<DbError> for OpenError {
        fn from(e: DbError) -> Self {
            Self::Db(e)
        }
    }

    /// What the portal needs to open a page.
    pub struct OpenRequest<'a> {
        pub tenant: TenantId,
        pub invoice: Uuid,
        pub patient: Uuid,
        pub provider: Provider,
        /// Where the patient comes back to (the portal's bills page), without a query.
        pub return_to: &'a str,
        pub now: DateTime<Utc>,
    }

    /// Opens (or reuses) a payment page for what the patient still owes on an
    /// invoice; the page's address.
    pub async fn open_page(
        db: &Db,
        gateways: &Gateways,
        r: &OpenRequest<'_>,
    ) -> Result<String, OpenError> {
        let refused = |m: &str| OpenError::Refused(m.to_owned());
        let mut tx = db.begin_for(r.tenant).await?;
        let not_yours = || refused("This bill is not yours, or not issued yet.");
        let invoice = billing::invoice(&mut tx, r.invoice)
            .await?
            .filter(|i| i.kind == DocumentKind::Invoice && i.status == InvoiceStatus::Issued)
            .ok_or_else(not_yours)?;
        // A bill of a duplicate record merged into the patient's is theirs too;
        // the payment is recorded on the record the bill belongs to.
        if !crate::patients::merge::db::is_part_of(&mut tx, invoice.patient_id, r.patient).await? {
            return Err(not_yours());
        }
        if invoice.outstanding <= 0 {
            return Err(refused("Nothing is owed on this bill."));
        }
        if !crate::payments::payable(invoice.outstanding) {
            return Err(refused(
                "This amount cannot be paid online; please pay at the clinic.",
            ));
        }
        let Some(keys) = keys(&mut tx, r.provider).await? else {
            return Err(refused(
                "The clinic does not take payments online this way.",
            ));
        };
        // A page still open for the same amount is offered again.
        let open: Option<(String,)> = tx
            .fetch_optional(
                "SELECT page_url FROM online_checkouts WHERE tenant_id = $1 AND invoice_id = $2 \
                 AND provider = $3 AND status = 'open' AND amount = $4 AND expires_at > $5 \
                 ORDER BY created_at DESC LIMIT 1",
                &[
                    r.invoice.into(),
                    r.provider.as_str().into(),
                    invoice.outstanding.into(),
                    (r.now + Duration::minutes(5)).into(),
                ],
            )
            .await?;
        if let Some((url,)) = open {
            return Ok(url);
        }
        let id = Uuid::now_v7();
        let expires = r.now + Duration::minutes(super::PAGE_LIFETIME_MINUTES);
        tx.execute(
            "INSERT INTO online_checkouts (tenant_id, id, provider, invoice_id, patient_id, amount, currency, \
             status, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'opening', $8, $9)",
            &[
                id.into(),
                r.provider.as_str().into(),
                r.invoice.into(),
                invoice.patient_id.into(),
                invoice.outstanding.into(),
                invoice.currency.as_str().into(),
                r.now.into(),
                expires.into(),
            ],
        )
        .await?;
        // The provider is asked about it later whatever happens next.
        schedule_reconcile(&mut tx, id, expires + Duration::minutes(2)).await?;
        tx.commit().await?;

        let number = invoice.number.clone().unwrap_or_default();
        let description = format!("Invoice {number}");
        let reference = id.to_string();
        let return_url = format!("{}?checkout={id}", r.return_to);
        let page = gateways
            .open_page(
                r.provider,
                &keys,
                &PageRequest {
                    amount: invoice.outstanding,
                    currency: &invoice.currency,
                    description: &description,
                    reference: &reference,
                    return_url: &return_url,
                    cancel_url: r.return_to,
                    expires_at: expires.timestamp(),
                },
            )
            .await;
        let mut tx = db.begin_for(r.tenant).await?;
        // Only a web address is ever offered to the patient as a link.
        let page = page.and_then(|p| {
            if p.url.starts_with("https://") || p.url.starts_with("http://") {
                Ok(p)
            } else {
                Err(Outcome::Unknown(
                    "the provider's page address is not a web address".into(),
                ))
            }
        });
        let answer = match page {
            Ok(page) => {
                tx.execute(
                    "UPDATE online_checkouts SET status = 'open', page_id = $3, page_url = $4 \
                     WHERE tenant_id = $1 AND id = $2 AND status = 'opening'",
                    &[id.into(), page.id.as_str().into(), page.url.as_str().into()],
                )
                .await?;
                Ok(page.url)
            }
            Err(outcome) => {
                // Refused or unreachable: nothing opened. Unknown: a page may
                // exist; its webhook still finds this row by our reference.
                tx.execute(
                    "UPDATE online_checkouts SET status = 'closed', settled_at = $3 \
                     WHERE tenant_id = $1 AND id = $2 AND status = 'opening'",
                    &[id.into(), r.now.into()],
                )
                .await?;
                tracing::warn!(provider = %r.provider, why = %outcome_words(&outcome), "payment page not opened");
                Err(refused(&format!(
                    "{} could not open a payment page just now; please try again in a moment, or pay at the clinic.",
                    r.provider.label()
                )))
            }
        };
        tx.commit().await?;
        answer
    }

    fn outcome_words(o: &Outcome) -> String {
        match o {
            Outcome::Accepted { .. } => "accepted".into(),
            Outcome::Refused { message, .. } => format!("refused: {message}"),
            Outcome::Unreachable(m) | Outcome::Unknown(m) => m.clone(),
        }
    }

    /// Asks the provider about the page at `at`, whatever happens before.
    async fn schedule_reconcile(
        tx: &mut TenantTx,
        checkout: Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let tenant = tx.tenant_id();
        let job = NewJob::new(RECONCILE_JOB, format!("reconcile:{tenant}:{checkout}"), at)
            .payload(format!("{tenant} {checkout}"));
        crate::jobs::db::enqueue(tx.platform(), &job)
            .await
            .map(drop)
    }

    // ----------------------------------------------------------- settling --

    #[derive(sqlx::FromRow)]
    struct CheckoutRow {
        id: Uuid,
        provider: String,
        invoice_id: Uuid,
        patient_id: Uuid,
        currency: String,
        status: String,
        page_id: Option<String>,
    }

    const SELECT_CHECKOUT: &str =
        "SELECT id, provider, invoice_id, patient_id, currency, status, page_id \
         FROM online_checkouts WHERE tenant_id = $1";

    /// Finds our page by the provider's id for it, or by our reference.
    async fn find(
        tx: &mut TenantTx,
        provider: Provider,
        page: Option<&str>,
        reference: Option<&str>,
    ) -> Result<Option<CheckoutRow>, DbError> {
        if let Some(page) = page {
            let row = tx
                .fetch_optional::<CheckoutRow>(
                    &format!("{SELECT_CHECKOUT} AND provider = $2 AND page_id = $3"),
                    &[provider.as_str().into(), page.into()],
                )
                .await?;
            if row.is_some() {
                return Ok(row);
            }
        }
        let Some(id) = reference.and_then(|r| r.parse::<Uuid>().ok()) else {
            return Ok(None);
        };
        tx.fetch_optional::<CheckoutRow>(
            &format!("{SELECT_CHECKOUT} AND provider = $2 AND id = $3"),
            &[provider.as_str().into(), id.into()],
        )
        .await
    }

    /// How settling a page ended.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Settled {
        /// Recorded now, with this receipt number.
        Recorded(String),
        /// Recorded before (by the other path, or a duplicate event).
        AlreadyRecorded,
        /// Not a page of ours.
        Unknown,
    }

    /// Records what the provider took for a page, once: a payment by the
    /// patient, online, put against the invoice up to what it still owes (the
    /// rest is the patient's credit), and the page marked paid.
    async fn settle(
        tx: &mut TenantTx,
        checkout: &CheckoutRow,
        paid: &Paid,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Settled, DbError> {
        if checkout.status == "paid" {
            return Ok(Settled::AlreadyRecorded);
        }
        let recorded: Option<(Uuid,)> = tx
            .fetch_optional(
                "SELECT id FROM payments WHERE tenant_id = $1 AND kind = 'payment' AND method = 'online' \
                 AND reference = $2",
                &[paid.payment.as_str().into()],
            )
            .await?;
        if recorded.is_some() {
            return Ok(Settled::AlreadyRecorded);
        }
        if paid.currency != checkout.currency || !crate::payments::payable(paid.amount) {
            // Money taken in another currency than the invoice's: said loudly,
            // left for the clinic to reconcile by hand.
            tracing::error!(checkout = %checkout.id, "online payment in an unexpected currency or amount: not recorded");
            return Err(DbError::Invalid(
                "the provider reports a payment in another currency than the invoice's".into(),
            ));
        }
        let invoice = billing::invoice(tx, checkout.invoice_id)
            .await?
            .ok_or(DbError::NotFound)?;
        let settings = billing::settings(tx).await?;
        let put = paid.amount.min(invoice.outstanding.max(0));
        let (payment, number) = billing::record_payment(
            tx,
            &billing::NewPayment {
                patient: checkout.patient_id,
                method: PaymentMethod::Online,
                amount: paid.amount,
                currency: &paid.currency,
                reference: Some(&paid.payment),
                by: None,
                day: today,
            },
            &[(checkout.invoice_id, put)],
            &settings,
        )
        .await?;
        tx.execute(
            "UPDATE online_checkouts SET status = 'paid', payment_id = $3, settled_at = $4 \
             WHERE tenant_id = $1 AND id = $2",
            &[checkout.id.into(), payment.into(), now.into()],
        )
        .await?;
        audit::record_for_patient(
            tx,
            Actor::NOBODY,
            None,
            checkout.patient_id,
            "payment.received_online",
            Some(&number),
            &RequestMeta::default(),
        )
        .await?;
        Ok(Settled::Recorded(number))
    }

    /// A page that will take no money (failed, expired): closed, unless paid.
    async fn close(
        tx: &mut TenantTx,
        checkout: &CheckoutRow,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        tx.execute(
            "UPDATE online_checkouts SET status = 'closed', settled_at = $3 \
             WHERE tenant_id = $1 AND id = $2 AND status IN ('opening', 'open')",
            &[checkout.id.into(), now.into()],
        )
        .await
        .map(drop)
    }

    /// A page as a provider names it: its id, or our reference.
    #[derive(Clone, Copy)]
    struct PageRef<'a> {
        provider: Provider,
        id: Option<&'a str>,
        reference: Option<&'a str>,
    }

    /// Settles within its own transaction; a second path racing this one finds
    /// the payment recorded (the database refuses it twice) and says so.
    async fn settle_once(
        db: &Db,
        (tenant, tz): (TenantId, chrono_tz::Tz),
        page: PageRef<'_>,
        paid: &Paid,
        now: DateTime<Utc>,
    ) -> Result<Settled, DbError> {
        let mut tx = db.begin_for(tenant).await?;
        let Some(checkout) = find(&mut tx, page.provider, page.id, page.reference).await? else {
            return Ok(Settled::Unknown);
        };
        let today = now.with_timezone(&tz).date_naive();
        match settle(&mut tx, &checkout, paid, today, now).await {
            Ok(settled) => {
                tx.commit().await?;
                Ok(settled)
            }
            Err(DbError::Sqlx(sqlx::Error::Database(e))) if e.is_unique_violation() => {
                Ok(Settled::AlreadyRecorded)
            }
            Err(e) => Err(e),
        }
    }

    // ----------------------------------------------------------- webhooks --

    /// The clinic a webhook address names, with its time zone.
    async fn clinic_of(
        db: &Db,
        tenant: &str,
    ) -> Result<Option<(TenantId, chrono_tz::Tz)>, DbError> {
        let Ok(slug) = crate::tenancy::Slug::parse(tenant) else {
            return Ok(None);
        };
        let mut read = db.begin_platform_read().await?;
        let found = crate::tenancy::db::find_by_slug(&mut read, &slug).await?;
        drop(read);
        Ok(found.map(|t| (t.id, t.settings.tz())))
    }

    /// Writes the event down; `false` when it was handled before.
    async fn first_time(
        tx: &mut TenantTx,
        provider: Provider,
        event: &str,
        kind: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let kind: String = kind.chars().take(100).collect();
        let event: String = event.chars().take(255).collect();
        let inserted = tx
            .execute(
                "INSERT INTO payment_events (tenant_id, provider, event_id, kind, received_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, provider, event_id) DO NOTHING",
                &[
                    provider.as_str().into(),
                    event.as_str().into(),
                    kind.as_str().into(),
                    now.into(),
                ],
            )
            .await?;
        Ok(inserted == 1)
    }

    /// A Stripe event at `POST /webhooks/stripe/{tenant}`: believed only when
    /// signed with this clinic's endpoint secret within 300 s; handled once.
    pub async fn stripe_event(
        db: &Db,
        tenant: &str,
        body: &[u8],
        signature: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Received, DbError> {
        let Some((tenant, tz)) = clinic_of(db, tenant).await? else {
            return Ok(Received::NotBelieved);
        };
        let mut tx = db.begin_for(tenant).await?;
        let Some(keys) = keys(&mut tx, Provider::Stripe).await? else {
            return Ok(Received::NotBelieved);
        };
        let Some(signature) = signature else {
            return Ok(Received::NotBelieved);
        };
        if stripe::verify(&keys.webhook_secret, signature, body, now.timestamp())
            != stripe::Verdict::Valid
        {
            return Ok(Received::NotBelieved);
        }
        let Some(event) = stripe::parse_event(body) else {
            return Ok(Received::Incomplete);
        };
        let Some(session) = event.session() else {
            return Ok(Received::Ignored);
        };
        let Some(checkout) = find(
            &mut tx,
            Provider::Stripe,
            Some(&session.id),
            session.client_reference_id.as_deref(),
        )
        .await?
        else {
            return Ok(Received::Ignored);
        };
        if !first_time(&mut tx, Provider::Stripe, &event.id, &event.kind, now).await? {
            return Ok(Received::Handled);
        }
        match event.kind.as_str() {
            stripe::COMPLETED | stripe::ASYNC_SUCCEEDED => {
                if let Some(paid) = session.paid() {
                    // Settled in its own transaction, then the event is kept.
                    tx.commit().await?;
                    let page = PageRef {
                        provider: Provider::Stripe,
                        id: Some(&session.id),
                        reference: session.client_reference_id.as_deref(),
                    };
                    let settled = settle_once(db, (tenant, tz), page, &paid, now).await;
                    return forget_on_failure(db, tenant, Provider::Stripe, &event.id, settled)
                        .await;
                }
                // `unpaid`: an asynchronous method still settling; its own event follows.
            }
            stripe::ASYNC_FAILED | stripe::EXPIRED => close(&mut tx, &checkout, now).await?,
            _ => {}
        }
        tx.commit().await?;
        Ok(Received::Handled)
    }

    /// When settling failed, the event is forgotten so the provider's retry
    /// is handled afresh.
    async fn forget_on_failure(
        db: &Db,
        tenant: TenantId,
        provider: Provider,
        event: &str,
        settled: Result<Settled, DbError>,
    ) -> Result<Received, DbError> {
        match settled {
            Ok(Settled::Unknown) => Ok(Received::Ignored),
            Ok(_) => Ok(Received::Handled),
            Err(e) => {
                let mut tx = db.begin_for(tenant).await?;
                tx.execute(
                    "DELETE FROM payment_events WHERE tenant_id = $1 AND provider = $2 AND event_id = $3",
                    &[provider.as_str().into(), event.into()],
                )
                .await?;
                tx.commit().await?;
                Err(e)
            }
        }
    }

    /// A Razorpay event at `POST /webhooks/razorpay/{tenant}`: believed only
    /// when `X-Razorpay-Signature` signs the raw body with this clinic's webhook
    /// secret; handled once per signed body (`X-Razorpay-Event-Id` is not
    /// signed, so a body re-sent under a new id is still seen).
    pub async fn razorpay_event(
        db: &Db,
        tenant: &str,
        body: &[u8],
        signature: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Received, DbError> {
        let Some((tenant, tz)) = clinic_of(db, tenant).await? else {
            return Ok(Received::NotBelieved);
        };
        let mut tx = db.begin_for(tenant).await?;
        let Some(keys) = keys(&mut tx, Provider::Razorpay).await? else {
            return Ok(Received::NotBelieved);
        };
        let Some(signature) = signature else {
            return Ok(Received::NotBelieved);
        };
        if !razorpay::verify(&keys.webhook_secret, signature, body) {
            return Ok(Received::NotBelieved);
        }
        let Some(event) = razorpay::parse_event(body) else {
            return Ok(Received::Incomplete);
        };
        let Some(link) = event.link().cloned() else {
            return Ok(Received::Ignored);
        };
        let Some(checkout) = find(
            &mut tx,
            Provider::Razorpay,
            Some(&link.id),
            link.reference_id.as_deref(),
        )
        .await?
        else {
            return Ok(Received::Ignored);
        };
        let event_id = razorpay::event_key(body);
        let event_id = event_id.as_str();
        if !first_time(&mut tx, Provider::Razorpay, event_id, &event.event, now).await? {
            return Ok(Received::Handled);
        }
        if let Some(paid) = event.paid() {
            tx.commit().await?;
            let page = PageRef {
                provider: Provider::Razorpay,
                id: Some(&link.id),
                reference: link.reference_id.as_deref(),
            };
            let settled = settle_once(db, (tenant, tz), page, &paid, now).await;
            return forget_on_failure(db, tenant, Provider::Razorpay, event_id, settled).await;
        }
        if razorpay::LINK_CLOSED.contains(&event.event.as_str()) {
            close(&mut tx, &checkout, now).await?;
        }
        tx.commit().await?;
        Ok(Received::Handled)
    }

    // ------------------------------------------------------ reconciliation --

    /// The `payment-reconcile` job: after a page's time is up, asks the
    /// provider about it (a webhook may never have come) and settles or closes it.
    pub async fn reconcile(
        db: &Db,
        gateways: &Gateways,
        job: &Job,
        now: DateTime<Utc>,
    ) -> Result<Done, Failure> {
        let mut parts = job.payload.split(' ');
        let (Some(tenant), Some(checkout)) = (
            parts.next().and_then(|t| t.parse::<Uuid>().ok()),
            parts.next().and_then(|c| c.parse::<Uuid>().ok()),
        ) else {
            return Err(Failure::Permanent("not a payment page".into()));
        };
        let tenant = TenantId::from_uuid(tenant);
        let db_failure = |e: DbError| Failure::Retry(format!("database: {e}"));
        let mut tx = db.begin_for(tenant).await.map_err(db_failure)?;
        let row = tx
            .fetch_optional::<CheckoutRow>(
                &format!("{SELECT_CHECKOUT} AND id = $2"),
                &[checkout.into()],
            )
            .await
            .map_err(db_failure)?;
        let Some(row) = row.filter(|r| r.status == "open" || r.status == "opening") else {
            return Ok(Done::Finished);
        };
        let provider = row
            .provider
            .parse::<Provider>()
            .map_err(Failure::Permanent)?;
        let Some(page) = row.page_id.clone() else {
            // Never opened (or its answer was lost): nothing can be asked.
            close(&mut tx, &row, now).await.map_err(db_failure)?;
            tx.commit().await.map_err(db_failure)?;
            return Ok(Done::Finished);
        };
        let Some(keys) = keys(&mut tx, provider).await.map_err(db_failure)? else {
            return Err(Failure::Permanent(
                "the clinic disconnected the provider; ask it in the provider's dashboard".into(),
            ));
        };
        let tz = tz_of(&mut tx).await.map_err(db_failure)?;
        drop(tx);
        match gateways.page_state(provider, &keys, &page).await {
            Ok(PageState::Paid(paid)) => {
                let page = PageRef {
                    provider,
                    id: Some(&page),
                    reference: None,
                };
                settle_once(db, (tenant, tz), page, &paid, now)
                    .await
                    .map_err(db_failure)?;
                Ok(Done::Finished)
            }
            Ok(PageState::Closed) => {
                let mut tx = db.begin_for(tenant).await.map_err(db_failure)?;
                close(&mut tx, &row, now).await.map_err(db_failure)?;
                tx.commit().await.map_err(db_failure)?;
                Ok(Done::Finished)
            }
            // Still open, or a payment still settling: ask again in an hour.
            Ok(PageState::Open) => Ok(Done::Later(now + Duration::hours(1))),
            Err(Outcome::Refused {
                retry: false,
                message,
                ..
            }) => Err(Failure::Permanent(format!(
                "{} refused the question: {}",
                provider.label(),
                message.chars().take(200).collect::<String>()
            ))),
            Err(other) => Err(Failure::Retry(outcome_words(&other))),
        }
    }

    async fn tz_of(tx: &mut TenantTx) -> Result<chrono_tz::Tz, DbError> {
        let tenant = tx.tenant_id();
        let found = crate::tenancy::db::find_by_id(tx.platform(), tenant).await?;
        Ok(found.map_or(chrono_tz::UTC, |t| t.settings.tz()))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn keys_are_checked_per_provider_and_name_the_field() {
            let stripe = check_keys(
                Provider::Stripe,
                None,
                "sk_test_51Habcdefghijklmnop",
                "whsec_abcdefghijkl",
            );
            assert!(stripe.is_ok());
            let bad = check_keys(
                Provider::Stripe,
                None,
                "pk_test_51Habcdefghijklmnop",
                "whsec_abcdefghijkl",
            );
            assert_eq!(bad.err().map(|e| e.0), Some("secret_key"));
            let bad = check_keys(
                Provider::Stripe,
                None,
                "sk_test_51Habcdefghijklmnop",
                "secret",
            );
            assert_eq!(bad.err().map(|e| e.0), Some("webhook_secret"));
            let rzp = check_keys(
                Provider::Razorpay,
                None,
                "rzp_test_1DP5mmOlF5G5ag:thekeysecret",
                "hooksecret",
            )
            .expect("both in one value");
            assert_eq!(rzp.key_id.as_deref(), Some("rzp_test_1DP5mmOlF5G5ag"));
            assert_eq!(rzp.secret_key, "thekeysecret");
            let bad = check_keys(
                Provider::Razorpay,
                Some("acc_1"),
                "thekeysecret",
                "hooksecret",
            );
            assert_eq!(bad.err().map(|e| e.0), Some("key_id"));
        }

        #[test]
        fn staff_see_only_a_hint_of_the_key() {
            assert_eq!(hint("sk_test_51Habcdefghijklmnop4242"), "sk_test_…4242");
            assert_eq!(hint("thekeysecret"), "…cret");
        }
    }
}
