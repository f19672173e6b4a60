//! Shared test harness: a fresh database of the engine under test, an in-process app, seed
//! data, and independent checks of what the API hands out.
//!
//! The engine is chosen by `IKRAR_TEST_DATABASE` (a PostgreSQL server URL; each test gets its
//! own fresh database on it) and defaults to a temporary SQLite file.

#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::SigningKey;
use http_body_util::BodyExt;
use ikrar::domain::public_url::PublicUrl;
use ikrar::domain::token;
use ikrar::formats::roster::RosterReader;
use ikrar::http::state::AppState;
use ikrar::startup::{self, Settings};
use ikrar::store::{self, NewCampaign, NewInstansi, Store};
use serde_json::Value;
use sqlx::Connection;
use tower::ServiceExt;

pub const PUBLIC_URL: &str = "https://ikrar.surakarta.test";
pub const ROSTER: &str = include_str!("../fixtures/roster-500.csv");

pub fn pledge_key() -> SigningKey {
    SigningKey::from_bytes(&[0x11; 32])
}

pub fn log_key() -> SigningKey {
    SigningKey::from_bytes(&[0x22; 32])
}

/// A fresh database; PostgreSQL databases are dropped when this is dropped.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    pub async fn new() -> TestDb {
        // Tests that talk HTTP over TCP build reqwest clients; they need the TLS provider.
        ikrar::install_tls();
        match std::env::var("IKRAR_TEST_DATABASE") {
            Ok(admin) if admin.starts_with("postgres") => {
                let name = format!(
                    "ikrar_t_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::SeqCst),
                    chrono::Utc::now().timestamp_subsec_micros()
                );
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .expect("PostgreSQL named by IKRAR_TEST_DATABASE is reachable");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let mut url = url::Url::parse(&admin).expect("valid URL");
                url.set_path(&name);
                TestDb {
                    url: url.to_string(),
                    _dir: None,
                    pg: Some((admin, name)),
                }
            }
            _ => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("ikrar.db").display());
                TestDb {
                    url,
                    _dir: Some(dir),
                    pg: None,
                }
            }
        }
    }

    /// Another handle on this database, for a second instance; the database stays owned
    /// (and dropped) by `self`.
    pub fn shared(&self) -> TestDb {
        TestDb {
            url: self.url.clone(),
            _dir: None,
            pg: None,
        }
    }

    /// A database at `url` that the caller owns (a private server, a mounted directory).
    pub fn at(url: &str) -> TestDb {
        ikrar::install_tls();
        TestDb {
            url: url.to_string(),
            _dir: None,
            pg: None,
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }

    pub async fn store(&self) -> Arc<dyn Store> {
        let s = store::connect(&self.url).await.expect("connect");
        s.migrate().await.expect("migrate");
        ikrar::service::instansi::ensure_builtin_templates(s.as_ref())
            .await
            .expect("templates");
        s
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async {
                    if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        )))
                        .execute(&mut c)
                        .await;
                    }
                });
            })
            .join();
        }
    }
}

pub fn settings() -> Settings {
    Settings {
        public_url: PublicUrl::parse(PUBLIC_URL).expect("valid"),
        pledge_key: pledge_key(),
        log_key: log_key(),
        checkpoint_file: None,
        trusted_proxies: Vec::new(),
        lookup_limit: 20,
        witness_policy: None,
        metrics_allow: ikrar::metrics::loopback_networks(),
        oidc: None,
        smtp: None,
    }
}

pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    pub db: TestDb,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

impl TestApp {
    pub async fn new() -> TestApp {
        TestApp::with_settings(TestDb::new().await, settings()).await
    }

    pub async fn with_settings(db: TestDb, settings: Settings) -> TestApp {
        let store = db.store().await;
        let state = startup::build_state(store, settings).await.expect("state");
        let router = ikrar::http::router(state.clone());
        TestApp { state, router, db }
    }

    pub fn store(&self) -> &dyn Store {
        self.state.store.as_ref()
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
        headers: &[(&str, &str)],
        client: IpAddr,
    ) -> TestResponse {
        let mut builder = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let mut req = match body {
            Some((content_type, bytes)) => builder
                .header("content-type", content_type)
                .body(Body::from(bytes)),
            None => builder.body(Body::empty()),
        }
        .expect("request");
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(client, 40000)));
        let res = self.router.clone().oneshot(req).await.expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let body = res
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        TestResponse {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.request(Method::GET, path, None, &[], local()).await
    }

    pub async fn get_from(&self, path: &str, client: IpAddr) -> TestResponse {
        self.request(Method::GET, path, None, &[], client).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> TestResponse {
        self.request(
            Method::POST,
            path,
            Some(("application/json", body.to_string().into_bytes())),
            &[],
            local(),
        )
        .await
    }

    pub async fn sign(&self, token: &str, consent: &str) -> TestResponse {
        self.post_json(
            "/api/v1/sign",
            &serde_json::json!({ "token": token, "consent_name": consent }),
        )
        .await
    }
}

