//! The HTTP edge (SPEC 4.6): header, body and idle deadlines, the connection cap and the
//! per-client limit on event streams, over real TCP with shortened timeouts; every refusal
//! of an extractor, an unknown route or a wrong method in the error shape; and the CSRF
//! header on API calls authenticated by the session cookie.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use ikrar::domain::public_url::PublicUrl;
use ikrar::http::ServeLimits;
use ikrar::store::NewCampaign;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::screens::session;
use crate::support::*;

/// Short enough to keep the suite quick, long enough for a loaded 2-core machine.
fn short_limits() -> ServeLimits {
    ServeLimits {
        header_timeout: Duration::from_millis(400),
        body_timeout: Duration::from_millis(600),
        idle_timeout: Duration::from_millis(1500),
        max_connections: 256,
    }
}

/// An app served over TCP on a free loopback port under `limits`.
async fn spawn_with(limits: ServeLimits) -> (TestApp, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut s = settings();
    s.public_url = PublicUrl::parse(&format!("http://{addr}")).expect("valid");
    let app = TestApp::with_settings(TestDb::new().await, s).await;
    let state = app.state.clone();
    tokio::spawn(async move {
        let _ =
            ikrar::http::serve_with_limits(listener, state, limits, std::future::pending()).await;
    });
    (app, addr)
}

/// Reads until the server closes the connection; `None` if it is still open after `wait`.
async fn read_until_closed(stream: &mut TcpStream, wait: Duration) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(wait, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()
    .map(|()| got)
}

/// Reads one response head and its Content-Length body from a keep-alive connection.
async fn read_response(stream: &mut TcpStream) -> (u16, String) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("an answer in time")
            .expect("read");
        assert!(n > 0, "closed before answering");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().expect("length"))
                })
                .unwrap_or(0);
            if got.len() >= end + 4 + length {
                let status = text[9..12].parse().expect("status");
                return (status, text[end + 4..end + 4 + length].to_string());
            }
        }
    }
}

fn status_of(answer: &[u8]) -> u16 {
    std::str::from_utf8(&answer[9..12])
        .expect("status text")
        .parse()
        .expect("status")
}

fn body_of(answer: &[u8]) -> Value {
    let text = String::from_utf8_lossy(answer);
    let (_, body) = text.split_once("\r\n\r\n").expect("head and body");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[tokio::test]
async fn a_half_sent_request_line_is_closed_after_the_header_timeout() {
    let (_app, addr) = spawn_with(short_limits()).await;
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(b"GET /heal").await.expect("write");
    let answer = read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .expect("the server closes a connection whose headers do not arrive");
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "closed before the header timeout"
    );

    // A connection that sends nothing at all is closed the same way.
    let mut silent = TcpStream::connect(addr).await.expect("connect");
    assert!(
        read_until_closed(&mut silent, Duration::from_secs(5))
            .await
            .is_some()
    );
}

#[tokio::test]
async fn a_half_sent_body_is_cut_off_with_408_in_the_error_shape() {
    let (_app, addr) = spawn_with(short_limits()).await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(
            b"POST /api/v1/sign HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 200\r\n\r\n{\"token\":\"abc",
        )
        .await
        .expect("write");
    let answer = read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .expect("the server closes a connection whose body does not arrive");
    assert_eq!(
        status_of(&answer),
        408,
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let body = body_of(&answer);
    assert_eq!(body["error"]["code"], "body_timeout");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("batas waktu"))
    );

    // The same for a form body on a page, and a raw roster body.
    for (path, content_type) in [
        ("/s/abc", "application/x-www-form-urlencoded"),
        ("/api/v1/roster", "text/csv"),
    ] {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n\
             Authorization: Bearer nope\r\nContent-Length: 500\r\n\r\nconsent=1"
        );
        stream.write_all(head.as_bytes()).await.expect("write");
        let answer = read_until_closed(&mut stream, Duration::from_secs(5))
            .await
            .expect("closed");
        let status = status_of(&answer);
        // The roster route refuses the bad token before it waits for the body.
        assert!(status == 408 || status == 401, "{path}: {status}");
    }
}

