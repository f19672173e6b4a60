//! The one HTTP error type: every failure becomes `{"error": {code, message, field}}` with the
//! right status. Messages are Indonesian sentences; internals are logged, never sent.

use std::sync::Arc;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::domain::ValidationError;
use crate::service::ServiceError;
use crate::service::error::RefusalKind;
use crate::service::sequencer::SequencerError;
use crate::store::StoreError;

#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub retry_after: Option<u64>,
    /// Extra detail merged into the error object (e.g. the bad roster rows).
    pub details: Vec<(&'static str, serde_json::Value)>,
}

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> AppError {
        AppError {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
            details: Vec::new(),
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> AppError {
        self.field = Some(field.into());
        self
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::NOT_FOUND, code, message)
    }

    /// A validation error found in a path or query parameter: malformed request, not a rule.
    pub fn from_query(e: ValidationError) -> AppError {
        AppError::bad_request(e.code, e.message).field(e.field)
    }

    pub fn rate_limited(retry_after: u64) -> AppError {
        AppError {
            retry_after: Some(retry_after.max(1)),
            ..AppError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Terlalu banyak permintaan dari alamat Anda. Silakan coba lagi sebentar lagi.",
            )
        }
    }

    /// Logs the error with its chain of sources, and answers with nothing internal.
    pub fn internal(e: impl std::fmt::Display) -> AppError {
        tracing::error!(error = %e, "internal error");
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Terjadi kesalahan pada server. Silakan coba lagi.",
        )
    }
}

impl From<ValidationError> for AppError {
    fn from(e: ValidationError) -> AppError {
        AppError::new(StatusCode::UNPROCESSABLE_ENTITY, e.code, e.message).field(e.field)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        match e {
            StoreError::NotFound => {
                AppError::not_found("not_found", "Data yang diminta tidak ditemukan.")
            }
            // Two requests raced to create the same thing: the later one learns it exists.
            StoreError::Conflict(_) => AppError::new(
                StatusCode::CONFLICT,
                "conflict",
                "Data ini sudah ada atau baru saja diubah. Muat ulang lalu coba lagi.",
            ),
            // The engine failed under the request (unreachable, restarting, disk full): it is
            // the service being unavailable for a moment, not the request being wrong.
            StoreError::Database(e) => {
                tracing::error!(error = %e, "a database call failed");
                AppError::database_unreachable()
            }
            other => AppError::internal(&other),
        }
    }
}

/// Why signing is stopped, as signers and `/readyz` are told (SPEC 4.6): a code and an
/// Indonesian sentence, never a path or an engine's message.
impl AppError {
    fn unavailable(code: &'static str, message: &str, retry_after: Option<u64>) -> AppError {
        AppError {
            retry_after,
            ..AppError::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
        }
    }

    pub fn key_retired() -> AppError {
        AppError::unavailable(
            "key_retired",
            "Server ini masih memakai kunci tanda tangan lama yang sudah diganti; ia berhenti \
             menandatangani sampai dijalankan ulang dengan kunci baru. Silakan coba lagi sebentar lagi.",
            Some(5),
        )
    }

    pub fn appends_failing() -> AppError {
        AppError::unavailable(
            "appends_failing",
            "Penyimpanan sedang bermasalah, jadi ikrar belum dapat dicatat. Silakan coba lagi \
             sebentar lagi; mengirim ulang aman dan tidak membuat ikrar ganda.",
            Some(2),
        )
    }

    pub fn checkpoint_file_unwritable() -> AppError {
        AppError::unavailable(
            "checkpoint_file_unwritable",
            "Penandatanganan dihentikan: berkas checkpoint pengaman log tidak dapat ditulis. \
             Hubungi operator, lalu coba lagi.",
            Some(5),
        )
    }

    pub fn log_rolled_back() -> AppError {
        AppError::unavailable(
            "log_rolled_back",
            "Penandatanganan dihentikan: basis data lebih lama dari checkpoint terakhir \
             (kemungkinan cadangan lama dipulihkan). Hubungi operator.",
            None,
        )
    }

    pub fn database_unreachable() -> AppError {
        AppError::unavailable(
            "database_unreachable",
            "Basis data sedang tidak dapat dipakai. Silakan coba lagi sebentar lagi.",
            Some(2),
        )
    }
}

impl From<Arc<SequencerError>> for AppError {
    fn from(e: Arc<SequencerError>) -> AppError {
        match e.as_ref() {
            SequencerError::RolledBack { .. } => {
                tracing::error!(error = %e, "refusing to sign");
                AppError::log_rolled_back()
            }
            SequencerError::KeyRetired(_) => AppError::key_retired(),
            SequencerError::CheckpointFile(_) => AppError::checkpoint_file_unwritable(),
            // The transaction was rolled back (or its connection dropped): nothing of this
            // request was stored, and the sequencer retries on its own.
            SequencerError::Store(StoreError::Database(_) | StoreError::LogMoved)
            | SequencerError::Stopped => {
                tracing::error!(error = %e, "an append failed");
                AppError::appends_failing()
            }
            _ => AppError::internal(e.as_ref()),
        }
    }
}

impl From<RefusalKind> for StatusCode {
    fn from(kind: RefusalKind) -> StatusCode {
        match kind {
            RefusalKind::NotFound => StatusCode::NOT_FOUND,
            RefusalKind::Gone => StatusCode::GONE,
            RefusalKind::Forbidden => StatusCode::FORBIDDEN,
            RefusalKind::Conflict => StatusCode::CONFLICT,
            RefusalKind::Malformed => StatusCode::BAD_REQUEST,
            RefusalKind::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }
}

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> AppError {
        match e {
            ServiceError::Invalid(v) => v.into(),
            ServiceError::Rows(bad) => {
                let message = format!("{} Perbaiki lalu unggah ulang.", bad.summary());
                let rows: Vec<serde_json::Value> = bad
                    .errors
                    .iter()
                    .map(|r| {
                        json!({"line": r.line, "column": r.column, "code": r.code, "message": r.message})
                    })
                    .collect();
                AppError {
                    details: vec![
                        ("rows", json!(rows)),
                        ("unchecked_lines", json!(bad.unchecked_lines)),
                    ],
                    ..AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "roster_invalid", message)
                }
            }
            ServiceError::Refused(r) => AppError {
                field: r.field,
                retry_after: match r.kind {
                    RefusalKind::TooMany { retry_after } => Some(retry_after.max(1)),
                    _ => None,
                },
                ..AppError::new(r.kind.into(), r.code, r.message)
            },
            ServiceError::Store(s) => s.into(),
            ServiceError::Sequencer(s) => s.into(),
            internal @ ServiceError::Internal { .. } => AppError::internal(&internal),
        }
    }
}

/// Every error answer's body (SPEC 4.1): `{"error": {code, message, field?}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable machine-readable code, e.g. `nip_invalid`.
    #[schema(example = "nip_invalid")]
    pub code: &'static str,
    /// An Indonesian sentence for people.
    pub message: String,
    /// The field, parameter or path segment at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// More detail for some codes (a refused roster: `rows`, `unchecked_lines`).
    #[serde(flatten)]
    #[schema(ignore)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(status = %self.status, code = self.code, "request failed");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                field: self.field,
                details: self
                    .details
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

pub type AppResult<T> = Result<T, AppError>;