pub fn local() -> IpAddr {
    IpAddr::from([127, 0, 0, 1])
}

/// Seed data: an instansi, the 500-person roster, an open campaign, one link per person.
pub struct Seeded {
    pub instansi_id: i64,
    pub campaign_id: i64,
    /// (number, kind, token)
    pub invites: Vec<(String, String, String)>,
}

impl Seeded {
    pub fn token_of_kind(&self, kind: &str, nth: usize) -> (&str, &str) {
        let (n, _, t) = self
            .invites
            .iter()
            .filter(|(_, k, _)| k == kind)
            .nth(nth)
            .expect("enough staff of that kind");
        (n, t)
    }
}

pub async fn seed(store: &dyn Store) -> Seeded {
    seed_campaign(store, -60, 3600).await
}

/// Seeds with a campaign open from `now + opens` to `now + closes` (seconds).
pub async fn seed_campaign(store: &dyn Store, opens: i64, closes: i64) -> Seeded {
    let now = chrono::Utc::now().timestamp();
    let instansi_id = match store.instansi_by_code("surakarta").await.expect("query") {
        Some(i) => i.id,
        None => {
            let id = store
                .add_instansi(
                    &NewInstansi {
                        code: "surakarta".into(),
                        name: "Pemerintah Kota Surakarta".into(),
                        place: "Surakarta".into(),
                        tz: ikrar::domain::instansi::TimeZone::Jakarta,
                    },
                    now,
                )
                .await
                .expect("instansi");
            let rows: Vec<_> =
                RosterReader::new(ROSTER.as_bytes(), chrono::Utc::now().date_naive())
                    .expect("header")
                    .map(|r| r.expect("fixture rows are valid"))
                    .collect();
            store
                .import_roster(id, &rows, false, now)
                .await
                .expect("import");
            id
        }
    };
    let campaign_id = store
        .create_campaign(
            &NewCampaign {
                instansi_id,
                template_no: 1,
                title: "Ikrar Netralitas ASN — HUT Korpri ke-53".into(),
                place: "Surakarta".into(),
                opens_at: now + opens,
                closes_at: now + closes,
                mark_enabled: true,
                screen_enabled: false,
                public_enabled: false,
                unit_ids: Vec::new(),
            },
            now,
        )
        .await
        .expect("campaign");
    let issued = store
        .issue_invitations(campaign_id, false, None, now, &token::mint)
        .await
        .expect("invitations");
    let kinds: std::collections::HashMap<String, String> = ROSTER
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut parts = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(l.as_bytes())
                .into_records()
                .next()?
                .ok()?
                .iter()
                .map(str::to_string)
                .collect::<Vec<_>>();
            let kind = parts.get(2)?.clone();
            Some((parts.swap_remove(0), kind))
        })
        .collect();
    let invites = issued
        .into_iter()
        .map(|(t, tok)| {
            let kind = kinds.get(&t.number).cloned().unwrap_or_default();
            (t.number, kind, tok)
        })
        .collect();
    Seeded {
        instansi_id,
        campaign_id,
        invites,
    }
}

/// Checks a record the way an outside verifier would: decode, find the key by id in the
/// published key list, verify the Ed25519 signature over the context and body.
pub fn verify_record_with_keys(record_b32: &str, keys: &Value) -> Result<Vec<u8>, String> {
    let bytes = data_encoding::BASE32_NOPAD
        .decode(record_b32.to_ascii_uppercase().as_bytes())
        .map_err(|e| format!("base32: {e}"))?;
    if bytes.len() < 106 {
        return Err("short".into());
    }
    let (body, sig) = bytes.split_at(bytes.len() - 64);
    let key_id = hex::encode(&body[1..5]);
    let key = keys["keys"]
        .as_array()
        .ok_or("no keys")?
        .iter()
        .find(|k| k["key_id"] == key_id.as_str() && k["purpose"] == "pledge")
        .ok_or("key id not published")?;
    let public: [u8; 32] = B64
        .decode(key["public_key"].as_str().ok_or("no public key")?)
        .map_err(|e| e.to_string())?
        .try_into()
        .map_err(|_| "key length")?;
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&public).map_err(|e| e.to_string())?;
    let mut msg = b"ikrar/record/v1\n".to_vec();
    msg.extend_from_slice(body);
    let sig = ed25519_dalek::Signature::from_bytes(sig.try_into().map_err(|_| "sig length")?);
    vk.verify_strict(&msg, &sig).map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// Opens a checkpoint note with the published log key and returns (size, root).
