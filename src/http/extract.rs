//! Extractors that answer in the API's error shape, in Indonesian and without internals:
//! JSON and form bodies, raw bodies, multipart forms, path and query parameters (SPEC 4.6);
//! and the client address (behind trusted proxies, IPv6 counted per /64). Handlers use
//! these, never axum's own, whose rejections are English plain text.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::rejection::{
    BytesRejection, FormRejection, JsonRejection, PathRejection, QueryRejection,
};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::error::AppError;
use crate::http::conn::is_body_timeout;
use crate::http::state::AppState;

/// An extractor's refusal: the API's error shape, marked with [`Rejected`] so that requests
/// from a browser page can be answered with the HTML error page instead (see `http.rs`).
#[derive(Debug)]
pub struct Rejection(pub AppError);

/// The mark an extractor's refusal (or an unknown route, or a wrong method) leaves on its
/// response: the message to show on an HTML page.
#[derive(Clone, Debug)]
pub struct Rejected {
    pub code: &'static str,
    pub message: String,
}

impl From<AppError> for Rejection {
    fn from(e: AppError) -> Rejection {
        Rejection(e)
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let mark = Rejected {
            code: self.0.code,
            message: self.0.message.clone(),
        };
        let timed_out = self.0.status == StatusCode::REQUEST_TIMEOUT;
        let mut res = self.0.into_response();
        if timed_out {
            // The rest of a late body is not waited for: this connection is done.
            res.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        res.extensions_mut().insert(mark);
        res
    }
}

fn too_large() -> AppError {
    AppError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        "Isi permintaan terlalu besar.",
    )
}

fn body_timeout() -> AppError {
    AppError::new(
        StatusCode::REQUEST_TIMEOUT,
        "body_timeout",
        "Isi permintaan tidak terkirim lengkap dalam batas waktu. Periksa koneksi lalu coba lagi.",
    )
}

fn wrong_content_type(expected: &str) -> AppError {
    AppError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "content_type_invalid",
        format!("Jenis isi permintaan tidak didukung: kirim sebagai {expected}."),
    )
}

/// A body that could not be read: too large, too late, or broken off.
fn body_error(rejection: &BytesRejection) -> AppError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else if is_body_timeout(rejection) {
        body_timeout()
    } else {
        AppError::bad_request(
            "body_invalid",
            "Isi permintaan tidak dapat dibaca sampai selesai.",
        )
    }
}

/// `axum::Json` whose rejections use the API's error shape: 400 malformed, 422 wrong data,
/// 415 not JSON, 413 over the limit, 408 too slow.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(Rejection(json_error(rejection))),
        }
    }
}

fn json_error(rejection: JsonRejection) -> AppError {
    match &rejection {
        JsonRejection::BytesRejection(b) => body_error(b),
        JsonRejection::MissingJsonContentType(_) => wrong_content_type("application/json"),
        JsonRejection::JsonDataError(_) => AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "json_invalid",
            "Data JSON tidak sesuai: ada kolom wajib yang tidak ada, kolom yang tidak dikenal, \
             atau nilai dengan jenis yang salah.",
        ),
        _ => AppError::bad_request("json_invalid", "Isi permintaan bukan JSON yang sah."),
    }
}

/// `axum::Form` (URL-encoded) whose rejections use the API's error shape.
pub struct ApiForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiForm<T> {
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Rejection> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(ApiForm(v)),
            Err(FormRejection::BytesRejection(b)) => Err(Rejection(body_error(&b))),
            Err(FormRejection::InvalidFormContentType(_)) => Err(Rejection(wrong_content_type(
                "application/x-www-form-urlencoded",
            ))),
            Err(_) => Err(Rejection(AppError::bad_request(
                "form_invalid",
                "Isian formulir tidak sah. Muat ulang halaman lalu coba lagi.",
            ))),
        }
    }
}

/// The whole body as bytes (within the route's body limit), refusals in the error shape.
pub struct ApiBytes(pub Bytes);

impl FromRequest<AppState> for ApiBytes {
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Rejection> {
        Bytes::from_request(req, state)
            .await
            .map(ApiBytes)
            .map_err(|e| Rejection(body_error(&e)))
    }
}

