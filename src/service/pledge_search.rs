//! Finding a pledge for HR (admin page): by NIP (or staff number) or by part of the name,
//! within the caller's instansi only.

use crate::domain::nip::normalize_identifier;
use crate::domain::{ValidationError, text};
use crate::service::error::ServiceResult;
use crate::store::{PledgeView, Store};

/// At most this many pledges are listed per search.
pub const LIMIT: i64 = 50;
/// A name search needs this many characters, so that a letter does not list everyone.
const MIN_NAME_CHARS: usize = 3;

/// Pledges of `instansi_id` whose NIP is `q` (written with or without separators) or whose
/// name contains `q`, newest first; annulled ones too.
pub async fn search(
    store: &dyn Store,
    instansi_id: i64,
    q: &str,
) -> ServiceResult<Vec<PledgeView>> {
    let q = text::clean(q, "q")?;
    let q = q.trim();
    if q.chars().count() < MIN_NAME_CHARS {
        return Err(ValidationError::new(
            "query_too_short",
            "q",
            "Ketik NIP atau paling sedikit 3 huruf nama.",
        )
        .into());
    }
    let number = normalize_identifier(q);
    let pattern = format!("%{}%", q.to_lowercase().replace(['%', '_', '\\'], ""));
    Ok(store
        .search_pledges(instansi_id, &number, &pattern, LIMIT)
        .await?)
}
