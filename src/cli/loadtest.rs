//! `ikrar loadtest`: signs every link of a links.csv once, with C requests in flight, and
//! reports pledges/s and latency percentiles. Run again on the same links, it measures the
//! idempotent path (every answer 200). With `--watch-checkpoint` it also polls
//! `/log/checkpoint` and reports, per new pledge, how long after its 201 the published
//! checkpoint covered it: with a witness policy, the witnessing lag (SPEC 8).

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
    /// Per new pledge, from its 201 until a published checkpoint covered it (sorted), and
    /// how many were still not covered when watching stopped.
    pub coverage: Option<(Vec<Duration>, usize)>,
}

/// Sorted durations' value at `p` (0..=1).
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// How long it stays watching after the last answer, for the checkpoint to catch up.
const WATCH_AFTER: Duration = Duration::from_secs(30);
const WATCH_EVERY: Duration = Duration::from_millis(20);

impl Report {
    fn percentile(&self, p: f64) -> Duration {
        percentile(&self.latencies, p)
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
        ) + &self.coverage.as_ref().map_or(String::new(), |(lags, uncovered)| {
            format!(
                "\ncovered by /log/checkpoint after the 201, ms: p50 {:.0}  p99 {:.0}  max {:.0} \
                 ({} pledges, {uncovered} not covered within {}s)",
                ms(percentile(lags, 0.50)),
                ms(percentile(lags, 0.99)),
                ms(lags.last().copied().unwrap_or_default()),
                lags.len(),
                WATCH_AFTER.as_secs()
            )
        })
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
    watch_checkpoint: bool,
) -> Result<Report> {
    crate::install_tls();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(60))
        .build()?;
    let endpoint = format!("{}/api/v1/sign", url.trim_end_matches('/'));
    let (stop_watching, watcher) = if watch_checkpoint {
        let (tx, rx) = tokio::sync::watch::channel(None);
        let checkpoint = format!("{}/log/checkpoint", url.trim_end_matches('/'));
        (
            Some(tx),
            Some(tokio::spawn(watch_sizes(client.clone(), checkpoint, rx))),
        )
    } else {
        (None, None)
    };
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
                let mut index = None;
                let status = match client.post(&endpoint).json(&body).send().await {
                    Ok(res) => {
                        let status = res.status().as_u16();
                        let body = res.bytes().await.unwrap_or_default();
                        if watch_checkpoint && status == 201 {
                            index = serde_json::from_slice::<serde_json::Value>(&body)
                                .ok()
                                .and_then(|v| v["log_index"].as_u64());
                        }
                        Some(status)
                    }
                    Err(_) => None,
                };
                let latency = t.elapsed();
                seen.push((status, latency, index.map(|i| (i, t + latency))));
            }
        });
    }
    let mut report = Report {
        sent: 0,
        statuses: BTreeMap::new(),
        errors: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::with_capacity(tokens.len()),
        coverage: None,
    };
    let mut created = Vec::new();
    while let Some(done) = workers.join_next().await {
        for (status, latency, answered) in done? {
            report.sent += 1;
            match status {
                Some(s) => *report.statuses.entry(s).or_default() += 1,
                None => report.errors += 1,
            }
            report.latencies.push(latency);
            created.extend(answered);
        }
    }
    report.elapsed = start.elapsed();
    report.latencies.sort();
    if let (Some(stop), Some(watcher)) = (stop_watching, watcher) {
        let needed = created.iter().map(|(i, _)| i + 1).max().unwrap_or(0);
        let _ = stop.send(Some(needed));
        let sizes = watcher.await?;
        report.coverage = Some(coverage(&created, &sizes));
    }
    Ok(report)
}

/// Polls the published checkpoint's size; returns when it goes up (time, size). Once told
/// the size that covers every pledge, it stops at that size or [`WATCH_AFTER`] later.
async fn watch_sizes(
    client: reqwest::Client,
    url: String,
    mut until: tokio::sync::watch::Receiver<Option<u64>>,
) -> Vec<(Instant, u64)> {
    let mut seen: Vec<(Instant, u64)> = Vec::new();
    let mut deadline = None;
    loop {
        if let Some(target) = *until.borrow_and_update() {
            let deadline = *deadline.get_or_insert_with(|| Instant::now() + WATCH_AFTER);
            if seen.last().is_some_and(|&(_, s)| s >= target) || Instant::now() >= deadline {
                return seen;
            }
        }
        let size = match client.get(&url).send().await {
            Ok(res) => res
                .text()
                .await
                .ok()
                .and_then(|note| note.lines().nth(1).and_then(|l| l.parse::<u64>().ok())),
            Err(_) => None,
        };
        let at = Instant::now();
        if let Some(size) = size
            && seen.last().is_none_or(|&(_, s)| size > s)
        {
            seen.push((at, size));
        }
        tokio::time::sleep(WATCH_EVERY).await;
    }
}

