//! Runs the `sigil hunt` binary on the fixtures under `fixtures/hunt/`.

use std::io::Write;
use std::path::Path;
use std::process::Output;

use serde_json::Value;

mod common;
use common::{hits, root, shared, sigil, stderr};

fn rule_ids(out: &Output) -> Vec<String> {
    let mut ids: Vec<String> = hits(out)
        .iter()
        .map(|h| h["rule_id"].as_str().unwrap_or_default().to_string())
        .collect();
    ids.sort();
    ids
}

/// `read = evaluated + skipped` from the summary line, as numbers.
fn counts(out: &Output) -> (u64, u64, u64) {
    let err = stderr(out);
    let line = err
        .lines()
        .find(|l| l.contains("events read ="))
        .expect("summary input line");
    let nums: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|t| t.parse().ok())
        .collect();
    // files, bytes, read, evaluated, skipped, errors
    assert!(nums.len() >= 5, "{line}");
    (nums[2], nums[3], nums[4])
}

const SAMPLE_IDS: [&str; 7] = [
    "2b140a5c-dc02-4bb8-b6b1-8bdb45714cde",
    "7dbbcac2-57a0-45ac-b306-ff30a8bd2981",
    "8ac03a65-6c84-4116-acad-dc1558ff7a77",
    "9f5c1d59-33be-4e60-bcab-85d2f566effd",
    "d645ef86-2396-48a1-a2b6-b629ca3f57ff",
    "e3c6d245-7b8f-4e2a-c17f-a9d0e5b38f62",
    "fed85bf9-e075-4280-9159-fbe8a023d6fa",
];