pub fn open_checkpoint(note: &str, keys: &Value) -> (u64, [u8; 32]) {
    let log = keys["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .rev()
        .find(|k| k["purpose"] == "log")
        .expect("log key");
    let verifier = ikrar::tlog::note::Verifier::from_vkey(log["vkey"].as_str().expect("vkey"))
        .expect("vkey parses");
    let text = ikrar::tlog::note::open(note, &[verifier]).expect("checkpoint signature verifies");
    let cp = ikrar::tlog::note::Checkpoint::parse(text).expect("checkpoint parses");
    (cp.size, cp.root)
}

pub fn b64_hashes(v: &Value) -> Vec<[u8; 32]> {
    v.as_array()
        .expect("array of hashes")
        .iter()
        .map(|h| {
            B64.decode(h.as_str().expect("string"))
                .expect("base64")
                .try_into()
                .expect("32 bytes")
        })
        .collect()
}

/// The current log key's vkey in a `/api/v1/keys` answer (the newest, after a rotation).
pub fn log_vkey(keys: &Value) -> String {
    keys["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .rev()
        .find(|k| k["purpose"] == "log")
        .and_then(|k| k["vkey"].as_str())
        .expect("a log key")
        .to_string()
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// An app served over real TCP on a free loopback port, its public URL pointing there.
pub async fn spawn_server() -> (TestApp, String) {
    let (app, base, _) = spawn_server_with(TestDb::new().await, |_| {}).await;
    (app, base)
}

/// [`spawn_server`] on `db`, with settings changed by `edit` (the public URL is set first,
/// so `edit` sees it); the server task's handle, to stop it.
pub async fn spawn_server_with(
    db: TestDb,
    edit: impl FnOnce(&mut Settings),
) -> (TestApp, String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let mut s = settings();
    s.public_url = PublicUrl::parse(&base).expect("valid");
    edit(&mut s);
    let app = TestApp::with_settings(db, s).await;
    let state = app.state.clone();
    let task = tokio::spawn(async move {
        let _ = ikrar::http::serve(listener, state, std::future::pending()).await;
    });
    (app, base, task)
}

/// An account with an API token; returns the bearer token.
pub async fn user_with_token(
    store: &dyn Store,
    instansi_id: Option<i64>,
    username: &str,
    role: &str,
    password: &str,
) -> String {
    let hash = ikrar::domain::account::hash_password(password);
    let id = store
        .add_user(
            instansi_id,
            username,
            ikrar::domain::account::Role::parse(role).expect("a known role"),
            &hash,
            chrono::Utc::now().timestamp(),
        )
        .await
        .expect("user");
    let token = format!("ikr_{}", ikrar::domain::token::random(32));
    store
        .add_api_token(
            id,
            &ikrar::domain::statement::sha256(token.as_bytes()),
            chrono::Utc::now().timestamp(),
        )
        .await
        .expect("token");
    token
}

impl TestApp {
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        bearer: &str,
        body: Option<&Value>,
    ) -> TestResponse {
        let auth = format!("Bearer {bearer}");
        let body = body.map(|b| ("application/json", b.to_string().into_bytes()));
        self.request(method, path, body, &[("authorization", &auth)], local())
            .await
    }
}

/// The usual HR account of a seeded instansi, with its bearer token.
pub async fn hr_token(app: &TestApp, instansi_id: i64) -> String {
    user_with_token(
        app.store(),
        Some(instansi_id),
        "hr",
        "hr",
        "kata-sandi-hr-1",
    )
    .await
}

impl TestApp {
    /// POSTs a file body (a roster) with a bearer token.
    pub async fn upload(
        &self,
        path: &str,
        bearer: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> TestResponse {
        let auth = format!("Bearer {bearer}");
        self.request(
            Method::POST,
            path,
            Some((content_type, bytes)),
            &[("authorization", &auth)],
            local(),
        )
        .await
    }
}

/// `ikrar user add --role log-auditor` and `ikrar token create`, through the real binary.
pub fn log_auditor_token(db_url: &str) -> String {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_ikrar"))
            .args(args)
            .env("DATABASE_URL", db_url)
            .env("IKRAR_PASSWORD", "kata-sandi-pemantau-log")
            .env("IKRAR_LOG", "warn")
            .output()
            .expect("run ikrar");
        assert!(
            out.status.success(),
            "ikrar {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    run(&[
        "user",
        "add",
        "--username",
        "pemantau",
        "--role",
        "log-auditor",
    ]);
    run(&["token", "create", "--username", "pemantau"])
}

/// Runs one SQL statement on the test database, beside the server (an operator editing it).
pub async fn exec(db: &TestDb, sql: &'static str) {
    use sqlx::Connection;
    if db.is_postgres() {
        let mut c = sqlx::PgConnection::connect(&db.url).await.expect("connect");
        sqlx::query(sql).execute(&mut c).await.expect("execute");
    } else {
        let mut c = sqlx::SqliteConnection::connect(&db.url)
            .await
            .expect("connect");
        sqlx::query(sql).execute(&mut c).await.expect("execute");
    }
}
