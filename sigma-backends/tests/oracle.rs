//! Compares sigil's conversions of the SigmaHQ corpus with pySigma's
//! (`../shared/oracle/*.jsonl`) and fails when fewer than 99.5% of the rule
//! files of a combination give identical queries (counting the deliberate
//! fixes listed in `oracle_deliberate.txt`, each explained in
//! `docs/differences.md`), or when sigil refuses a different set of rules
//! or for a different reason than pySigma's message.
//!
//! Set `ORACLE_DUMP=dir` to write every mismatch to `dir/<combination>.txt`.

use std::path::PathBuf;

use sigma_backends::Backend;

fn shared() -> Option<PathBuf> {
    let p = std::env::var("SIGIL_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared")));
    p.join("oracle").is_dir().then_some(p)
}

/// Rule files that differ on purpose (pySigma output is invalid or
/// injectable there), listed in `oracle_deliberate.txt`.
fn deliberate(file: &str) -> Vec<String> {
    include_str!("oracle_deliberate.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .filter(|(f, _)| *f == file)
        .map(|(_, p)| p.trim().to_string())
        .collect()
}

struct Outcome {
    total: usize,
    same: usize,
    fixed: usize,
    refusal_mismatch: usize,
    report: String,
}

fn run(shared: &std::path::Path, file: &str, target: &str, pipelines: &[&str]) -> Outcome {
    let text = std::fs::read_to_string(shared.join("oracle").join(file)).expect("oracle file");
    let pipelines: Vec<String> = pipelines.iter().map(|s| s.to_string()).collect();
    let backend = Backend::new(target, "default")
        .and_then(|b| b.with_pipelines(&pipelines))
        .expect("backend");
    let fixes = deliberate(file);
    let mut out = Outcome {
        total: 0,
        same: 0,
        fixed: 0,
        refusal_mismatch: 0,
        report: String::new(),
    };
    for line in text.lines() {
        let Ok(row) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let path = row["path"].as_str().unwrap_or_default();
        let want_ok = row["ok"].as_bool().unwrap_or(false);
        let want: Vec<String> = row["queries"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|q| q.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let set = sigma_core::load_file(&shared.join("corpus/sigma").join(path));
        let mut got = Vec::new();
        let mut err = None;
        if let Some(e) = set.errors.first() {
            err = Some(e.to_string());
        }
        for doc in &set.documents {
            match backend.convert_document(doc) {
                Ok(qs) => got.extend(qs.into_iter().map(|q| q.to_string())),
                Err(e) => err = Some(e.to_string()),
            }
        }
        out.total += 1;
        let got_ok = err.is_none();
        if got_ok != want_ok {
            out.refusal_mismatch += 1;
        } else if !got_ok {
            // The reason is pySigma's message (without its " in <path>").
            let want_msg = row["error"].as_str().unwrap_or_default();
            let want_msg = want_msg
                .split(" in /")
                .next()
                .and_then(|m| m.split(" (while converting").next())
                .unwrap_or_default();
            let got_msg = err.clone().unwrap_or_default();
            if !got_msg.contains(want_msg) {
                out.refusal_mismatch += 1;
                out.report.push_str(&format!(
                    "== {path}\n-- pysigma reason: {want_msg}\n++ sigil reason: {got_msg}\n"
                ));
            }
        }
        if got_ok == want_ok && (!got_ok || got == want) {
            out.same += 1;
        } else if got_ok == want_ok && fixes.iter().any(|f| f == path) {
            out.fixed += 1;
        } else {
            out.report.push_str(&format!(
                "== {path}\n-- pysigma ({}): {}\n++ sigil ({}): {}\n",
                if want_ok { "ok" } else { "refused" },
                if want_ok {
                    want.join("\n")
                } else {
                    row["error"].as_str().unwrap_or_default().to_string()
                },
                if got_ok { "ok" } else { "refused" },
                if got_ok {
                    got.join("\n")
                } else {
                    err.unwrap_or_default()
                },
            ));
        }
    }
    out
}

fn check(file: &str, target: &str, pipelines: &[&str]) {
    let Some(shared) = shared() else {
        eprintln!("skipping: ../shared not found (set SIGIL_SHARED)");
        return;
    };
    let o = run(&shared, file, target, pipelines);
    let pct = 100.0 * o.same as f64 / o.total.max(1) as f64;
    let with_fixes = 100.0 * (o.same + o.fixed) as f64 / o.total.max(1) as f64;
    eprintln!(
        "{file}: {}/{} identical ({pct:.2}%), {} deliberate fixes ({with_fixes:.2}% identical or fixed), {} refusal mismatches",
        o.same, o.total, o.fixed, o.refusal_mismatch
    );
    if let Ok(dir) = std::env::var("ORACLE_DUMP") {
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(PathBuf::from(dir).join(format!("{file}.txt")), &o.report);
    }
    assert!(
        with_fixes >= 99.5,
        "{file}: only {with_fixes:.2}% identical or deliberately fixed"
    );
    assert_eq!(o.refusal_mismatch, 0, "{file}: refusals differ");
}

#[test]
fn splunk_no_pipeline() {
    check("splunk_default_nopipeline.jsonl", "splunk", &[]);
}

#[test]
fn lucene_no_pipeline() {
    check("lucene_default_nopipeline.jsonl", "lucene", &[]);
}

#[test]
fn splunk_splunk_windows() {
    check(
        "splunk_default_splunk_windows.jsonl",
        "splunk",
        &["splunk_windows"],
    );
}

#[test]
fn lucene_ecs_windows() {
    check(
        "lucene_default_ecs_windows.jsonl",
        "lucene",
        &["ecs_windows"],
    );
}

#[test]
fn esql_ecs_windows() {
    check("esql_default_ecs_windows.jsonl", "esql", &["ecs_windows"]);
}

#[test]
fn eql_ecs_windows() {
    check("eql_default_ecs_windows.jsonl", "eql", &["ecs_windows"]);
}
