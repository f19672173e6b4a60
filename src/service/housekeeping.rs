//! Housekeeping: expired admin and signer sessions and finished kiosks are deleted, on a timer of the
//! server and whenever a kiosk starts, so the tables hold only what can still be used.

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::service::audit::now;
use crate::service::error::ServiceResult;
use crate::store::Store;
use crate::store::admin::Purged;

/// How often the server purges.
pub const PURGE_EVERY: Duration = Duration::from_secs(600);

pub async fn purge_expired(store: &dyn Store) -> ServiceResult<Purged> {
    Ok(store.purge_expired(now()).await?)
}

/// Purges every [`PURGE_EVERY`] until the store is dropped.
pub fn spawn_purger(store: &Arc<dyn Store>) {
    let store: Weak<dyn Store> = Arc::downgrade(store);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PURGE_EVERY);
        loop {
            tick.tick().await;
            let Some(store) = store.upgrade() else { break };
            match purge_expired(store.as_ref()).await {
                Ok(p) => tracing::debug!(
                    sessions = p.sessions,
                    signer_sessions = p.signer_sessions,
                    kiosks = p.kiosks,
                    "purged"
                ),
                Err(e) => tracing::warn!(error = %e, "purging expired sessions failed"),
            }
        }
    });
}
