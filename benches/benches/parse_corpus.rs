//! Parsing the whole public Sigma corpus (3,952 files): rules per second.
//!
//! pySigma needs about 20 seconds for this corpus on the reference machine.
//! Run with `cargo bench -p sigil-benches --bench parse_corpus`.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn corpus_root() -> Option<PathBuf> {
    let p = std::env::var_os("SIGIL_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared")))
        .join("corpus/sigma");
    p.is_dir().then_some(p)
}

fn bench_parse(c: &mut Criterion) {
    let Some(root) = corpus_root() else {
        eprintln!("skipping: ../shared/corpus/sigma not found");
        return;
    };
    let folders = [
        "rules",
        "rules-emerging-threats",
        "rules-threat-hunting",
        "rules-placeholder",
        "rules-compliance",
        "deprecated",
    ];
    // Read the files once so the benchmark measures parsing, not the disk.
    let mut texts = Vec::new();
    for f in folders {
        for path in sigma_core::rule_files(&root.join(f)).unwrap_or_default() {
            if let Ok(t) = std::fs::read_to_string(&path) {
                texts.push((path, t));
            }
        }
    }
    let mut group = c.benchmark_group("parse_corpus");
    group.sample_size(10);
    group.throughput(Throughput::Elements(texts.len() as u64));
    group.bench_function("all_rule_files", |b| {
        b.iter(|| {
            let mut n = 0;
            for (path, text) in &texts {
                let set = sigma_core::parse_str(text, Some(path));
                n += set.documents.len();
            }
            assert_eq!(n, texts.len());
        })
    });
    group.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
