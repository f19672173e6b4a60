//! The operator's instruments (SPEC 4.6): one Prometheus registry per [`Metrics`], rendered
//! as the Prometheus text format on `/metrics`. Each app state owns its own registry (no
//! process-wide recorder), so several instances in one process — the test suite's — never
//! count each other's requests. The one process-wide value is what witnesses cosigned
//! ([`witness_cosigned`]), a fact about the log rather than about a request.
//!
//! Label values are bounded and never per person: route templates (not paths), status
//! codes, error codes, instansi codes, witness names and limit names. No NIP, token, name
//! or address ever becomes a label.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics::Recorder as _;
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

const HTTP_REQUESTS: &str = "ikrar_http_requests_total";
const HTTP_DURATION: &str = "ikrar_http_request_duration_seconds";
const SIGN_REQUESTS: &str = "ikrar_sign_requests_total";
const PLEDGES: &str = "ikrar_pledges_total";
const BATCH_SIZE: &str = "ikrar_sequencer_batch_size";
const COMMIT_SECONDS: &str = "ikrar_sequencer_commit_seconds";
const LOG_SIZE: &str = "ikrar_log_size";
const WITNESS_COSIGNED: &str = "ikrar_witness_cosigned_size";
const RATE_LIMITED: &str = "ikrar_rate_limited_total";
const BUILD_INFO: &str = "ikrar_build_info";

/// Who may read `/metrics` unless told otherwise (`--metrics-allow`): this machine only.
pub fn loopback_networks() -> Vec<ipnet::IpNet> {
    ["127.0.0.0/8", "::1/128"]
        .iter()
        .map(|n| n.parse().expect("a valid network"))
        .collect()
}

/// The route label of a request that matched no route: one value, never the path asked for.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Seconds: 0.5 ms to about 16 s, doubling.
fn seconds_buckets() -> Vec<f64> {
    (0..16).map(|i| 0.0005 * f64::from(1u32 << i)).collect()
}

/// A sign batch holds 1 to `MAX_BATCH` (1,024) jobs.
fn batch_buckets() -> Vec<f64> {
    (0..11).map(|i| f64::from(1u32 << i)).collect()
}

/// The newest tree size each witness cosigned, by witness name. Process-wide, not per app
/// state: it is a fact about the log that the witnessing task learns, not about a request,
/// and that task needs no handle to report it.
static WITNESS_SIZES: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());

/// Reports that `witness` (its key name) cosigned a checkpoint of tree size `size`; shown
/// as `ikrar_witness_cosigned_size{witness}` on every scrape from then on. A smaller size
/// than one already reported (a late answer) does not move the gauge back.
pub fn witness_cosigned(witness: &str, size: u64) {
    let mut sizes = WITNESS_SIZES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let newest = sizes.entry(witness.to_string()).or_default();
    *newest = (*newest).max(size);
}

/// A sample's value with at most nine decimals. A float sum such as
/// `0.0024717899999999998` would otherwise print a run of 18 digits, which reads like a NIP
/// to anyone (or anything) checking that none leaks; nanosecond precision is plenty.
fn sample_value(raw: &str) -> String {
    match raw.parse::<f64>() {
        Ok(v) if v.is_finite() && v.fract() != 0.0 => {
            let fixed = format!("{v:.9}");
            let trimmed = fixed.trim_end_matches('0').trim_end_matches('.');
            trimmed.to_string()
        }
        _ => raw.to_string(),
    }
}

