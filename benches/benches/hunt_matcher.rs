//! The `sigma-hunt` matcher: the corpus `rules/windows` folder compiled
//! once, then every event of the bench files evaluated against it.
//!
//! * `parse_floor`: every line into `serde_json::Value` (single thread),
//!   the cost any JSON-based engine pays;
//! * `parse_and_evaluate`: parsing plus [`Engine::evaluate`] (single
//!   thread), the plain evaluator;
//! * `compile_rules`: building the engine from parsed rules.
//!
//! Run with `cargo bench -p sigil-benches --bench hunt_matcher`; needs
//! `../shared` (or `SIGIL_SHARED`), skips with a message otherwise.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sigma_hunt::{Engine, EngineOptions, Scratch};

/// The shared data folder, when it holds the bench files.
fn shared() -> Option<PathBuf> {
    sigil_benches::shared_dir().filter(|p| p.join("bench").is_dir())
}

fn bench_hunt(c: &mut Criterion) {
    let Some(shared) = shared() else {
        eprintln!("skipping: ../shared not found (set SIGIL_SHARED)");
        return;
    };
    let set = sigma_hunt::load_rules(&[shared.join("corpus/sigma/rules/windows")]);
    let mut group = c.benchmark_group("hunt_matcher");
    group.sample_size(10);
    group.bench_function("compile_rules", |b| {
        b.iter(|| Engine::build(&set, EngineOptions::default()))
    });
    let engine = Engine::build(&set, EngineOptions::default());
    for name in ["windows-sample.jsonl", "windows-sample-flat.jsonl"] {
        let Ok(data) = std::fs::read(shared.join("bench").join(name)) else {
            continue;
        };
        group.throughput(Throughput::Bytes(data.len() as u64));
        group.bench_function(format!("parse_floor/{name}"), |b| {
            b.iter(|| {
                let mut n = 0usize;
                for line in data.split(|&c| c == b'\n') {
                    if let Ok(serde_json::Value::Object(m)) = serde_json::from_slice(line) {
                        n += m.len();
                    }
                }
                n
            })
        });
        group.bench_function(format!("parse_and_evaluate/{name}"), |b| {
            let mut scratch = Scratch::default();
            let mut hits = Vec::new();
            b.iter(|| {
                hits.clear();
                for line in data.split(|&c| c == b'\n') {
                    if let Ok(serde_json::Value::Object(m)) = serde_json::from_slice(line) {
                        engine.evaluate(&m, &mut scratch, &mut hits);
                    }
                }
                hits.len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_hunt);
criterion_main!(benches);