#[tokio::test]
async fn an_idle_keep_alive_connection_closes_after_the_idle_timeout_not_before() {
    let (_app, addr) = spawn_with(short_limits()).await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    assert_eq!(read_response(&mut stream).await.0, 200);
    // Idle for longer than the header timeout: still open, and still usable.
    assert!(
        read_until_closed(&mut stream, Duration::from_millis(700))
            .await
            .is_none(),
        "an idle keep-alive connection was closed by the header timeout"
    );
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    assert_eq!(read_response(&mut stream).await.0, 200);
    let started = Instant::now();
    assert!(
        read_until_closed(&mut stream, Duration::from_secs(6))
            .await
            .is_some(),
        "an idle keep-alive connection stays open"
    );
    assert!(started.elapsed() >= Duration::from_millis(1000));
}

#[tokio::test]
async fn other_clients_are_answered_while_slow_connections_are_held() {
    let limits = ServeLimits {
        header_timeout: Duration::from_secs(5),
        body_timeout: Duration::from_secs(5),
        ..short_limits()
    };
    let (_app, addr) = spawn_with(limits).await;
    let mut held = Vec::new();
    for i in 0..120 {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        let head: &[u8] = if i % 2 == 0 {
            b"POST /api/v1/si"
        } else {
            b"POST /api/v1/sign HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 4000\r\n\r\n{\"token\":\"abc"
        };
        s.write_all(head).await.expect("write");
        held.push(s);
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    for _ in 0..10 {
        let res = client
            .get(format!("http://{addr}/healthz"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .expect("answered while slow clients are held");
        assert_eq!(res.status(), 200);
        let keys = client
            .get(format!("http://{addr}/api/v1/keys"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .expect("answered");
        assert_eq!(keys.status(), 200);
    }
    // The slow ones are all still held (the timeouts are longer here).
    let mut probe = held.pop().expect("one");
    assert!(
        read_until_closed(&mut probe, Duration::from_millis(100))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn the_connection_cap_holds_and_a_waiting_client_is_served_when_a_slot_frees() {
    let limits = ServeLimits {
        header_timeout: Duration::from_secs(20),
        max_connections: 4,
        ..short_limits()
    };
    let (_app, addr) = spawn_with(limits).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.write_all(b"GET /hea").await.expect("write");
        held.push(s);
    }
    // Give the server a moment to accept all four.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut fifth = TcpStream::connect(addr)
        .await
        .expect("the kernel queues it");
    fifth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    assert!(
        read_until_closed(&mut fifth, Duration::from_millis(600))
            .await
            .is_none(),
        "a fifth connection was served beyond a cap of four"
    );
    drop(held.pop());
    let answer = read_until_closed(&mut fifth, Duration::from_secs(5))
        .await
        .expect("served once a slot frees");
    assert_eq!(status_of(&answer), 200);
}

/// An open campaign of the seeded instansi with its ceremony screen on.
async fn screen_campaign(app: &TestApp, instansi_id: i64) -> i64 {
    let now = chrono::Utc::now().timestamp();
    app.store()
        .create_campaign(
            &NewCampaign {
                instansi_id,
                template_no: 1,
                title: "Upacara".into(),
                place: "Surakarta".into(),
                opens_at: now - 60,
                closes_at: now + 3600,
                mark_enabled: false,
                screen_enabled: true,
                public_enabled: false,
                unit_ids: Vec::new(),
            },
            now,
        )
        .await
        .expect("campaign")
}

#[tokio::test]
async fn the_33rd_event_stream_from_one_address_is_refused_while_the_server_answers() {
    let (app, addr) = spawn_with(ServeLimits::default()).await;
    let seeded = seed(app.store()).await;
    let id = screen_campaign(&app, seeded.instansi_id).await;
    let open = |addr: SocketAddr| async move {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.write_all(format!("GET /acara/{id}/events HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .expect("write");
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .expect("an answer")
            .expect("read");
        buf.truncate(n);
        (s, buf)
    };
    let mut streams = Vec::new();
    for _ in 0..32 {
        let (s, head) = open(addr).await;
        assert_eq!(status_of(&head), 200, "{}", String::from_utf8_lossy(&head));
        streams.push(s);
    }
    let (mut s, head) = open(addr).await;
    let mut answer = head;
    if let Some(rest) = read_until_closed(&mut s, Duration::from_millis(300)).await {
        answer.extend(rest);
    }
    assert_eq!(
        status_of(&answer),
        429,
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let text = String::from_utf8_lossy(&answer);
    assert!(text.to_ascii_lowercase().contains("retry-after:"));
    assert!(text.contains("\"too_many_streams\""), "{text}");
    assert_eq!(
        app.state
            .streams
            .held(std::net::IpAddr::from([127, 0, 0, 1])),
        32
    );
    let health = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .expect("answered");
    assert_eq!(health.status(), 200);
    let page = reqwest::get(format!("http://{addr}/acara/{id}"))
        .await
        .expect("answered");
    assert_eq!(page.status(), 200);
}

// --- Refusals in the error shape -----------------------------------------------------

/// The error shape with an Indonesian message and nothing of axum's English text.
fn assert_shape(res: &TestResponse, status: StatusCode, code: &str) {
    assert_eq!(res.status, status, "{}", res.text());
    let v = res.json();
    assert_eq!(v["error"]["code"], code, "{v}");
    let message = v["error"]["message"].as_str().expect("a message");
    for english in [
        "Failed",
        "failed",
        "Expected",
        "expected",
        "invalid type",
        "missing field",
    ] {
        assert!(!message.contains(english), "{message}");
    }
}

#[tokio::test]
async fn extractor_refusals_unknown_routes_and_wrong_methods_use_the_error_shape() {
    let app = TestApp::new().await;
    let seeded = seed(app.store()).await;
    let token = hr_token(&app, seeded.instansi_id).await;

    let bad_path = app
        .call(Method::GET, "/api/v1/campaigns/satu", &token, None)
        .await;
    assert_shape(&bad_path, StatusCode::BAD_REQUEST, "path_invalid");

    let bad_query = app.get("/api/v1/log/inclusion?index=x&size=y").await;
    assert_shape(&bad_query, StatusCode::BAD_REQUEST, "query_invalid");

    let big = "a".repeat(ikrar::http::SIGN_BODY_LIMIT + 1);
    let too_large = app
        .post_json("/api/v1/sign", &json!({"token": big, "consent_name": "x"}))
        .await;
    assert_shape(&too_large, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");

    let wrong_type = app
        .request(
            Method::POST,
            "/api/v1/sign",
            Some(("text/plain", b"{}".to_vec())),
            &[],
            local(),
        )
        .await;
    assert_shape(
        &wrong_type,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "content_type_invalid",
    );

    let syntax = app
        .request(
            Method::POST,
            "/api/v1/sign",
            Some(("application/json", b"{\"token\":".to_vec())),
            &[],
            local(),
        )
        .await;
    assert_shape(&syntax, StatusCode::BAD_REQUEST, "json_invalid");
    let data = app.post_json("/api/v1/sign", &json!({"token": 5})).await;
    assert_shape(&data, StatusCode::UNPROCESSABLE_ENTITY, "json_invalid");

    let unknown = app.get("/api/v1/tidak-ada").await;
    assert_shape(&unknown, StatusCode::NOT_FOUND, "not_found");
    let method = app
        .request(Method::DELETE, "/api/v1/sign", None, &[], local())
        .await;
    assert_shape(
        &method,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    assert!(method.headers.contains_key("allow"));

    // Forms and multipart uploads on pages, asked by a script: JSON too.
    let form = app
        .request(
            Method::POST,
            "/s/abc",
            Some(("application/json", b"{}".to_vec())),
            &[],
            local(),
        )
        .await;
    assert_shape(
        &form,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "content_type_invalid",
    );
    let cookie = session(&app, Some(seeded.instansi_id), "hr-upload").await;
    let multipart = app
        .request(
            Method::POST,
            "/admin/roster",
            Some(("text/csv", b"nip\n".to_vec())),
            &[("cookie", &cookie)],
            local(),
        )
        .await;
    assert_shape(
        &multipart,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "content_type_invalid",
    );
    let bad_roster_body = app
        .upload(
            "/api/v1/roster",
            &token,
            "text/csv",
            vec![b'x'; ikrar::http::api::hr::ROSTER_BODY_LIMIT + 1],
        )
        .await;
    assert_shape(
        &bad_roster_body,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
    );

    // A browser asking for a page gets the Indonesian HTML error page instead.
    let page = app
        .request(
            Method::GET,
            "/acara/bukan-angka",
            None,
            &[("accept", "text/html,application/xhtml+xml")],
            local(),
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.text().contains("Alamat yang diminta tidak sah."));
    assert!(
        page.headers["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("text/html"))
    );
    let missing = app
        .request(
            Method::GET,
            "/tidak-ada",
            None,
            &[("accept", "text/html")],
            local(),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.text().contains("Halaman tidak ditemukan."));
    // The API stays JSON even for a browser.
    let api = app
        .request(
            Method::GET,
            "/api/v1/tidak-ada",
            None,
            &[("accept", "text/html")],
            local(),
        )
        .await;
    assert_shape(&api, StatusCode::NOT_FOUND, "not_found");
}

// --- CSRF on cookie-authenticated API calls ------------------------------------------

async fn is_open(app: &TestApp, id: i64) -> bool {
    app.store()
        .campaign(id)
        .await
        .expect("query")
        .expect("campaign")
        .closed_at
        .is_none()
}

#[tokio::test]
async fn a_cookie_only_api_post_needs_the_csrf_header_and_a_bearer_token_does_not() {
    let app = TestApp::new().await;
    let seeded = seed(app.store()).await;
    let cookie = session(&app, Some(seeded.instansi_id), "hr-cookie").await;
    let close = format!("/api/v1/campaigns/{}/close", seeded.campaign_id);
    // A cross-site form carries the cookie but cannot know the token.
    for headers in [
        vec![("cookie", cookie.as_str())],
        vec![("cookie", cookie.as_str()), ("x-csrf-token", "tebakan")],
    ] {
        let res = app
            .request(Method::POST, &close, None, &headers, local())
            .await;
        assert_shape(&res, StatusCode::FORBIDDEN, "csrf_invalid");
        assert!(
            is_open(&app, seeded.campaign_id).await,
            "the campaign was closed without CSRF"
        );
    }
    // Reading with the cookie needs no token.
    let read = app
        .request(
            Method::GET,
            &format!("/api/v1/campaigns/{}", seeded.campaign_id),
            None,
            &[("cookie", &cookie)],
            local(),
        )
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text());

    let with_token = app
        .request(
            Method::POST,
            &close,
            None,
            &[("cookie", &cookie), ("x-csrf-token", "csrf-uji")],
            local(),
        )
        .await;
    assert_eq!(with_token.status, StatusCode::OK, "{}", with_token.text());
    assert!(!is_open(&app, seeded.campaign_id).await);

    // Bearer-token scripts are unaffected.
    let other = seed(app.store()).await;
    let token = hr_token(&app, other.instansi_id).await;
    let by_bearer = app
        .call(
            Method::POST,
            &format!("/api/v1/campaigns/{}/close", other.campaign_id),
            &token,
            None,
        )
        .await;
    assert_eq!(by_bearer.status, StatusCode::OK, "{}", by_bearer.text());
}
