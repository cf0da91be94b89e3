//! Counts server-function calls per tenant in memory and adds them to the month's
//! usage row every minute, so counting costs a request nothing but a map update.

use std::collections::HashMap;
use std::sync::Mutex;

use app::db::Db;
use app::tenancy::TenantId;

#[derive(Default)]
pub struct UsageCounter {
    calls: Mutex<HashMap<TenantId, i64>>,
}

impl UsageCounter {
    pub fn count(&self, tenant: TenantId) {
        if let Ok(mut calls) = self.calls.lock() {
            *calls.entry(tenant).or_default() += 1;
        }
    }

    /// Writes what was counted since the last flush. Counts that fail to save are
    /// put back for the next flush.
    pub async fn flush(&self, db: &Db) {
        let pending: Vec<(TenantId, i64)> = match self.calls.lock() {
            Ok(mut calls) => calls.drain().collect(),
            Err(_) => return,
        };
        let month = app::plans::db::month_of(chrono::Utc::now());
        for (tenant, n) in pending {
            let saved = async {
                let mut tx = db.begin_for(tenant).await?;
                app::plans::db::add_api_calls(&mut tx, &month, n).await?;
                tx.commit().await
            }
            .await;
            if let Err(e) = saved {
                tracing::warn!(error = %e, "could not save API usage; retrying next flush");
                if let Ok(mut calls) = self.calls.lock() {
                    *calls.entry(tenant).or_default() += n;
                }
            }
        }
    }
}
