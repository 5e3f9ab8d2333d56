//! Differential dump against pySigma (run by hand, see docs/pipelines.md):
//!
//! ```text
//! SIGIL_PIPELINES=splunk_windows SIGIL_DUMP=/tmp/rs.jsonl \
//!   cargo test -p sigma-core --lib pipeline::tests_diff -- --ignored
//! ```
//!
//! writes, per corpus rule, the transformed logsource, conditions and
//! detections in the same canonical text as the Python dumper used to
//! compare with pySigma.

use std::io::Write;

use serde_json::json;

use super::tests::shape;
use super::*;
use crate::{load_file, Document};

#[test]
#[ignore = "differential dump, run by hand"]
fn dump_for_pysigma_diff() {
    let (Ok(names), Ok(out), Ok(list)) = (
        std::env::var("SIGIL_PIPELINES"),
        std::env::var("SIGIL_DUMP"),
        std::env::var("SIGIL_FILES"),
    ) else {
        eprintln!("skipping: set SIGIL_PIPELINES, SIGIL_DUMP and SIGIL_FILES");
        return;
    };
    let root = std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/corpus/sigma"
    ));
    let pipeline = if names.ends_with(".yml") {
        Pipeline::from_file(std::path::Path::new(&names)).unwrap_or_else(|e| panic!("{e}"))
    } else {
        Pipeline::chain(names.split(',').filter_map(Pipeline::builtin).collect())
    };
    let mut w = std::fs::File::create(out).unwrap_or_else(|e| panic!("{e}"));
    let files = std::fs::read_to_string(list).unwrap_or_else(|e| panic!("{e}"));
    let mut spent = std::time::Duration::ZERO;
    for rel in files.lines() {
        let set = load_file(&root.join(rel));
        let Some(rule) = set.documents.iter().find_map(|d| match d {
            Document::Rule(r) => Some(r),
            _ => None,
        }) else {
            continue;
        };
        let started = std::time::Instant::now();
        let applied = pipeline.apply(rule);
        spent += started.elapsed();
        let line = match applied {
            Ok(p) => {
                let r = &p.rule;
                let dets: serde_json::Map<String, serde_json::Value> = r
                    .detection
                    .searches
                    .iter()
                    .map(|s| (s.name.clone(), json!(shape(&s.detection))))
                    .collect();
                json!({
                    "path": rel,
                    "ok": true,
                    "logsource": [r.logsource.category, r.logsource.product, r.logsource.service],
                    "conditions": r.detection.conditions.iter().map(|c| c.text.clone()).collect::<Vec<_>>(),
                    "detections": dets,
                    "fields": r.meta.fields,
                    "state": p.state,
                })
            }
            Err(e) => json!({"path": rel, "ok": false, "error": e.message}),
        };
        writeln!(w, "{line}").unwrap_or_else(|e| panic!("{e}"));
    }
    eprintln!(
        "pipeline {names}: {spent:?} applying to {} files",
        files.lines().count()
    );
}
