//! `sigil hunt` option validation, time windows with offsets, oversized
//! lines, and the CSV shape with correlations.

use std::path::Path;

use serde_json::Value;

mod common;
use common::{hits, sigil, stderr};

const RULE: &str = "title: Any process\nid: 11111111-1111-1111-1111-111111111111\nlogsource: {category: process_creation, product: windows}\ndetection:\n    s: {Image|endswith: '.exe'}\n    condition: s\nlevel: low\n";

fn event(time: &str, image: &str) -> String {
    serde_json::json!({
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "EventID": 1,
        "Image": image,
        "TimeCreated": time,
    })
    .to_string()
}

fn write(dir: &Path, name: &str, data: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, data).expect("write");
    p.display().to_string()
}

#[test]
fn invalid_time_bounds_are_usage_errors() {
    for (flag, bad) in [
        ("--from", "2024-99-99"),
        ("--from", "yesterday"),
        ("--to", "2024-02-30"),
        ("--to", "2024-05-01T25:00"),
        ("--from", "2024-05-01T10:00:00+02:00 junk"),
    ] {
        let out = sigil(&["hunt", "-r", "rules/windows", flag, bad, "fixtures/logs"]);
        assert_eq!(out.status.code(), Some(2), "{flag} {bad}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!("error: invalid {flag} time '{bad}'")),
            "{err}"
        );
        assert!(err.contains("ISO 8601"), "{err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn time_bounds_with_offsets_compare_instants() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rule = write(dir.path(), "rule.yml", RULE);
    let logs = write(
        dir.path(),
        "t.jsonl",
        &[
            // 16 July 20:00 UTC.
            event("2026-07-17T01:00:00+05:00", "a.exe"),
            // 17 July 02:00 UTC.
            event("2026-07-16T23:00:00-03:00", "b.exe"),
        ]
        .join("\n"),
    );
    let images = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["hunt", "-r", &rule, "--format", "jsonl"];
        all.extend_from_slice(args);
        all.push(&logs);
        let out = sigil(&all);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        hits(&out)
            .iter()
            .filter_map(|h| h["fields"]["Image"].as_str().map(String::from))
            .collect()
    };
    assert_eq!(images(&["--from", "2026-07-17"]), vec!["b.exe"]);
    assert_eq!(images(&["--to", "2026-07-16"]), vec!["a.exe"]);
    assert_eq!(
        images(&[
            "--from",
            "2026-07-17T01:00+05:00",
            "--to",
            "2026-07-16T20:00Z"
        ]),
        vec!["a.exe"]
    );
    assert_eq!(images(&[]), vec!["a.exe", "b.exe"]);
}

/// Splits CSV text into records of fields (RFC 4180: quoted fields may
/// hold commas, doubled quotes and line breaks).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(!quoted, "unterminated quoted field");
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}

#[test]
fn csv_rows_have_the_header_columns_with_and_without_full() {
    for full in [false, true] {
        let mut args = vec![
            "hunt",
            "-r",
            "fixtures/hunt-correlation/brute_force.yml",
            "--format",
            "csv",
        ];
        if full {
            args.push("--full");
        }
        args.extend([
            "fixtures/hunt-correlation/logs/a.jsonl",
            "fixtures/hunt-correlation/logs/b.jsonl",
        ]);
        let out = sigil(&args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let records = parse_csv(&String::from_utf8_lossy(&out.stdout));
        let header = &records[0];
        let mut expected = vec![
            "timestamp",
            "level",
            "rule_id",
            "title",
            "tags",
            "source",
            "fields",
        ];
        if full {
            expected.push("event");
        }
        assert_eq!(header, &expected);
        let rows = &records[1..];
        // Base hits and correlation alerts both.
        let alerts = rows.iter().filter(|r| r[5] == "correlation").count();
        assert_eq!(alerts, 2, "full {full}: {rows:?}");
        assert!(rows.len() > alerts, "full {full}: {rows:?}");
        for r in rows {
            assert_eq!(r.len(), header.len(), "full {full}: {r:?}");
            let fields: Value = serde_json::from_str(&r[6]).expect("fields column is JSON");
            assert!(fields.is_object());
            if full {
                if r[5] == "correlation" {
                    assert_eq!(r[7], "");
                } else {
                    let event: Value = serde_json::from_str(&r[7]).expect("event is JSON");
                    assert!(event.is_object());
                }
            }
        }
    }
}

#[test]
fn the_hits_summary_adds_up() {
    let out = sigil(&[
        "hunt",
        "-r",
        "fixtures/hunt-correlation/brute_force.yml",
        "--format",
        "jsonl",
        "fixtures/hunt-correlation/logs/a.jsonl",
        "fixtures/hunt-correlation/logs/b.jsonl",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    let lines = hits(&out);
    let alerts = lines.iter().filter(|h| h["correlation"] == true).count();
    let base = lines.len() - alerts;
    assert_eq!((base, alerts), (2, 2));
    let expected = format!(
        "  hits:   8 matched = {base} reported + 6 hidden (their correlations have generate: false); {alerts} correlation alerts; {} reported in all",
        lines.len()
    );
    assert!(err.lines().any(|l| l == expected), "{err}");
}

#[test]
fn help_names_the_real_pipelines_defaults_and_exit_codes() {
    let out = sigil(&["hunt", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    let names = sigma_core::pipeline::Pipeline::builtin_names();
    assert!(names.contains(&"sysmon"), "{names:?}");
    for name in names {
        assert!(help.contains(&format!("- {name}: ")), "{name}: {help}");
    }
    assert!(help.contains("Windows routing"), "{help}");
    assert!(!help.contains("[default: 0]"), "{help}");
    assert!(help.contains("(default, or 0: all cores)"), "{help}");
    assert!(help.contains("w (weeks), M (months"), "{help}");
    assert!(help.contains("Examples:"), "{help}");
    assert!(help.contains("Exit status: 0"), "{help}");
    // The examples' options exist.
    for opt in ["--incidents", "--report", "--errors", "--from", "--to"] {
        assert!(help.contains(&format!("{opt} <")), "{opt}");
    }
}
