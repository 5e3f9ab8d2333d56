//! Helpers shared by the differential tests: the shared data folder, the
//! corpus engine, and the comparison of the optimized scan (prefilter,
//! channel groups, sparse parsing) with the plain evaluator.

// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::Value;
use sigma_hunt::{scan_paths, Collect, Engine, EngineOptions, ScanOptions, ScanStats};

/// The shared data folder (`../shared`, or `SIGIL_SHARED`), `None` with a
/// printed message when it is absent.
pub fn shared() -> Option<PathBuf> {
    let p = std::env::var("SIGIL_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared")));
    if p.join("corpus/regression/cases.jsonl").exists() && p.join("bench").is_dir() {
        Some(p)
    } else {
        eprintln!(
            "SKIPPED: {} not found (set SIGIL_SHARED to the shared data folder)",
            p.display()
        );
        None
    }
}

/// An engine holding every rule of the public corpus.
pub fn corpus_engine(shared: &Path) -> Engine {
    let corpus = shared.join("corpus/sigma");
    let folders: Vec<PathBuf> = [
        "rules",
        "rules-emerging-threats",
        "rules-threat-hunting",
        "rules-compliance",
        "deprecated",
    ]
    .iter()
    .map(|f| corpus.join(f))
    .filter(|p| p.is_dir())
    .collect();
    let set = sigma_hunt::load_rules(&folders);
    let mut engine = Engine::build(&set, EngineOptions::default());
    // Every line without a usable channel key is searched with the full
    // automaton (by default the first few hundred are evaluated exactly,
    // which would leave that path untested by the hostile lines).
    engine.set_prefilter_warmup(0);
    assert!(
        engine.rules().len() > 2900,
        "{} rules",
        engine.rules().len()
    );
    engine
}

/// Hits as (rule index, line), what each hit reports, the input errors
/// (line, message) and the counters, with the prefilter on or off.
pub type Run = (Vec<(u32, u64)>, Vec<String>, Vec<String>, ScanStats);

/// The scan options of [`run`] and [`same`].
pub fn default_opts() -> ScanOptions {
    ScanOptions {
        threads: 2,
        chunk_size: 1 << 20,
        ..ScanOptions::default()
    }
}

pub fn run(engine: &mut Engine, file: &Path, prefilter: bool) -> Run {
    run_opts(engine, file, prefilter, &default_opts())
}

pub fn run_opts(engine: &mut Engine, file: &Path, prefilter: bool, opts: &ScanOptions) -> Run {
    engine.set_prefilter(prefilter);
    let mut sink = Collect::default();
    let stats = scan_paths(engine, &[file.to_path_buf()], opts, &mut sink);
    let hits = sink
        .hits
        .iter()
        .map(|h| (h.rule, h.source.line.unwrap_or(0)))
        .collect();
    // What each hit reports (matched fields, timestamp) must not depend on
    // how the line was parsed either.
    let details = sink
        .hits
        .iter()
        .map(|h| format!("{:?} {}", h.timestamp, Value::Object(h.fields.clone())))
        .collect();
    let errors = sink
        .errors
        .iter()
        .map(|e| format!("{:?}: {}", e.source.line, e.message))
        .collect();
    (hits, details, errors, stats)
}

/// Scans `file` with and without the prefilter and panics on any
/// difference; returns the number of hits.
pub fn same(engine: &mut Engine, file: &Path) -> usize {
    same_opts(engine, file, &default_opts())
}

/// [`same`] with other scan options (time range, whole events).
pub fn same_opts(engine: &mut Engine, file: &Path, opts: &ScanOptions) -> usize {
    let (plain, plain_details, plain_errors, ps) = run_opts(engine, file, false, opts);
    let (fast, fast_details, fast_errors, fs) = run_opts(engine, file, true, opts);
    let name = file.display();
    if plain != fast {
        let missing: Vec<_> = plain
            .iter()
            .filter(|h| !fast.contains(h))
            .take(10)
            .collect();
        let extra: Vec<_> = fast
            .iter()
            .filter(|h| !plain.contains(h))
            .take(10)
            .collect();
        let title = |r: u32| engine.rules()[r as usize].rule.title.clone();
        let missing: Vec<_> = missing.iter().map(|(r, l)| (title(*r), l)).collect();
        let extra: Vec<_> = extra.iter().map(|(r, l)| (title(*r), l)).collect();
        panic!("{name}: prefilter changed the hits; missing {missing:?}, extra {extra:?}");
    }
    if let Some(i) = (0..plain.len()).find(|&i| plain_details.get(i) != fast_details.get(i)) {
        panic!(
            "{name}: hit {:?} reports {:?} with the prefilter, {:?} without",
            plain.get(i),
            fast_details.get(i),
            plain_details.get(i)
        );
    }
    assert_eq!(plain_errors, fast_errors, "{name}: input errors reported");
    assert_eq!(ps.events_read, fs.events_read, "{name}: events read");
    assert_eq!(
        ps.events_evaluated, fs.events_evaluated,
        "{name}: events evaluated"
    );
    assert_eq!(ps.errors, fs.errors, "{name}: input errors");
    assert_eq!(ps.skipped, fs.skipped, "{name}: skipped events");
    assert_eq!(ps.hits, fs.hits, "{name}: hit counter");
    plain.len()
}

/// Writes raw lines (any bytes) to `dir/name` and compares both paths
/// over them; returns the hits of the plain path per line (1-based).
pub fn same_lines(engine: &mut Engine, dir: &Path, name: &str, lines: &[Vec<u8>]) -> Vec<u32> {
    let path = dir.join(format!("{name}.jsonl"));
    let mut data = Vec::new();
    for l in lines {
        data.extend_from_slice(l);
        data.push(b'\n');
    }
    std::fs::write(&path, &data).expect("write temp file");
    same(engine, &path);
    let (plain, ..) = run(engine, &path, false);
    let mut per_line = vec![0u32; lines.len()];
    for (_, l) in plain {
        if let Some(n) = (l as usize)
            .checked_sub(1)
            .and_then(|i| per_line.get_mut(i))
        {
            *n += 1;
        }
    }
    per_line
}
