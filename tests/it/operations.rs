//! The operator's instruments (SPEC 4.6): `/metrics` read by the Prometheus reference
//! parser, who may read it, and the OpenAPI 3.1 description checked by an independent
//! validator and against the routes the router really serves.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::process::{Command, Stdio};

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestApp, TestDb, local, seed, settings};

/// `/metrics` as the Prometheus reference parser reads it (`tests/python/parse_metrics.py`).
fn parse_metrics(text: &str) -> Vec<Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/parse_metrics.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("parser ran");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("ModuleNotFoundError"),
        "prometheus-client is missing: run scripts/install-test-deps.sh\n{err}"
    );
    assert!(
        out.status.success(),
        "the reference parser refused:\n{err}\n{text}"
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn family<'a>(families: &'a [Value], name: &str) -> &'a Value {
    families
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no family {name} in {families:?}"))
}

/// The samples of a family named `sample`, as (labels, value).
fn samples<'a>(families: &'a [Value], name: &str, sample: &str) -> Vec<(&'a Value, f64)> {
    family(families, name)["samples"]
        .as_array()
        .expect("samples")
        .iter()
        .filter(|s| s["name"] == sample)
        .map(|s| (&s["labels"], s["value"].as_f64().unwrap_or(f64::NAN)))
        .collect()
}

fn longest_digit_run(text: &str) -> usize {
    text.split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0)
}

#[tokio::test]
async fn metrics_parse_and_count_pledges_at_commit_without_personal_labels() {
    let app = TestApp::new().await;
    let s = seed(app.store()).await;
    let mut created = 0;
    let mut tokens = Vec::new();
    for (_, _, token) in s.invites.iter().take(7) {
        let res = app.sign(token, "Nama Penanda").await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
        created += 1;
        tokens.push(token.clone());
    }
    // A repeat is a sign request, not a pledge; a bad token is refused.
    let (_, _, first) = &s.invites[0];
    assert_eq!(app.sign(first, "Nama Penanda").await.status, StatusCode::OK);
    assert_eq!(
        app.sign("ZZZZZZZZZZZZZZZZ", "Nama").await.status,
        StatusCode::NOT_FOUND
    );
    // A page with a token in its path, and an address no route matches.
    app.get(&format!("/s/{}", tokens[1])).await;
    app.get(&format!("/tidak-ada/{}", tokens[2])).await;
    let nip = &s.invites[3].0;
    app.get(&format!("/api/v1/lookup?nip={nip}")).await;

    let res = app.get("/metrics").await;
    assert_eq!(res.status, StatusCode::OK);
    let content_type = res.headers["content-type"].to_str().expect("ascii");
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = res.text();
    let families = parse_metrics(&text);

    let pledges = samples(&families, "ikrar_pledges", "ikrar_pledges_total");
    assert_eq!(family(&families, "ikrar_pledges")["type"], "counter");
    let sum: f64 = pledges.iter().map(|(_, v)| v).sum();
    assert_eq!(
        sum,
        f64::from(created),
        "the pledge counters add up to the pledges made"
    );
    assert!(
        pledges.iter().all(|(l, _)| l["instansi"] == "surakarta"),
        "{pledges:?}"
    );

    let signs = samples(
        &families,
        "ikrar_sign_requests",
        "ikrar_sign_requests_total",
    );
    let outcome = |o: &str| {
        signs
            .iter()
            .filter(|(l, _)| l["outcome"] == o)
            .map(|(_, v)| *v)
            .sum::<f64>()
    };
    assert_eq!(outcome("created"), f64::from(created));
    assert_eq!(outcome("repeated"), 1.0);
    assert_eq!(
        signs.iter().map(|(_, v)| v).sum::<f64>(),
        f64::from(created) + 2.0
    );

    let log_size = samples(&families, "ikrar_log_size", "ikrar_log_size");
    assert_eq!(log_size[0].1, f64::from(created));
    assert_eq!(family(&families, "ikrar_log_size")["type"], "gauge");

    for histogram in [
        "ikrar_sequencer_batch_size",
        "ikrar_sequencer_commit_seconds",
        "ikrar_http_request_duration_seconds",
    ] {
        assert_eq!(
            family(&families, histogram)["type"],
            "histogram",
            "{histogram}"
        );
    }
    let batches = samples(
        &families,
        "ikrar_sequencer_batch_size",
        "ikrar_sequencer_batch_size_count",
    );
    assert!(batches[0].1 >= 1.0);
    let batched = samples(
        &families,
        "ikrar_sequencer_batch_size",
        "ikrar_sequencer_batch_size_sum",
    );
    // The repeat was answered from the store, without an append.
    assert_eq!(batched[0].1, f64::from(created), "every append's jobs");

    let requests = samples(
        &families,
        "ikrar_http_requests",
        "ikrar_http_requests_total",
    );
    let routes: BTreeSet<&str> = requests
        .iter()
        .map(|(l, _)| l["route"].as_str().expect("route"))
        .collect();
    for route in ["/api/v1/sign", "/s/{token}", "/api/v1/lookup", "unmatched"] {
        assert!(routes.contains(route), "{route} in {routes:?}");
    }
    assert!(
        requests
            .iter()
            .any(|(l, v)| l["route"] == "/api/v1/sign" && l["status"] == "201" && *v == 7.0)
    );
    let build = samples(&families, "ikrar_build_info", "ikrar_build_info");
    assert_eq!(build[0].0["version"], env!("CARGO_PKG_VERSION"));

    // Nothing per person: no NIP (nor any 18-digit run), no token.
    assert!(longest_digit_run(&text) < 18, "{text}");
    for (number, _, token) in &s.invites {
        assert!(!text.contains(token.as_str()), "a token in /metrics");
        assert!(
            !text.contains(number.as_str()),
            "a staff number in /metrics"
        );
    }
}

