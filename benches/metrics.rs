//! What `/metrics` costs the hot path (SPEC 4.6, 8): recording one answered request (its
//! counter and its duration histogram, as the router's middleware does for every request),
//! and rendering a scrape of a registry holding 25 routes × 4 statuses.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

use ikrar::metrics::Metrics;

fn bench(c: &mut Criterion) {
    let m = Metrics::new();
    let routes: Vec<String> = (0..25)
        .map(|i| format!("/api/v1/route{i}/{{id}}"))
        .collect();
    for route in &routes {
        for status in [200, 400, 404, 503] {
            m.http_request(route, status, Duration::from_micros(120));
        }
    }
    c.bench_function("metrics/record_one_request", |b| {
        b.iter(|| {
            m.http_request(
                black_box("/api/v1/verify/{record}"),
                black_box(200),
                Duration::from_micros(50),
            )
        })
    });
    c.bench_function("metrics/render_100_series", |b| {
        b.iter(|| black_box(m.render()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
