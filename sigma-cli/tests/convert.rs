//! Runs the `sigil convert` binary.

use std::io::Write;
use std::process::Command;

fn sigil() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sigil"))
}

fn rule_file(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    let mut f = std::fs::File::create(&p).expect("create rule");
    f.write_all(text.as_bytes()).expect("write rule");
    p
}

const WHOAMI: &str = r#"
title: Suspicious Whoami
id: 11111111-2222-3333-4444-555555555555
description: Detects whoami execution
logsource: {category: process_creation, product: windows}
detection:
    selection:
        Image|endswith: '\whoami.exe'
        CommandLine|contains: ['/all', '/priv']
    filter:
        User: 'NT AUTHORITY\SYSTEM'
    condition: selection and not filter
fields: [CommandLine, User]
level: medium
"#;

const CASED: &str = r#"
title: Cased
logsource: {category: process_creation, product: windows}
detection:
    selection:
        CommandLine|cased: MiXeD
    condition: selection
"#;

fn tempdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("sigil-convert-{name}-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&d);
    d
}

#[test]
fn plain_output_with_pipeline() {
    let dir = tempdir("plain");
    let rule = rule_file(&dir, "whoami.yml", WHOAMI);
    let out = sigil()
        .args(["convert", "-t", "splunk", "-p", "splunk_windows"])
        .arg(&rule)
        .output()
        .expect("run sigil");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Image=\"*\\\\whoami.exe\" CommandLine IN (\"*/all*\", \"*/priv*\") NOT User=\"NT AUTHORITY\\\\SYSTEM\" | table CommandLine,User\n"
    );
}

#[test]
fn pipeline_is_required() {
    let dir = tempdir("nopipe");
    let rule = rule_file(&dir, "whoami.yml", WHOAMI);
    let out = sigil()
        .args(["convert", "-t", "lucene"])
        .arg(&rule)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--without-pipeline"));
}

#[test]
fn usage_errors_exit_2() {
    let out = sigil()
        .args(["convert", "-t", "nosuch", "--without-pipeline", "x.yml"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let out = sigil()
        .args([
            "convert",
            "-t",
            "splunk",
            "-f",
            "nosuch",
            "--without-pipeline",
            "x.yml",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn jsonl_and_refusals() {
    let dir = tempdir("jsonl");
    rule_file(&dir, "a_whoami.yml", WHOAMI);
    rule_file(&dir, "b_cased.yml", CASED);
    let out = sigil()
        .args(["convert", "-t", "lucene", "--without-pipeline", "--jsonl"])
        .arg(&dir)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["ok"], true);
    assert_eq!(
        lines[0]["queries"][0],
        "(Image:*\\\\whoami.exe AND (CommandLine:(*\\/all* OR *\\/priv*))) AND (NOT User:\"NT AUTHORITY\\\\SYSTEM\")"
    );
    assert_eq!(lines[1]["ok"], false);
    let err = lines[1]["error"].as_str().unwrap_or_default();
    assert!(
        err.contains("b_cased.yml") && err.contains("'Cased'") && err.contains("Case-sensitive")
    );
}

#[test]
fn output_file_and_json_format() {
    let dir = tempdir("ofile");
    let rule = rule_file(&dir, "whoami.yml", WHOAMI);
    let target = dir.join("out.ndjson");
    let out = sigil()
        .args([
            "convert",
            "-t",
            "eql",
            "-p",
            "ecs_windows",
            "-f",
            "eqlapi",
            "-o",
        ])
        .arg(&target)
        .arg(&rule)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let text = std::fs::read_to_string(&target).expect("output file");
    assert!(text.starts_with("{\"query\": \"any where (process.executable.caseless:"));
}

#[test]
fn correlation_across_files() {
    let dir = tempdir("corr");
    rule_file(
        &dir,
        "a_base.yml",
        "title: Failed logon\nid: a0000000-0000-0000-0000-000000000001\nname: failed_logon\nlogsource: {product: windows, service: security}\ndetection:\n    selection:\n        EventID: 4625\n    condition: selection\n",
    );
    rule_file(
        &dir,
        "b_corr.yml",
        "title: Many failed logons\ncorrelation:\n    type: event_count\n    rules: [failed_logon]\n    group-by: [TargetUserName]\n    timespan: 5m\n    condition: {gte: 10}\n",
    );
    let out = sigil()
        .args(["convert", "-t", "esql", "--without-pipeline"])
        .arg(&dir)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "from * metadata _id, _index, _version | where EventID==4625\n| eval timebucket=date_trunc(5minutes, @timestamp) | stats event_count=count() by timebucket, TargetUserName\n| where event_count >= 10\n"
    );
    let out = sigil()
        .args(["convert", "-t", "lucene", "--without-pipeline"])
        .arg(&dir)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("Backend does not support correlation rules."));
}

#[test]
fn pipeline_file_with_postprocessing_and_finalizer() {
    let dir = tempdir("pp");
    let rule = rule_file(&dir, "whoami.yml", WHOAMI);
    let pipeline = rule_file(
        &dir,
        "pipeline.yml",
        "name: example\npriority: 30\ntransformations:\n  - type: field_name_mapping\n    mapping:\n      Image: process.path\npostprocessing:\n  - type: embed\n    prefix: '['\n    suffix: ']'\nfinalizers:\n  - type: concat\n    prefix: 'BEGIN '\n    suffix: ' END'\n",
    );
    let out = sigil()
        .args(["convert", "-t", "splunk", "-p"])
        .arg(&pipeline)
        .arg(&rule)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "BEGIN [process.path=\"*\\\\whoami.exe\" CommandLine IN (\"*/all*\", \"*/priv*\") NOT User=\"NT AUTHORITY\\\\SYSTEM\"] | table CommandLine,User END\n"
    );
}