/// Per pledge `(log index, time of its 201)`, the time until the first polled checkpoint
/// size above its index; sorted, and the number never covered.
fn coverage(created: &[(u64, Instant)], sizes: &[(Instant, u64)]) -> (Vec<Duration>, usize) {
    let mut lags = Vec::with_capacity(created.len());
    let mut uncovered = 0;
    for &(index, answered) in created {
        // Sizes only grow, so the first covering poll is found by bisection.
        let at = sizes.partition_point(|&(_, size)| size <= index);
        match sizes.get(at) {
            Some(&(when, _)) => lags.push(when.saturating_duration_since(answered)),
            None => uncovered += 1,
        }
    }
    lags.sort();
    (lags, uncovered)
}

/// What the slow-client mode saw: how the server treated the slow connections, how fast it
/// answered everyone else meanwhile, and (with `--server-pid`) its memory and open files.
pub struct SlowReport {
    pub slow_bodies: usize,
    pub stalled_lines: usize,
    pub opened: usize,
    pub connect_errors: usize,
    /// Slow connections the server closed, with the seconds each stayed open.
    pub closed_bodies: Vec<f64>,
    pub closed_lines: Vec<f64>,
    /// Statuses the server answered slow bodies with before closing (408 expected).
    pub body_statuses: BTreeMap<u16, usize>,
    pub probes: Report,
    pub rss_before_kib: Option<u64>,
    pub rss_peak_kib: Option<u64>,
    pub rss_after_kib: Option<u64>,
    pub fds_before: Option<usize>,
    pub fds_peak: Option<usize>,
    pub fds_after: Option<usize>,
}

impl SlowReport {
    pub fn render(&self) -> String {
        let range = |v: &[f64]| match (
            v.iter().copied().reduce(f64::min),
            v.iter().copied().reduce(f64::max),
        ) {
            (Some(a), Some(b)) => format!("after {a:.1}–{b:.1} s"),
            _ => "-".to_string(),
        };
        let mib =
            |k: Option<u64>| k.map_or("-".to_string(), |k| format!("{:.1}", k as f64 / 1024.0));
        let n = |f: Option<usize>| f.map_or("-".to_string(), |f| f.to_string());
        format!(
            "slow clients: {bodies} half-sent bodies + {lines} stalled request lines; \
             {opened} opened, {errs} connect errors\n\
             closed by the server: bodies {cb}/{bodies} ({rb}, answers {st:?}), \
             request lines {cl}/{lines} ({rl})\n\
             normal requests meanwhile (GET /healthz, GET /api/v1/keys):\n{probes}\n\
             server RSS MiB: before {b}  peak {p}  after {a};  open files: before {fb}  peak {fp}  after {fa}",
            bodies = self.slow_bodies,
            lines = self.stalled_lines,
            opened = self.opened,
            errs = self.connect_errors,
            cb = self.closed_bodies.len(),
            rb = range(&self.closed_bodies),
            st = self.body_statuses,
            cl = self.closed_lines.len(),
            rl = range(&self.closed_lines),
            probes = self.probes.render(),
            b = mib(self.rss_before_kib),
            p = mib(self.rss_peak_kib),
            a = mib(self.rss_after_kib),
            fb = n(self.fds_before),
            fp = n(self.fds_peak),
            fa = n(self.fds_after),
        )
    }
}

/// The resident memory (KiB) and open files of a process, from /proc.
fn sample(pid: Option<u32>) -> (Option<u64>, Option<usize>) {
    let Some(pid) = pid else {
        return (None, None);
    };
    let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        });
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()
        .map(|d| d.count());
    (rss, fds)
}

/// One slow connection: sends `head` (and nothing more), then waits until the server closes
/// it or `hold` passes. Returns (seconds until closed, HTTP status if one came).
async fn hold_open(
    addr: std::net::SocketAddr,
    head: Arc<Vec<u8>>,
    hold: Duration,
) -> Result<(Option<f64>, Option<u16>)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.write_all(&head).await?;
    let start = Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(hold, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => answer.extend_from_slice(&buf[..n.min(buf.len())]),
            }
        }
    })
    .await
    .is_ok();
    let status = std::str::from_utf8(&answer[..answer.len().min(12)])
        .ok()
        .and_then(|l| l.strip_prefix("HTTP/1.1 "))
        .and_then(|l| l.get(..3))
        .and_then(|s| s.parse().ok());
    Ok((closed.then(|| start.elapsed().as_secs_f64()), status))
}

