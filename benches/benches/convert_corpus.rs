//! Converting the SigmaHQ corpus to Splunk: the 3,754 rule files of
//! `rules`, `rules-emerging-threats` and `rules-threat-hunting` (the files of
//! the pySigma oracle).
//!
//! pySigma (sigma-cli 3.1.0) needs about 20 seconds for this conversion on
//! the reference machine (`seconds` in `../shared/oracle/*.meta.json`); the
//! target is at least 50 times faster, i.e. under 0.4 s end to end.
//! Run with `cargo bench -p sigil-benches --bench convert_corpus`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sigma_backends::Backend;

fn bench_convert(c: &mut Criterion) {
    let Some(root) = sigil_benches::corpus_root() else {
        eprintln!("skipping: ../shared/corpus/sigma not found");
        return;
    };
    let texts = sigil_benches::corpus_texts(
        &root,
        &["rules", "rules-emerging-threats", "rules-threat-hunting"],
    );
    let sets: Vec<_> = texts
        .iter()
        .map(|(p, t)| sigma_core::parse_str(t, Some(p)))
        .collect();
    let plain = Backend::new("splunk", "default").expect("splunk backend");
    let windows = Backend::new("splunk", "default")
        .and_then(|b| b.with_pipelines(&["splunk_windows".to_string()]))
        .expect("splunk_windows pipeline");

    let mut group = c.benchmark_group("convert_corpus");
    group.sample_size(10);
    group.throughput(Throughput::Elements(texts.len() as u64));
    group.bench_function("splunk_parse_and_convert", |b| {
        b.iter(|| {
            let mut n = 0;
            for (path, text) in &texts {
                let set = sigma_core::parse_str(text, Some(path));
                for doc in &set.documents {
                    n += plain.convert_document(doc).map_or(0, |q| q.len());
                }
            }
            assert!(n > 3700);
        })
    });
    group.bench_function("splunk_convert_only", |b| {
        b.iter(|| {
            let mut n = 0;
            for set in &sets {
                for doc in &set.documents {
                    n += plain.convert_document(doc).map_or(0, |q| q.len());
                }
            }
            assert!(n > 3700);
        })
    });
    group.bench_function("splunk_windows_convert_only", |b| {
        b.iter(|| {
            let mut n = 0;
            for set in &sets {
                for doc in &set.documents {
                    n += windows.convert_document(doc).map_or(0, |q| q.len());
                }
            }
            assert!(n > 3700);
        })
    });
    group.finish();
}

criterion_group!(benches, bench_convert);
criterion_main!(benches);
