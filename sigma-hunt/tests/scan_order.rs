//! The scanner's output does not depend on threads or chunk size: hits come
//! in file order, with the right line numbers, and the counters add up.

use std::path::PathBuf;

use sigma_hunt::{scan_paths, Collect, Engine, EngineOptions, ScanOptions};

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn output_is_independent_of_threads_and_chunk_size() {
    let set = sigma_hunt::load_rules(&[root().join("rules/windows")]);
    let engine = Engine::build(&set, EngineOptions::default());
    let sample =
        std::fs::read_to_string(root().join("fixtures/hunt/layouts/flat.jsonl")).expect("sample");
    let lines = sample.lines().count() as u64;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("repeated.jsonl");
    let mut text = String::new();
    for i in 0..200 {
        text.push_str(&sample);
        // Blank lines and a malformed line every so often.
        if i % 7 == 0 {
            text.push_str("\n{\"broken\": \n");
        }
    }
    std::fs::write(&path, &text).expect("write");
    let run = |threads: usize, chunk_size: usize| {
        let mut sink = Collect::default();
        let opts = ScanOptions {
            threads,
            chunk_size,
            ..ScanOptions::default()
        };
        let stats = scan_paths(&engine, std::slice::from_ref(&path), &opts, &mut sink);
        assert_eq!(
            stats.events_read,
            stats.events_evaluated + stats.skipped_total()
        );
        let hits: Vec<(u32, Option<u64>)> =
            sink.hits.iter().map(|h| (h.rule, h.source.line)).collect();
        let errors: Vec<Option<u64>> = sink.errors.iter().map(|e| e.source.line).collect();
        (hits, errors, stats.events_read)
    };
    let reference = run(1, 64 * 1024 * 1024);
    assert_eq!(reference.0.len(), 200 * 7);
    assert_eq!(reference.1.len(), 29);
    assert_eq!(reference.2, 200 * lines + 29);
    // Hits are in line order.
    assert!(reference.0.windows(2).all(|w| w[0].1 <= w[1].1));
    for (threads, chunk) in [(2, 4096), (3, 10_000), (2, 1 << 20)] {
        assert_eq!(
            run(threads, chunk),
            reference,
            "threads {threads}, chunk {chunk}"
        );
    }
}
