//! Parsing the whole public Sigma corpus (3,952 files): rules per second.
//!
//! pySigma needs about 20 seconds for this corpus on the reference machine.
//! Run with `cargo bench -p sigil-benches --bench parse_corpus`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn bench_parse(c: &mut Criterion) {
    let Some(root) = sigil_benches::corpus_root() else {
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
    let texts = sigil_benches::corpus_texts(&root, &folders);
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