#[tokio::test]
async fn metrics_answer_only_allowed_networks_in_the_error_shape() {
    let mut s = settings();
    s.trusted_proxies = vec![local()];
    s.metrics_allow = vec![
        "10.0.0.0/8".parse().expect("cidr"),
        "127.0.0.1/32".parse().expect("cidr"),
    ];
    let app = TestApp::with_settings(TestDb::new().await, s).await;

    let outside = app
        .get_from("/metrics", "203.0.113.9".parse().expect("ip"))
        .await;
    assert_eq!(outside.status, StatusCode::NOT_FOUND);
    assert_eq!(outside.error_code(), "not_found");
    assert!(!outside.text().contains("ikrar_"));

    let inside = app
        .get_from("/metrics", "10.20.30.40".parse().expect("ip"))
        .await;
    assert_eq!(inside.status, StatusCode::OK);
    assert!(inside.text().contains("ikrar_build_info"));

    // Through the trusted proxy on loopback, the client is the forwarded address.
    let forwarded = app
        .request(
            Method::GET,
            "/metrics",
            None,
            &[("x-forwarded-for", "198.51.100.4")],
            local(),
        )
        .await;
    assert_eq!(forwarded.status, StatusCode::NOT_FOUND);
    assert_eq!(forwarded.error_code(), "not_found");
    assert_eq!(app.get("/metrics").await.status, StatusCode::OK);
}

#[tokio::test]
async fn metrics_default_to_loopback_only() {
    let app = TestApp::new().await;
    assert_eq!(app.get("/metrics").await.status, StatusCode::OK);
    assert_eq!(
        app.get_from("/metrics", "::1".parse().expect("ip"))
            .await
            .status,
        StatusCode::OK
    );
    let res = app
        .get_from("/metrics", "192.168.1.5".parse().expect("ip"))
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.error_code(), "not_found");
}

/// The `/api/v1` routes the router serves, read from its route table (axum prints the
/// registered paths in its `Debug` output; there is no other way to list them).
fn registered_api_paths(app: &TestApp) -> BTreeSet<String> {
    let table = format!("{:?}", app.router);
    let mut paths = BTreeSet::new();
    let mut rest = table.as_str();
    while let Some(at) = rest.find("\"/api/v1") {
        let tail = &rest[at + 1..];
        let end = tail.find('"').expect("a closing quote");
        paths.insert(tail[..end].to_string());
        rest = &tail[end..];
    }
    // Guards against axum printing its table differently one day.
    assert!(
        paths.contains("/api/v1/sign") && paths.len() > 10,
        "could not read the route table: {paths:?}"
    );
    paths
}

