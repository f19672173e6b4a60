//! Reminder emails (SPEC 8: 10,000 people to a local SMTP server, ≤ 60 s): one email round of
//! the reminder use case (`ikrar remind`, the API and the admin page run the same), from a
//! fresh campaign whose targets all hold a link, against a minimal SMTP server started here
//! on loopback that accepts and counts every message. The figure is therefore ikrar's own
//! cost: replacing the links, building the messages, the pooled SMTP sessions.
//! `scripts/bench-reminders.sh` runs the real `ikrar remind` against aiosmtpd instead.
//!
//! `IKRAR_BENCH_REMINDERS` sets the number of people (default 10,000).

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use ikrar::domain::public_url::PublicUrl;
use ikrar::service::campaign::{self, CampaignInput};
use ikrar::service::reminder::{self, Channel, Mailer, RoundRequest, SmtpConfig};
use ikrar::service::roster::{self, ImportOptions, Source};
use ikrar::service::{instansi, invitation};

/// Speaks just enough SMTP for a client that sends mail: every command is accepted, and a
/// message counts once its terminating dot line has arrived.
async fn sink(listener: TcpListener, received: Arc<AtomicU64>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let received = Arc::clone(&received);
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read);
            let mut line = Vec::new();
            let mut in_data = false;
            if write.write_all(b"220 sink ESMTP\r\n").await.is_err() {
                return;
            }
            loop {
                line.clear();
                match lines.read_until(b'\n', &mut line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                let reply: &[u8] = if in_data {
                    if line != b".\r\n" {
                        continue;
                    }
                    in_data = false;
                    received.fetch_add(1, Ordering::Relaxed);
                    b"250 2.0.0 accepted\r\n"
                } else {
                    let verb = line.get(..4).map(|v| v.to_ascii_uppercase());
                    match verb.as_deref() {
                        Some(b"EHLO") => b"250-sink\r\n250 8BITMIME\r\n",
                        Some(b"DATA") => {
                            in_data = true;
                            b"354 end with .\r\n"
                        }
                        Some(b"QUIT") => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        _ => b"250 OK\r\n",
                    }
                };
                if write.write_all(reply).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// `n` PNS staff with valid, distinct NIPs and an email address each, in 20 units.
fn roster(n: usize) -> String {
    let mut csv = String::from("nip,nama,jenis,unit,jabatan,email\n");
    let start = chrono::NaiveDate::from_ymd_opt(1980, 1, 1).expect("a date");
    for i in 0..n {
        let birth = start + chrono::Duration::days((i / 999) as i64);
        let _ = writeln!(
            csv,
            "{}200501{}{:03},Pegawai Uji {i},PNS,Unit {},Pelaksana,pegawai{i}@bkpsdm.uji.test",
            birth.format("%Y%m%d"),
            1 + i % 2,
            1 + i % 999,
            i % 20
        );
    }
    csv
}

#[tokio::main]
async fn main() {
    ikrar::install_tls();
    let n: usize = std::env::var("IKRAR_BENCH_REMINDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let received = Arc::new(AtomicU64::new(0));
    tokio::spawn(sink(listener, Arc::clone(&received)));

    let dir = tempfile::tempdir().expect("dir");
    let store = ikrar::store::connect(&format!("sqlite://{}", dir.path().join("b.db").display()))
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    instansi::ensure_builtin_templates(store.as_ref())
        .await
        .expect("templates");
    let inst = instansi::add(
        store.as_ref(),
        "bench",
        "Pemerintah Kota Uji",
        "Uji",
        "Asia/Jakarta",
        "bench",
    )
    .await
    .expect("instansi");
    roster::import(
        store.as_ref(),
        inst,
        Source::Bytes(roster(n).into_bytes()),
        ImportOptions::default(),
        "bench",
    )
    .await
    .expect("roster");
    let now = chrono::Utc::now();
    let id = campaign::create(
        store.as_ref(),
        inst,
        &CampaignInput {
            template: "ikrar-netralitas-2024@1".into(),
            title: "Ikrar Netralitas ASN — Uji pengingat".into(),
            place: "Uji".into(),
            opens: (now - chrono::Duration::hours(1)).to_rfc3339(),
            closes: (now + chrono::Duration::days(1)).to_rfc3339(),
            units: Vec::new(),
            mark: false,
            screen: false,
            public: false,
        },
        "bench",
    )
    .await
    .expect("campaign");
    let c = campaign::by_id(store.as_ref(), id).await.expect("campaign");
    let url = PublicUrl::parse("https://ikrar.uji.test").expect("url");
    let issued = invitation::issue(store.as_ref(), &c, false, None, &url, "bench")
        .await
        .expect("links");
    assert_eq!(issued.len(), n);
    let mailer = Mailer::new(&SmtpConfig {
        url: format!("smtp://127.0.0.1:{port}"),
        from: "BKPSDM Uji <noreply@bkpsdm.uji.test>".into(),
    })
    .expect("mailer");

    let started = Instant::now();
    let outcome = reminder::remind(
        store.as_ref(),
        Some(&mailer),
        &c,
        &RoundRequest {
            channel: Channel::Email,
            unit: None,
            nip: None,
            round_key: None,
        },
        &url,
        "bench",
        &|_, _| {},
    )
    .await
    .expect("round");
    let elapsed = started.elapsed();
    assert_eq!(outcome.sent, n as i64, "{}", outcome.message());
    assert_eq!(received.load(Ordering::Relaxed), n as u64);
    println!(
        "reminders/email: {n} messages in {:.2} s ({:.0}/s), concurrency {}",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        reminder::CONCURRENCY
    );
}
