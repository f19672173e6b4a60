//! `ikrar loadtest`: signs every link of a links.csv once, with C requests in flight, and
//! reports pledges/s and latency percentiles. Run again on the same links, it measures the
//! idempotent path (every answer 200).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

pub struct Report {
    pub sent: usize,
    pub statuses: BTreeMap<u16, usize>,
    pub errors: usize,
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
}

impl Report {
    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let at = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[at]
    }

    pub fn render(&self) -> String {
        let ok = self.statuses.get(&201).copied().unwrap_or(0);
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        format!(
            "requests {sent} in {secs:.2}s: {rps:.0} requests/s, {pps:.0} new pledges/s\n\
             statuses {statuses:?}, transport errors {errors}\n\
             latency ms: p50 {p50:.1}  p90 {p90:.1}  p99 {p99:.1}  max {max:.1}",
            sent = self.sent,
            rps = self.sent as f64 / secs,
            pps = ok as f64 / secs,
            statuses = self.statuses,
            errors = self.errors,
            p50 = ms(self.percentile(0.50)),
            p90 = ms(self.percentile(0.90)),
            p99 = ms(self.percentile(0.99)),
            max = ms(self.latencies.last().copied().unwrap_or_default()),
        )
    }
}

pub fn read_tokens(path: &Path) -> Result<Vec<String>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("membaca {}", path.display()))?;
    let at = reader
        .headers()?
        .iter()
        .position(|h| h == "link")
        .context("kolom 'link' tidak ada")?;
    let mut tokens = Vec::new();
    for row in reader.records() {
        let row = row?;
        if let Some(token) = row.get(at).and_then(|l| l.rsplit('/').next()) {
            tokens.push(token.to_string());
        }
    }
    if tokens.is_empty() {
        bail!("{} tidak berisi tautan", path.display());
    }
    Ok(tokens)
}

pub async fn run(
    url: &str,
    tokens: Vec<String>,
    concurrency: usize,
    duration: Option<Duration>,
) -> Result<Report> {
    crate::install_tls();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(60))
        .build()?;
    let endpoint = format!("{}/api/v1/sign", url.trim_end_matches('/'));
    let tokens = Arc::new(tokens);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = duration.map(|d| start + d);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (client, endpoint, tokens, next) = (
            client.clone(),
            endpoint.clone(),
            tokens.clone(),
            next.clone(),
        );
        workers.spawn(async move {
            let mut seen = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= tokens.len() || deadline.is_some_and(|d| Instant::now() >= d) {
                    return seen;
                }
                let body =
                    serde_json::json!({"token": tokens[i], "consent_name": "Peserta Uji Beban"});
                let t = Instant::now();
                let status = match client.post(&endpoint).json(&body).send().await {
                    Ok(res) => {
                        let status = res.status().as_u16();
                        let _ = res.bytes().await;
                        Some(status)
                    }
                    Err(_) => None,
                };
                seen.push((status, t.elapsed()));
            }
        });
    }
    let mut report = Report {
        sent: 0,
        statuses: BTreeMap::new(),
        errors: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::with_capacity(tokens.len()),
    };
    while let Some(done) = workers.join_next().await {
        for (status, latency) in done? {
            report.sent += 1;
            match status {
                Some(s) => *report.statuses.entry(s).or_default() += 1,
                None => report.errors += 1,
            }
            report.latencies.push(latency);
        }
    }
    report.elapsed = start.elapsed();
    report.latencies.sort();
    Ok(report)
}
