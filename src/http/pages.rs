//! Server-rendered HTML in Indonesian: the public pages, the signer's pages, the HR admin
//! pages, the campaign dashboard and the ceremony screen.

pub mod admin;
pub mod admin_pledges;
pub mod campaign_admin;
pub mod ceremony;
pub mod dashboard;
pub mod kiosk;
pub mod login;
pub mod periksa;
pub mod public;
pub mod reminders;
pub mod signing;
pub mod sso;
pub mod transparency;
pub mod verify;

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::http::error::AppError;

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub title: String,
    pub message: String,
}

/// Errors on HTML routes: the same status and message as the API, as a page.
pub fn page_error(e: AppError) -> Response {
    let title = match e.status {
        StatusCode::NOT_FOUND => "Tidak ditemukan",
        StatusCode::GONE => "Tidak berlaku lagi",
        StatusCode::TOO_MANY_REQUESTS => "Terlalu banyak permintaan",
        s if s.is_server_error() => "Terjadi kesalahan",
        _ => "Tidak dapat diproses",
    };
    let mut res = html(
        e.status,
        MessagePage {
            title: title.to_string(),
            message: e.message.clone(),
        },
    );
    if let Some(secs) = e.retry_after {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    res
}

/// An HTML route's result as a response: its error as the error page.
pub fn respond(r: Result<Response, AppError>) -> Response {
    r.unwrap_or_else(page_error)
}

pub fn html(status: StatusCode, page: impl Template) -> Response {
    match page.render() {
        Ok(body) => (status, Html(body)).into_response(),
        Err(e) => AppError::internal(e).into_response(),
    }
}