/// `axum::extract::Multipart`, refusals in the error shape; read its fields' errors with
/// [`multipart_error`].
pub struct ApiMultipart(pub axum::extract::Multipart);

impl FromRequest<AppState> for ApiMultipart {
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Rejection> {
        axum::extract::Multipart::from_request(req, state)
            .await
            .map(ApiMultipart)
            .map_err(|_| Rejection(wrong_content_type("multipart/form-data")))
    }
}

/// A multipart field that could not be read: too large, too late, or malformed.
pub fn multipart_error(e: axum::extract::multipart::MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else if is_body_timeout(&e) {
        body_timeout()
    } else {
        AppError::bad_request(
            "form_invalid",
            "Isian formulir tidak dapat dibaca. Muat ulang halaman lalu coba lagi.",
        )
    }
}

/// `axum::extract::Path` whose rejections use the API's error shape.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiPath<T> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(rejection) => Err(Rejection(path_error(&rejection))),
        }
    }
}

fn path_error(rejection: &PathRejection) -> AppError {
    use axum::extract::path::ErrorKind;
    let e = AppError::bad_request("path_invalid", "Alamat yang diminta tidak sah.");
    match rejection {
        PathRejection::FailedToDeserializePathParams(f) => match f.kind() {
            ErrorKind::ParseErrorAtKey { key, .. } | ErrorKind::InvalidUtf8InPathParam { key } => {
                e.field(key.clone())
            }
            _ => e,
        },
        _ => e,
    }
}

/// `axum::extract::Query` whose rejections use the API's error shape.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned> FromRequestParts<AppState> for ApiQuery<T> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|_: QueryRejection| {
                Rejection(AppError::bad_request(
                    "query_invalid",
                    "Parameter alamat (query) tidak sah: ada yang tidak dikenal, hilang, atau \
                     jenisnya salah.",
                ))
            })
    }
}

/// A known route asked with a method it does not answer.
pub async fn wrong_method() -> Rejection {
    Rejection(AppError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "Metode permintaan ini tidak didukung untuk alamat ini.",
    ))
}

/// The client's address for rate limiting and evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .ok_or_else(|| AppError::internal("no connection info on the request"))?;
        Ok(ClientAddr(client_ip(
            peer,
            &parts.headers,
            &state.trusted_proxies,
        )))
    }
}

/// The peer, or — when the peer is a trusted proxy — the right-most untrusted address of
/// `X-Forwarded-For` (entries left of it can be forged by the client).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let mut chain: Vec<IpAddr> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(text) = value.to_str() else {
            return peer;
        };
        for part in text.split(',') {
            match part.trim().parse::<IpAddr>() {
                Ok(ip) => chain.push(ip),
                Err(_) => return peer,
            }
        }
    }
    chain
        .into_iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

/// The signer's evidence from the request: client address and user agent (never public).
pub fn evidence(client: std::net::IpAddr, headers: &HeaderMap) -> (Option<String>, Option<String>) {
    let user_agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| crate::domain::text::cut_utf8(s, 512).to_string());
    (Some(client.to_string()), user_agent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::state::rate_key;

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().expect("header value"));
        h
    }

    #[test]
    fn ignores_forwarded_for_from_untrusted_peers() {
        let peer: IpAddr = "203.0.113.9".parse().expect("ip");
        assert_eq!(client_ip(peer, &xff("1.2.3.4"), &[]), peer);
    }

    #[test]
    fn takes_rightmost_untrusted_entry_behind_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().expect("ip");
        let got = client_ip(
            proxy,
            &xff("6.6.6.6, 198.51.100.7, 10.0.0.2"),
            &[proxy, "10.0.0.2".parse().expect("ip")],
        );
        assert_eq!(got, "198.51.100.7".parse::<IpAddr>().expect("ip"));
    }

    #[test]
    fn counts_ipv6_per_64() {
        let a = rate_key("2001:db8:1:2:aaaa::1".parse().expect("ip"));
        let b = rate_key("2001:db8:1:2:bbbb::9".parse().expect("ip"));
        let c = rate_key("2001:db8:1:3::1".parse().expect("ip"));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
