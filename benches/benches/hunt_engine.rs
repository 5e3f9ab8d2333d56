//! The prefiltered hunt engine against the parse floor and the plain
//! evaluator, on both bench files with the corpus `rules/windows` folder.
//!
//! * `parse_floor`: every line into `serde_json::Value` (one thread);
//! * `plain`: every line parsed and evaluated against every routed rule
//!   ([`Engine::evaluate`], one thread);
//! * `prefiltered`: the raw-line prefilter, candidate lines parsed and
//!   evaluated against their candidate rules only, other lines validated
//!   (one thread), as `sigil hunt` does per chunk;
//! * `scan_2_threads`: the whole scanner (`scan_paths`, 2 threads, hits
//!   collected) over the file;
//! * `compile_plan/all_corpus_rules`: building the engine and its plan
//!   from the parsed 3,952-rule corpus (rules, emerging threats, threat
//!   hunting, placeholders, compliance, deprecated).
//!
//! Run with `cargo bench -p sigil-benches --bench hunt_engine`; needs
//! `../shared` (or `SIGIL_SHARED`) and skips with a message otherwise.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::Value;
use sigma_hunt::prefilter::{valid_object, LineCheck};
use sigma_hunt::{scan_paths, Collect, Engine, EngineOptions, ScanOptions, Scratch};

/// The shared data folder, when it holds the bench files.
fn shared() -> Option<PathBuf> {
    sigil_benches::shared_dir().filter(|p| p.join("bench").is_dir())
}

fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.split(|&c| c == b'\n').filter(|l| !l.is_empty())
}

fn bench_engine(c: &mut Criterion) {
    let Some(shared) = shared() else {
        eprintln!("skipping: ../shared not found (set SIGIL_SHARED)");
        return;
    };
    let mut group = c.benchmark_group("hunt_engine");
    group.sample_size(10);

    let corpus = shared.join("corpus/sigma");
    let all: Vec<PathBuf> = [
        "rules",
        "rules-emerging-threats",
        "rules-threat-hunting",
        "rules-placeholder",
        "rules-compliance",
        "deprecated",
    ]
    .iter()
    .map(|f| corpus.join(f))
    .filter(|p| p.is_dir())
    .collect();
    let everything = sigma_hunt::load_rules(&all);
    group.bench_function("compile_plan/all_corpus_rules", |b| {
        b.iter(|| {
            let mut engine = Engine::build(&everything, EngineOptions::default());
            // The plan's full automaton is built on first use (after a
            // few hundred lines without a channel key, which warmup 0
            // makes the first); it is included here.
            engine.set_prefilter_warmup(0);
            let mut scratch = Scratch::default();
            engine.prefilter(br#"{"a": "b"}"#, &mut scratch);
            engine
        })
    });

    let set = sigma_hunt::load_rules(&[corpus.join("rules/windows")]);
    let mut engine = Engine::build(&set, EngineOptions::default());
    for name in ["windows-sample.jsonl", "windows-sample-flat.jsonl"] {
        let path = shared.join("bench").join(name);
        let Ok(data) = std::fs::read(&path) else {
            continue;
        };
        group.throughput(Throughput::Bytes(data.len() as u64));
        group.bench_function(format!("parse_floor/{name}"), |b| {
            b.iter(|| {
                lines(&data)
                    .filter(|l| matches!(serde_json::from_slice(l), Ok(Value::Object(_))))
                    .count()
            })
        });
        group.bench_function(format!("plain/{name}"), |b| {
            let mut scratch = Scratch::default();
            let mut hits = Vec::new();
            b.iter(|| {
                hits.clear();
                for l in lines(&data) {
                    if let Ok(Value::Object(m)) = serde_json::from_slice(l) {
                        engine.evaluate(&m, &mut scratch, &mut hits);
                    }
                }
                hits.len()
            })
        });
        group.bench_function(format!("prefiltered/{name}"), |b| {
            let mut scratch = Scratch::default();
            let mut hits = Vec::new();
            b.iter(|| {
                hits.clear();
                for l in lines(&data) {
                    let check = engine.prefilter(l, &mut scratch);
                    if check == LineCheck::Nothing && valid_object(l) {
                        continue;
                    }
                    // What a scan worker does: a sparse parse of the
                    // candidate lines, the full parse otherwise.
                    if check == LineCheck::Candidates {
                        if let Some(Ok(Some(m))) = engine.parse_candidates(l, &mut scratch) {
                            engine.evaluate_prefiltered(&m, &mut scratch, &mut hits);
                            continue;
                        }
                    }
                    if let Ok(Value::Object(m)) = serde_json::from_slice(l) {
                        engine.evaluate_prefiltered(&m, &mut scratch, &mut hits);
                    }
                }
                hits.len()
            })
        });
        let opts = ScanOptions {
            threads: 2,
            ..ScanOptions::default()
        };
        for (label, on) in [("scan_2_threads", true), ("scan_2_threads_plain", false)] {
            engine.set_prefilter(on);
            group.bench_function(format!("{label}/{name}"), |b| {
                b.iter(|| {
                    let mut sink = Collect::default();
                    scan_paths(&engine, std::slice::from_ref(&path), &opts, &mut sink).hits
                })
            });
        }
        engine.set_prefilter(true);
    }
    group.finish();
}

criterion_group!(benches, bench_engine);
criterion_main!(benches);
