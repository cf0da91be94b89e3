//! Proof that a clinic controls its custom domain: a TXT record with the clinic's
//! token at `_medisync-verification.<domain>`. Until it is found, requests for the
//! domain are not served as the clinic, so no clinic can take another's domain.

use std::net::SocketAddr;
use std::sync::Arc;

use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::TokioResolver;

/// Looks TXT records up; cheap to clone.
#[derive(Clone)]
pub struct DomainVerifier {
    resolver: Arc<TokioResolver>,
}

impl std::fmt::Debug for DomainVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DomainVerifier")
    }
}

/// The name of the TXT record that proves control of `domain`.
pub fn record_name(domain: &str) -> String {
    format!("_medisync-verification.{domain}")
}

/// The TXT record's expected text.
pub fn record_value(token: &str) -> String {
    format!("medisync-verification={token}")
}

impl DomainVerifier {
    /// The machine's own resolvers (`/etc/resolv.conf`).
    pub fn system() -> Result<Self, String> {
        let builder = TokioResolver::builder_tokio().map_err(|e| e.to_string())?;
        Ok(Self {
            resolver: Arc::new(builder.build()),
        })
    }

    /// One given name server, over UDP and TCP.
    pub fn using(server: SocketAddr) -> Self {
        let servers = NameServerConfigGroup::from_ips_clear(&[server.ip()], server.port(), true);
        let config = ResolverConfig::from_parts(None, vec![], servers);
        let mut builder =
            TokioResolver::builder_with_config(config, TokioConnectionProvider::default());
        builder.options_mut().attempts = 1;
        builder.options_mut().cache_size = 0;
        Self {
            resolver: Arc::new(builder.build()),
        }
    }

    /// Whether `domain` publishes `token`. A missing record, or a name server that
    /// does not answer, is "not yet" (logged), never an error for the person.
    pub async fn publishes(&self, domain: &str, token: &str) -> bool {
        let expected = record_value(token);
        match self.resolver.txt_lookup(record_name(domain)).await {
            Ok(found) => found.iter().any(|txt| {
                let text: Vec<u8> = txt
                    .txt_data()
                    .iter()
                    .flat_map(|part| part.iter().copied())
                    .collect();
                text == expected.as_bytes()
            }),
            Err(e) => {
                tracing::info!(error = %e, "domain verification lookup found nothing");
                false
            }
        }
    }
}