#[test]
fn the_same_detections_from_every_layout_and_container() {
    for f in [
        "nested.jsonl",
        "nested.jsonl.gz",
        "nested-array.json",
        "flat.jsonl",
        "flat.jsonl.zst",
        "ecs.ndjson",
    ] {
        let path = format!("fixtures/hunt/layouts/{f}");
        let out = sigil(&["hunt", "-r", "rules/windows", &path, "--format", "jsonl"]);
        assert_eq!(out.status.code(), Some(0), "{f}: {}", stderr(&out));
        assert_eq!(rule_ids(&out), SAMPLE_IDS, "{f}");
        let (read, evaluated, skipped) = counts(&out);
        assert_eq!((read, evaluated, skipped), (7, 7, 0), "{f}");
    }
    // The original EVTX files (gzip-compressed, and one plain).
    let out = sigil(&[
        "hunt",
        "-r",
        "rules/windows",
        "fixtures/hunt/evtx",
        "--format",
        "jsonl",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut ids = rule_ids(&out);
    ids.dedup();
    assert_eq!(ids, SAMPLE_IDS);
    assert!(hits(&out).iter().all(|h| h["record_id"].is_u64()));
}

#[test]
fn the_bundled_sample_matches_its_golden_output() {
    let out = sigil(&[
        "hunt",
        "-r",
        "rules/windows",
        "fixtures/logs",
        "--format",
        "jsonl",
        "--threads",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let golden = root().join("fixtures/hunt/golden/sample-events.jsonl");
    let got = String::from_utf8_lossy(&out.stdout).into_owned();
    if std::env::var_os("SIGIL_BLESS").is_some() {
        std::fs::write(&golden, &got).expect("bless");
    }
    let want = std::fs::read_to_string(&golden).expect("golden file");
    assert_eq!(
        got,
        want,
        "set SIGIL_BLESS=1 to update {}",
        golden.display()
    );
}

#[test]
fn malformed_inputs_are_counted_reported_and_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let errors = dir.path().join("errors.jsonl");
    let errors_arg = errors.display().to_string();
    let out = sigil(&[
        "hunt",
        "-r",
        "rules/windows",
        "fixtures/hunt/malformed",
        "--format",
        "jsonl",
        "--errors",
        &errors_arg,
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let (read, evaluated, skipped) = counts(&out);
    assert_eq!(read, evaluated + skipped, "{err}");
    let list: Vec<Value> = std::fs::read_to_string(&errors)
        .expect("errors file")
        .lines()
        .map(|l| serde_json::from_str(l).expect("error is JSON"))
        .collect();
    let has = |file: &str, line: Option<u64>, text: &str| {
        list.iter().any(|e| {
            e["file"].as_str().is_some_and(|f| f.ends_with(file))
                && line.is_none_or(|l| e["line"].as_u64() == Some(l))
                && e["message"].as_str().is_some_and(|m| m.contains(text))
        })
    };
    assert!(
        has("truncated.jsonl", Some(2), "malformed JSON"),
        "{list:?}"
    );
    assert!(
        has("invalid-utf8.jsonl", Some(2), "invalid UTF-8"),
        "{list:?}"
    );
    for l in 1..=4 {
        assert!(
            has("non-object.jsonl", Some(l), "not a JSON object"),
            "{list:?}"
        );
    }
    assert!(has("corrupt.jsonl.gz", None, "corrupt"), "{list:?}");
    assert!(has("truncated.evtx", None, "truncated EVTX"), "{list:?}");
    assert!(!list.iter().any(|e| e["file"]
        .as_str()
        .is_some_and(|f| f.ends_with("empty.jsonl"))));
    // The good lines around the bad ones still produce their hits: two in
    // truncated.jsonl, one each in invalid-utf8 and non-object, one from
    // the readable part of the truncated EVTX file.
    let h = hits(&out);
    let from = |file: &str| {
        h.iter()
            .filter(|x| x["file"].as_str().is_some_and(|f| f.ends_with(file)))
            .count()
    };
    assert_eq!(from("truncated.jsonl"), 2);
    assert_eq!(from("invalid-utf8.jsonl"), 1);
    assert_eq!(from("non-object.jsonl"), 1);
    assert_eq!(from("truncated.evtx"), 1);
    // A truncated JSON array (streamed element by element): the good
    // element is evaluated, the others are reported by element number.
    assert_eq!(from("truncated-array.json"), 1);
    let at = |file: &str, element: u64, text: &str| {
        list.iter().any(|e| {
            e["file"].as_str().is_some_and(|f| f.ends_with(file))
                && e["element"].as_u64() == Some(element)
                && e["message"].as_str().is_some_and(|m| m.contains(text))
        })
    };
    assert!(
        at("truncated-array.json", 1, "not a JSON object"),
        "{list:?}"
    );
    assert!(at("truncated-array.json", 2, "malformed JSON"), "{list:?}");
    assert!(err.contains("skipped: 5 not a JSON object"), "{err}");
    assert!(err.contains("skipped: 2 malformed JSON"), "{err}");
}

fn write(path: &Path, data: &[u8]) {
    let mut f = std::fs::File::create(path).expect("create");
    f.write_all(data).expect("write");
}

#[test]
fn a_ten_megabyte_line_is_read_and_evaluated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sample =
        std::fs::read_to_string(root().join("fixtures/hunt/layouts/flat.jsonl")).expect("sample");
    let first = sample.lines().next().expect("a line");
    let mut big: serde_json::Map<String, Value> =
        serde_json::from_str(first).expect("sample event");
    big.insert(
        "Padding".into(),
        Value::String("x".repeat(10 * 1024 * 1024)),
    );
    let mut text = serde_json::to_string(&big).expect("json");
    text.push('\n');
    // A 10 MB line that is not JSON at all, then a normal one.
    text.push_str(&"y".repeat(10 * 1024 * 1024));
    text.push('\n');
    text.push_str(first);
    text.push('\n');
    let path = dir.path().join("big.jsonl");
    write(&path, text.as_bytes());
    let p = path.display().to_string();
    let out = sigil(&["hunt", "-r", "rules/windows", &p, "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let (read, evaluated, skipped) = counts(&out);
    assert_eq!((read, evaluated, skipped), (3, 2, 1));
    let lines: Vec<u64> = hits(&out)
        .iter()
        .filter_map(|h| h["line"].as_u64())
        .collect();
    assert_eq!(lines, vec![1, 3]);
    assert!(stderr(&out).contains(":2: error: malformed JSON"));
}

#[test]
fn exit_codes_and_formats() {
    // Usage errors.
    let out = sigil(&["hunt", "fixtures/logs"]);
    assert_eq!(out.status.code(), Some(2));
    let out = sigil(&[
        "hunt",
        "-r",
        "rules/windows",
        "--min-level",
        "severe",
        "fixtures/logs",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = sigil(&[
        "hunt",
        "-r",
        "rules/windows",
        "--from",
        "yesterday",
        "fixtures/logs",
    ]);
    assert_eq!(out.status.code(), Some(2));
    // --fail-on-hit.
    let out = sigil(&[
        "hunt",
        "-r",
        "rules/windows",
        "--fail-on-hit",
        "fixtures/logs",
    ]);
    assert_eq!(out.status.code(), Some(1));
    // --min-level: only the high rules run.
    let out = sigil(&[
        "hunt",
        "-r",
        "rules/windows",
        "--min-level",
        "high",
        "fixtures/logs",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(hits(&out).iter().all(|h| h["level"] == "high"));
    assert_eq!(hits(&out).len(), 4);
    assert!(stderr(&out).contains("level below --min-level high"));
    // --from/--to: the sample spans 2025-10-24 to 2026-07-17.
    let out = sigil(&[
        "hunt",
        "-r",
        "rules/windows",
        "--to",
        "2025-10-23",
        "fixtures/logs",
    ]);
    assert_eq!(hits(&out).len(), 0);
    let (read, evaluated, skipped) = counts(&out);
    assert_eq!((read, evaluated, skipped), (7, 0, 7));
    let out = sigil(&[
        "hunt",
        "-r",
        "rules/windows",
        "--to",
        "2025-10-24",
        "fixtures/logs",
    ]);
    assert_eq!(hits(&out).len(), 2);
    let out = sigil(&[
        "hunt",
        "-r",
        "rules/windows",
        "--from",
        "2026-01-01",
        "fixtures/logs",
    ]);
    assert_eq!(hits(&out).len(), 2);
    // CSV has a header and one row per hit.
    let out = sigil(&[
        "hunt",
        "-r",
        "rules/windows",
        "--format",
        "csv",
        "fixtures/logs",
    ]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.starts_with("timestamp,level,rule_id,title,tags,source,fields\n"));
    assert_eq!(text.lines().count(), 8);
    // Table output is readable text.
    let out = sigil(&[
        "hunt",
        "-r",
        "rules/windows",
        "--format",
        "table",
        "fixtures/logs",
    ]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("Sysmon Configuration Change"));
    assert!(text.contains("    at fixtures/logs/sample-events.jsonl:"));
    // --full attaches the event; -o writes to a file.
    let dir = tempfile::tempdir().expect("tempdir");
    let o = dir.path().join("hits.jsonl");
    let os = o.display().to_string();
    let out = sigil(&[
        "hunt",
        "-r",
        "rules/windows",
        "--full",
        "-o",
        &os,
        "fixtures/logs",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let first: Value = serde_json::from_str(
        std::fs::read_to_string(&o)
            .expect("hits file")
            .lines()
            .next()
            .expect("a hit"),
    )
    .expect("json");
    assert!(first["event"]["Event"]["System"].is_object());
    assert!(first["fields"].as_object().is_some_and(|f| !f.is_empty()));
}

#[test]
fn pipelines_from_files_and_built_ins() {
    // Renaming CommandLine away loses the one rule that reads it.
    let out = sigil(&[
        "hunt",
        "-r",
        "rules/windows",
        "-p",
        "fixtures/hunt/rename-commandline.yml",
        "fixtures/logs",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ids = rule_ids(&out);
    assert_eq!(ids.len(), 6);
    assert!(!ids.contains(&"7dbbcac2-57a0-45ac-b306-ff30a8bd2981".to_string()));
    let out = sigil(&[
        "hunt",
        "-r",
        "rules/windows",
        "-p",
        "windows",
        "-p",
        "sysmon",
        "fixtures/logs",
    ]);
    assert_eq!(hits(&out).len(), 7);
    let out = sigil(&[
        "hunt",
        "-r",
        "rules/windows",
        "-p",
        "no-such-pipeline",
        "fixtures/logs",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_missing_input_is_an_error_but_the_rest_runs() {
    let out = sigil(&[
        "hunt",
        "-r",
        "rules/windows",
        "no/such/file.jsonl",
        "fixtures/logs",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(hits(&out).len(), 7);
    assert!(stderr(&out).contains("no/such/file.jsonl: error: no such file"));
}

#[test]
fn the_corpus_windows_rules_load_with_reasons() {
    let Some(shared) = shared("corpus/sigma/rules/windows") else {
        return;
    };
    let rules = shared.join("corpus/sigma/rules/windows");
    let r = rules.display().to_string();
    let out = sigil(&["hunt", "-r", &r, "--show-unrouted", "fixtures/logs"]);
    let err = stderr(&out);
    let line = err
        .lines()
        .find(|l| l.trim_start().starts_with("rules:"))
        .expect("rules summary");
    let nums: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|t| t.parse().ok())
        .collect();
    // loaded, files, unrouted, unsupported, skipped, failed
    let (loaded, files, unrouted, unsupported, skipped, failed) =
        (nums[0], nums[1], nums[2], nums[3], nums[4], nums[5]);
    assert_eq!(
        loaded + unrouted + unsupported + skipped + failed,
        files,
        "{line}"
    );
    assert!(loaded > 2300, "{line}");
    // Every unrouted rule is listed with its reason.
    assert_eq!(err.matches(": unrouted: ").count(), unrouted, "{err}");
    assert!(out.status.code() == Some(0) || unsupported + failed > 0);
}
