//! A short memory of which tenant an address names.
//!
//! Every request to a clinic's address needs its tenant row (status, branding,
//! settings, sign-in rules). Reading it once per second per address instead of
//! once per request takes a transaction off every request. The memory never makes
//! a change wait longer than [`TenantCache::TTL`]: a suspension, a new plan or new
//! branding committed by *another* instance is seen within a second, and one
//! committed by *this* instance at once (an entry taken before the last commit
//! that changed platform rows is stale, see `Db::platform_generation`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::tenancy::Tenant;

/// How a request names its tenant.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    /// A subdomain label or `/t/{slug}` prefix (already parsed as a slug).
    Slug(String),
    /// A clinic's own domain (lowercase host, no port).
    Domain(String),
}

struct Entry {
    at: Instant,
    generation: u64,
    tenant: Option<Arc<Tenant>>,
}

#[derive(Default)]
pub struct TenantCache {
    entries: Mutex<HashMap<Key, Entry>>,
}

impl TenantCache {
    /// The longest a change made elsewhere can go unseen.
    pub const TTL: Duration = Duration::from_secs(1);
    /// Addresses remembered at once; unknown hosts cannot grow it past this.
    const CAPACITY: usize = 10_000;

    /// The remembered answer (`Some(None)`: no tenant there), if still fresh at
    /// `generation`.
    pub fn get(&self, key: &Key, generation: u64) -> Option<Option<Arc<Tenant>>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get(key)?;
        let fresh = entry.generation == generation && entry.at.elapsed() < Self::TTL;
        fresh.then(|| entry.tenant.clone())
    }

    /// Remembers what the database said about `key` as of `generation` (read
    /// before the lookup started, so a commit during it leaves the entry stale).
    pub fn put(&self, key: Key, generation: u64, tenant: Option<Arc<Tenant>>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= Self::CAPACITY {
            entries.retain(|_, e| e.at.elapsed() < Self::TTL);
            if entries.len() >= Self::CAPACITY {
                entries.clear();
            }
        }
        entries.insert(
            key,
            Entry {
                at: Instant::now(),
                generation,
                tenant,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_stale_after_a_change_or_a_second() {
        let cache = TenantCache::default();
        let key = Key::Slug("acme".into());
        cache.put(key.clone(), 7, None);
        assert_eq!(cache.get(&key, 7).map(|t| t.is_none()), Some(true));
        assert!(
            cache.get(&key, 8).is_none(),
            "a commit since makes it stale"
        );
        assert!(cache.get(&Key::Domain("acme".into()), 7).is_none());
        let old = Instant::now()
            .checked_sub(TenantCache::TTL)
            .expect("a second ago");
        cache
            .entries
            .lock()
            .expect("lock")
            .get_mut(&key)
            .expect("entry")
            .at = old;
        assert!(cache.get(&key, 7).is_none(), "older than the TTL");
    }

    #[test]
    fn unknown_hosts_cannot_grow_it_without_bound() {
        let cache = TenantCache::default();
        for i in 0..(TenantCache::CAPACITY + 10) {
            cache.put(Key::Domain(format!("h{i}.example")), 0, None);
        }
        let len = cache.entries.lock().expect("lock").len();
        assert!(len <= TenantCache::CAPACITY, "{len}");
    }
}
