//! `ikrar witness`: the cost of one add-checkpoint that advances the log (parse, log
//! signature, consistency proof, the durable compare-and-swap with `synchronous=FULL`, the
//! cosignature), in process on a SQLite file in a temporary directory, and of one that is
//! refused with 409 before touching the disk. A log of 2^20 leaves grows by 1,000 leaves a
//! request.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;

use ikrar::tlog::cosignature::Cosigner;
use ikrar::tlog::merkle::{self, Frontier, Hash, NodeId, ProofPlan};
use ikrar::tlog::note::{self, Checkpoint, Verifier};
use ikrar::witness::state::WitnessState;
use ikrar::witness::{Witness, watched_logs};

const ORIGIN: &str = "bench.example/log";
const START: u64 = 1 << 20;
const STEP: u64 = 1_000;

struct Log {
    key: SigningKey,
    frontier: Frontier,
    nodes: HashMap<NodeId, Hash>,
}

impl Log {
    fn grow(&mut self, to: u64) {
        while self.frontier.size() < to {
            let leaf = merkle::leaf_hash(&self.frontier.size().to_be_bytes());
            self.nodes.extend(self.frontier.push(leaf));
        }
    }

    fn body(&self, old: u64, size: u64) -> String {
        let lookup = |id| self.nodes.get(&id).copied();
        let root = ProofPlan::root(size).assemble(lookup).expect("nodes")[0];
        let proof = if old == 0 {
            Vec::new()
        } else {
            ProofPlan::consistency(old, size)
                .expect("sizes")
                .assemble(lookup)
                .expect("nodes")
        };
        let lines: String = proof
            .iter()
            .map(|h| format!("{}\n", STANDARD.encode(h)))
            .collect();
        let text = Checkpoint {
            origin: ORIGIN.into(),
            size,
            root,
        }
        .to_text();
        let signed = note::sign(&text, ORIGIN, &self.key).expect("note");
        format!("old {old}\n{lines}\n{signed}")
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("witness.db").display());
    let mut log = Log {
        key: SigningKey::from_bytes(&[1; 32]),
        frontier: Frontier::empty(),
        nodes: HashMap::new(),
    };
    log.grow(START);
    let witness = rt.block_on(async {
        let logs = watched_logs(vec![Verifier::new(ORIGIN, log.key.verifying_key())]);
        let cosigner =
            Cosigner::new("bench.example/w", SigningKey::from_bytes(&[2; 32])).expect("name");
        let state = WitnessState::open(&url).await.expect("db");
        Witness::new(cosigner, logs, state).await.expect("witness")
    });
    rt.block_on(witness.add_checkpoint(log.body(0, START).as_bytes(), 1))
        .expect("first");

    // Each body is made outside the measured routine, so that only the witness is timed.
    let mut size = START;
    c.bench_function("witness add-checkpoint, advancing (durable)", |b| {
        b.iter_batched(
            || {
                log.grow(size + STEP);
                let body = log.body(size, size + STEP);
                size += STEP;
                body
            },
            |body| {
                rt.block_on(witness.add_checkpoint(body.as_bytes(), 2))
                    .expect("cosigned")
            },
            BatchSize::PerIteration,
        )
    });
    let stale = log.body(START, START + STEP);
    c.bench_function("witness add-checkpoint, 409", |b| {
        b.iter(|| {
            assert!(
                rt.block_on(witness.add_checkpoint(stale.as_bytes(), 3))
                    .is_err()
            )
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