/// Slow-client mode of `ikrar loadtest`: holds `--slow-bodies` half-sent sign bodies and
/// `--stalled-lines` half request lines open against a server on this machine, while
/// timing ordinary requests, and reports whether the server's timeouts closed them.
pub async fn slow_clients(args: &crate::cli::args::LoadtestArgs) -> Result<SlowReport> {
    crate::install_tls();
    let url = url::Url::parse(&args.url).context("--url")?;
    let addr = url
        .socket_addrs(|| Some(80))?
        .into_iter()
        .next()
        .context("--url has no address")?;
    if !addr.ip().is_loopback() {
        bail!("slow-client mode only targets a server on this machine (a loopback address)");
    }
    crate::http::conn::raise_open_file_limit();
    let host = format!("{}", addr);
    let hold = Duration::from_secs(args.hold);
    let half = args.body_bytes / 2;
    let mut body_head = format!(
        "POST /api/v1/sign HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{{\"token\":\"",
        args.body_bytes
    )
    .into_bytes();
    body_head.resize(body_head.len() + half.saturating_sub(10), b'a');
    let body_head = Arc::new(body_head);
    let line_head = Arc::new(b"POST /api/v1/si".to_vec());

    let (rss_before, fds_before) = sample(args.server_pid);
    let start = Instant::now();
    let mut slow = tokio::task::JoinSet::new();
    for i in 0..args.slow_bodies + args.stalled_lines {
        let is_body = i < args.slow_bodies;
        let head = if is_body {
            body_head.clone()
        } else {
            line_head.clone()
        };
        slow.spawn(async move { (is_body, hold_open(addr, head, hold).await) });
        // Open them at a steady pace rather than in one burst.
        if i % 200 == 199 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    // Ordinary clients meanwhile: fresh connections, so that they queue like newcomers.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()?;
    let base = args.url.trim_end_matches('/').to_string();
    let prober = tokio::spawn(async move {
        let mut seen = Vec::new();
        let deadline = Instant::now() + hold;
        let mut i = 0usize;
        while Instant::now() < deadline {
            let path = if i.is_multiple_of(2) {
                "/healthz"
            } else {
                "/api/v1/keys"
            };
            i += 1;
            let t = Instant::now();
            let status = match client.get(format!("{base}{path}")).send().await {
                Ok(res) => {
                    let s = res.status().as_u16();
                    let _ = res.bytes().await;
                    Some(s)
                }
                Err(_) => None,
            };
            seen.push((status, t.elapsed()));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        seen
    });
    let pid = args.server_pid;
    let sampler = tokio::spawn(async move {
        let (mut rss, mut fds) = (None::<u64>, None::<usize>);
        let deadline = Instant::now() + hold;
        while Instant::now() < deadline {
            let (r, f) = sample(pid);
            rss = rss.max(r);
            fds = fds.max(f);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        (rss, fds)
    });

    let mut report = SlowReport {
        slow_bodies: args.slow_bodies,
        stalled_lines: args.stalled_lines,
        opened: 0,
        connect_errors: 0,
        closed_bodies: Vec::new(),
        closed_lines: Vec::new(),
        body_statuses: BTreeMap::new(),
        probes: Report {
            sent: 0,
            statuses: BTreeMap::new(),
            errors: 0,
            elapsed: Duration::ZERO,
            latencies: Vec::new(),
            coverage: None,
        },
        rss_before_kib: rss_before,
        rss_peak_kib: None,
        rss_after_kib: None,
        fds_before,
        fds_peak: None,
        fds_after: None,
    };
    while let Some(done) = slow.join_next().await {
        match done? {
            (_, Err(_)) => report.connect_errors += 1,
            (is_body, Ok((closed, status))) => {
                report.opened += 1;
                if let Some(s) = status {
                    *report.body_statuses.entry(s).or_default() += 1;
                }
                match (is_body, closed) {
                    (true, Some(t)) => report.closed_bodies.push(t),
                    (false, Some(t)) => report.closed_lines.push(t),
                    _ => {}
                }
            }
        }
    }
    for (status, latency) in prober.await? {
        report.probes.sent += 1;
        match status {
            Some(s) => *report.probes.statuses.entry(s).or_default() += 1,
            None => report.probes.errors += 1,
        }
        report.probes.latencies.push(latency);
    }
    report.probes.latencies.sort();
    report.probes.elapsed = start.elapsed();
    let (rss_peak, fds_peak) = sampler.await?;
    report.rss_peak_kib = rss_peak;
    report.fds_peak = fds_peak;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (rss_after, fds_after) = sample(args.server_pid);
    report.rss_after_kib = rss_after;
    report.fds_after = fds_after;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_is_the_first_poll_above_each_index() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let sizes = [(at(100), 2), (at(300), 5), (at(700), 9)];
        let created = [
            (0, at(50)),
            (1, at(90)),
            (2, at(120)),
            (4, at(310)),
            (9, at(800)),
        ];
        let (lags, uncovered) = coverage(&created, &sizes);
        let ms: Vec<u128> = lags.iter().map(|d| d.as_millis()).collect();
        // index 0 and 1 by size 2 at 100 ms, 2 by size 5 at 300, 4 by size 5 as well (its
        // 201 came later: covered at once), 9 never.
        assert_eq!(ms, vec![0, 10, 50, 180]);
        assert_eq!(uncovered, 1);
    }
}
