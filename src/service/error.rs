//! The one error of the use-case layer. A use case either breaks a rule (with a stable code
//! and an Indonesian sentence for people), or fails underneath (store, sequencer, rendering),
//! keeping its source. The ways in decide how each is shown: `http::error` maps kinds to
//! statuses, the CLI prints the sentence.

use std::sync::Arc;

use crate::domain::ValidationError;
use crate::domain::roster::RowErrors;
use crate::service::sequencer::SequencerError;
use crate::store::StoreError;

/// What kind of "no" a refusal is; `http::error` maps each to one status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalKind {
    /// Unknown, or another instansi's (never tell which).
    NotFound,
    /// Was valid once: revoked, replaced, expired, closed.
    Gone,
    /// Not allowed for this caller, or not yet.
    Forbidden,
    /// The state already changed (annulled twice, a duplicate).
    Conflict,
    /// A malformed request parameter (not a rule of the domain).
    Malformed,
    /// Too many attempts; `retry_after` seconds.
    TooMany { retry_after: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Input that breaks a domain rule, naming its field.
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    /// A roster with bad rows: nothing was imported.
    #[error("{}", .0.summary())]
    Rows(RowErrors),
    #[error("{}", .0.message)]
    Refused(Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sequencer(#[from] Arc<SequencerError>),
    /// Work that cannot fail on valid input failed (rendering, a worker thread).
    #[error("{what}: {source}")]
    Internal {
        what: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    pub fn refused(kind: RefusalKind, code: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Refused(Refusal {
            kind,
            code,
            message: message.into(),
            field: None,
        })
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::refused(RefusalKind::NotFound, code, message)
    }

    pub fn gone(code: &'static str, message: impl Into<String>) -> Self {
        Self::refused(RefusalKind::Gone, code, message)
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::refused(RefusalKind::Forbidden, code, message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::refused(RefusalKind::Conflict, code, message)
    }

    pub fn malformed(code: &'static str, message: impl Into<String>) -> Self {
        Self::refused(RefusalKind::Malformed, code, message)
    }

    /// The object does not exist, or belongs to another instansi: the same answer for both.
    pub fn unknown() -> Self {
        Self::not_found("not_found", "Data yang diminta tidak ditemukan.")
    }

    /// Names the input a refusal is about.
    pub fn field(mut self, name: impl Into<String>) -> Self {
        if let ServiceError::Refused(r) = &mut self {
            r.field = Some(name.into());
        }
        self
    }

    pub fn internal(
        what: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        ServiceError::Internal {
            what,
            source: source.into(),
        }
    }
}

/// CPU work off the async threads (PDF, XLSX, roster parsing); a panicked worker is an
/// internal error, not a crash of the request.
pub async fn blocking<T: Send + 'static>(
    what: &'static str,
    work: impl FnOnce() -> T + Send + 'static,
) -> ServiceResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ServiceError::internal(what, e))
}
