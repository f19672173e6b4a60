//! Extractors that answer in the API's error shape: JSON bodies, query strings, and the
//! client address (behind trusted proxies, IPv6 counted per /64).

use std::net::{IpAddr, SocketAddr};

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use super::error::AppError;
use crate::http::state::AppState;

/// `axum::Json` whose rejections use the API's error shape (400, or 413 over the limit).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_error(rejection)),
        }
    }
}

fn json_error(rejection: JsonRejection) -> AppError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "Isi permintaan terlalu besar.",
        );
    }
    let message = match &rejection {
        JsonRejection::MissingJsonContentType(_) => {
            "Permintaan harus berupa JSON (Content-Type: application/json).".to_string()
        }
        JsonRejection::JsonDataError(e) => {
            format!("Data JSON tidak sesuai: {}", e.body_text())
        }
        _ => "Isi permintaan bukan JSON yang sah.".to_string(),
    };
    AppError::bad_request("json_invalid", message)
}

/// `axum::extract::Query` whose rejections use the API's error shape.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned> FromRequestParts<AppState> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| {
                AppError::bad_request(
                    "query_invalid",
                    format!("Parameter tidak sah: {}", e.body_text()),
                )
            })
    }
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