/// The instruments of one app state; cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
    handle: PrometheusHandle,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut builder = PrometheusBuilder::new();
        for (name, buckets) in [
            (HTTP_DURATION, seconds_buckets()),
            (COMMIT_SECONDS, seconds_buckets()),
            (BATCH_SIZE, batch_buckets()),
        ] {
            builder = builder
                .set_buckets_for_metric(Matcher::Full(name.to_string()), &buckets)
                .expect("bucket lists are not empty");
        }
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        let m = Metrics {
            recorder: Arc::new(recorder),
            handle,
        };
        m.describe();
        m.with(|| {
            metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            metrics::gauge!(LOG_SIZE).set(0.0);
        });
        m
    }

    fn with<T>(&self, f: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(self.recorder.as_ref(), f)
    }

    fn describe(&self) {
        let r = self.recorder.as_ref();
        let text = |name: &'static str, help: &'static str| (name, help);
        for (name, help) in [
            text(
                HTTP_REQUESTS,
                "HTTP requests answered, by route template and status.",
            ),
            text(
                SIGN_REQUESTS,
                "Sign requests, by outcome: created, repeated, or the error code.",
            ),
            text(
                PLEDGES,
                "Pledges committed to the log by this process, by instansi code.",
            ),
            text(RATE_LIMITED, "Requests refused by a rate limit, by limit."),
        ] {
            r.describe_counter(name.into(), None, help.into());
        }
        for (name, help) in [
            text(
                HTTP_DURATION,
                "Time to answer an HTTP request, by route template.",
            ),
            text(BATCH_SIZE, "Sign requests per sequencer batch."),
            text(
                COMMIT_SECONDS,
                "Time of one sequencer append: seal, write and commit.",
            ),
        ] {
            r.describe_histogram(name.into(), None, help.into());
        }
        for (name, help) in [
            text(LOG_SIZE, "Entries in the transparency log."),
            text(
                WITNESS_COSIGNED,
                "Tree size of the newest checkpoint each witness cosigned.",
            ),
            text(BUILD_INFO, "The running version; always 1."),
        ] {
            r.describe_gauge(name.into(), None, help.into());
        }
    }

    /// One answered HTTP request. `route` is the route template or [`UNMATCHED_ROUTE`].
    pub fn http_request(&self, route: &str, status: u16, elapsed: Duration) {
        let route = route.to_string();
        self.with(|| {
            metrics::counter!(HTTP_REQUESTS, "route" => route.clone(), "status" => status.to_string())
                .increment(1);
            metrics::histogram!(HTTP_DURATION, "route" => route).record(elapsed.as_secs_f64());
        });
    }

    /// One sign request's outcome: `created`, `repeated`, or the refusal's error code.
    pub fn sign_request(&self, outcome: &'static str) {
        self.with(|| metrics::counter!(SIGN_REQUESTS, "outcome" => outcome).increment(1));
    }

    /// Pledges of one instansi committed to the log in one batch.
    pub fn pledges_committed(&self, instansi_code: &str, n: u64) {
        let code = instansi_code.to_string();
        self.with(|| metrics::counter!(PLEDGES, "instansi" => code).increment(n));
    }

    /// One sequencer append: how many sign requests it carried and how long it took.
    pub fn batch(&self, size: usize, elapsed: Duration) {
        self.with(|| {
            metrics::histogram!(BATCH_SIZE).record(size as f64);
            metrics::histogram!(COMMIT_SECONDS).record(elapsed.as_secs_f64());
        });
    }

    pub fn log_size(&self, size: u64) {
        self.with(|| metrics::gauge!(LOG_SIZE).set(size as f64));
    }

    /// A request refused by the limit named `limit` (`lookup`, `login_ip`, …).
    pub fn rate_limited(&self, limit: &'static str) {
        self.with(|| metrics::counter!(RATE_LIMITED, "limit" => limit).increment(1));
    }

    /// The Prometheus text format (version 0.0.4) of everything recorded so far.
    pub fn render(&self) -> String {
        let cosigned: Vec<(String, u64)> = WITNESS_SIZES
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(w, n)| (w.clone(), *n))
            .collect();
        self.with(|| {
            for (witness, size) in cosigned {
                metrics::gauge!(WITNESS_COSIGNED, "witness" => witness).set(size as f64);
            }
        });
        let text = self.handle.render();
        let mut out = String::with_capacity(text.len());
        for line in text.lines() {
            match line.rsplit_once(' ') {
                Some((series, value)) if !line.starts_with('#') => {
                    out.push_str(series);
                    out.push(' ');
                    out.push_str(&sample_value(value));
                }
                _ => out.push_str(line),
            }
            out.push('\n');
        }
        out
    }

    /// Moves recorded histogram samples into their buckets. Rendering does it too; without a
    /// scraper, [`Metrics::spawn_upkeep`] keeps the samples from piling up.
    pub fn run_upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// Runs the upkeep every few seconds until every other handle to these metrics is gone.
    pub fn spawn_upkeep(&self) {
        let weak = Arc::downgrade(&self.recorder);
        let handle = self.handle.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                if weak.strong_count() == 0 {
                    return;
                }
                handle.run_upkeep();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_build_info_in_text_format() {
        let m = Metrics::new();
        m.http_request("/s/{token}", 200, Duration::from_millis(3));
        m.pledges_committed("DEMO", 2);
        m.pledges_committed("DEMO", 1);
        m.batch(3, Duration::from_millis(1));
        let text = m.render();
        assert!(
            text.contains("# TYPE ikrar_pledges_total counter"),
            "{text}"
        );
        assert!(
            text.contains("ikrar_pledges_total{instansi=\"DEMO\"} 3"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE ikrar_sequencer_batch_size histogram"),
            "{text}"
        );
        assert!(
            text.contains(
                "ikrar_http_request_duration_seconds_bucket{route=\"/s/{token}\",le=\"0.004\"} 1"
            ),
            "{text}"
        );
        assert!(text.contains("ikrar_build_info{version=\""), "{text}");
    }

    #[test]
    fn sample_values_never_print_long_digit_runs() {
        assert_eq!(sample_value("0.0024717899999999998"), "0.00247179");
        assert_eq!(sample_value("0.30000000000000004"), "0.3");
        assert_eq!(sample_value("1026"), "1026");
        assert_eq!(sample_value("+Inf"), "+Inf");
        let m = Metrics::new();
        for ms in [2.4717899, 0.1, 0.2, 38.295747] {
            m.http_request("/", 200, Duration::from_secs_f64(ms / 1000.0));
        }
        let text = m.render();
        let longest = text
            .split(|c: char| !c.is_ascii_digit())
            .map(str::len)
            .max()
            .unwrap_or(0);
        assert!(longest < 18, "{text}");
    }

    #[test]
    fn witness_sizes_show_on_the_next_scrape_and_never_go_back() {
        let m = Metrics::new();
        witness_cosigned("witness.example/test-a", 41);
        witness_cosigned("witness.example/test-a", 40);
        let text = m.render();
        assert!(
            text.contains("ikrar_witness_cosigned_size{witness=\"witness.example/test-a\"} 41"),
            "{text}"
        );
    }

    #[test]
    fn two_instances_count_apart() {
        let a = Metrics::new();
        let b = Metrics::new();
        a.sign_request("created");
        assert!(
            a.render()
                .contains("ikrar_sign_requests_total{outcome=\"created\"} 1")
        );
        assert!(!b.render().contains("ikrar_sign_requests_total"));
    }
}