#[tokio::test]
async fn openapi_is_valid_3_1_and_describes_every_api_route() {
    let app = TestApp::new().await;
    let res = app.get("/api/v1/openapi.json").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.headers["content-type"], "application/json");
    let doc = res.json();
    assert_eq!(doc["openapi"], "3.1.0");

    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, &res.body).expect("write");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/validate_openapi.py"
    );
    let out = Command::new("python3")
        .arg(script)
        .arg(&file)
        .output()
        .expect("python3 runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("ModuleNotFoundError"),
        "openapi-spec-validator is missing: run scripts/install-test-deps.sh\n{err}"
    );
    assert!(
        out.status.success(),
        "not a valid OpenAPI 3.1 document:\n{err}"
    );
    let validated: BTreeSet<String> = serde_json::from_slice(&out.stdout).expect("paths");

    // Every route the router serves under /api/v1 is described, and nothing else is.
    assert_eq!(registered_api_paths(&app), validated);

    // The SPEC 4 routes, with their methods.
    for (method, path) in [
        ("post", "/api/v1/sign"),
        ("get", "/api/v1/lookup"),
        ("get", "/api/v1/verify/{record}"),
        ("get", "/api/v1/keys"),
        ("get", "/api/v1/templates"),
        ("get", "/api/v1/pledges/{id}"),
        ("get", "/api/v1/pledges/{id}/pdf"),
        ("get", "/api/v1/pledges/{id}/proof"),
        ("post", "/api/v1/pledges/{id}/annul"),
        ("post", "/api/v1/roster"),
        ("post", "/api/v1/campaigns"),
        ("get", "/api/v1/campaigns"),
        ("get", "/api/v1/campaigns/{id}"),
        ("post", "/api/v1/campaigns/{id}/invitations"),
        ("post", "/api/v1/campaigns/{id}/reminders"),
        ("get", "/api/v1/campaigns/{id}/compliance"),
        ("get", "/api/v1/campaigns/{id}/unsigned"),
        ("get", "/api/v1/log/inclusion"),
        ("get", "/api/v1/log/consistency"),
        ("get", "/api/v1/openapi.json"),
        ("get", "/api/v1/proof/{record}"),
    ] {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not described");
        let responses = op["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{method} {path} has no success response"
        );
        if path != "/api/v1/openapi.json" {
            let errors: Vec<&Value> = responses
                .iter()
                .filter(|(s, _)| s.starts_with('4') || s.starts_with('5'))
                .map(|(_, r)| &r["content"]["application/json"]["schema"]["$ref"])
                .collect();
            assert!(!errors.is_empty(), "{method} {path} describes no error");
            assert!(
                errors
                    .iter()
                    .all(|r| *r == "#/components/schemas/ErrorBody"),
                "{method} {path}: errors in another shape"
            );
        }
    }
    let sign = &doc["paths"]["/api/v1/sign"]["post"];
    assert_eq!(
        sign["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/SignRequest"
    );
    let schemas = &doc["components"]["schemas"];
    let required = |name: &str| -> BTreeSet<String> {
        schemas[name]["required"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} has required fields"))
            .iter()
            .map(|v| v.as_str().expect("name").to_string())
            .collect()
    };
    for field in [
        "pledge_id",
        "log_index",
        "record",
        "qr_text",
        "statement",
        "checkpoint",
    ] {
        assert!(required("SignResponse").contains(field), "{field}");
    }
    assert!(required("Verification").contains("valid"));
    assert!(required("ErrorDetail").contains("code"));
    assert!(required("ErrorDetail").contains("message"));
}

#[tokio::test]
async fn answers_conform_to_their_described_error_shape() {
    // The description says errors are ErrorBody: check a real one against it.
    let app = TestApp::new().await;
    let res = app.post_json("/api/v1/sign", &json!({"token": 5})).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.json();
    assert!(body["error"]["code"].is_string());
    assert!(body["error"]["message"].is_string());
    let doc = app.get("/api/v1/openapi.json").await.json();
    assert!(
        doc["paths"]["/api/v1/sign"]["post"]["responses"]["422"].is_object(),
        "422 is described"
    );
}
