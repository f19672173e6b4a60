//! The audit trail (SPEC 2): every admin action is an append-only event with actor, time
//! and summary. Use cases call [`record`]; the admin page reads [`page`].

use crate::service::error::ServiceResult;
use crate::store::{AuditRow, Store};

/// "Now" for every use case, in Unix seconds: computed in Rust and bound, never SQL's clock.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub async fn record(
    store: &dyn Store,
    instansi_id: Option<i64>,
    actor: &str,
    action: &str,
    summary: &str,
) -> ServiceResult<()> {
    store
        .audit(instansi_id, actor, action, summary, now())
        .await?;
    Ok(())
}

/// Events per page of the audit trail.
pub const PAGE: i64 = 100;

/// One page of an instansi's audit trail, newest first, from before event id `before`.
/// The second value is the cursor of the next page, if there is one.
pub async fn page(
    store: &dyn Store,
    instansi_id: i64,
    before: Option<i64>,
) -> ServiceResult<(Vec<AuditRow>, Option<i64>)> {
    let events = store
        .audit_events(Some(instansi_id), before.unwrap_or(i64::MAX), PAGE)
        .await?;
    let next = (events.len() as i64 == PAGE)
        .then(|| events.last().map(|e| e.id))
        .flatten();
    Ok((events, next))
}

/// One page of an instansi's audit trail in one filter group (`domain::audit::GROUPS`),
/// newest first, from before event id `before`; the cursor of the next page, if any.
pub async fn page_in_group(
    store: &dyn Store,
    instansi_id: i64,
    group: Option<&str>,
    before: Option<i64>,
) -> ServiceResult<(Vec<AuditRow>, Option<i64>)> {
    let pattern = group
        .and_then(crate::domain::audit::group_prefix)
        .map(|p| format!("{p}%"));
    let events = store
        .audit_events_like(
            instansi_id,
            pattern.as_deref(),
            before.unwrap_or(i64::MAX),
            PAGE,
        )
        .await?;
    let next = (events.len() as i64 == PAGE)
        .then(|| events.last().map(|e| e.id))
        .flatten();
    Ok((events, next))
}
