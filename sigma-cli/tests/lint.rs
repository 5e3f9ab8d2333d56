//! `sigil lint` end to end: formats, exit codes, configuration, ATT&CK
//! refresh, and SARIF validated against the SARIF 2.1.0 JSON schema.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn lint(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sigil"))
        .arg("lint")
        .args(args)
        .output()
        .expect("sigil runs")
}

fn fx(rel: &str) -> String {
    fixtures().join("lint").join(rel).display().to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn text_output_and_exit_codes() {
    let o = lint(&[&fx("control_character/fail")]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let text = stdout(&o);
    assert!(
        text.contains("proc_creation_win_whoami_exec.yml:18:31: error[control_character]:"),
        "{text}"
    );
    assert!(text.contains("1 error(s), 0 warning(s), 0 info(s) in 1 file(s)"));

    let o = lint(&[&fx("control_character/pass")]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));

    // Warnings fail only with --strict.
    let o = lint(&[&fx("duplicate_tag/fail")]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = lint(&["--strict", &fx("duplicate_tag/fail")]);
    assert_eq!(o.status.code(), Some(1));

    // --disable removes the only error.
    let o = lint(&[
        "--disable",
        "control_character",
        &fx("control_character/fail"),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let o = lint(&["--disable", "no_such_check", &fx("control_character/fail")]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn json_lines_one_object_per_finding() {
    let o = lint(&[
        "--format",
        "json",
        "--enable",
        "sigmahq",
        &fx("sigmahq_title_case/fail"),
    ]);
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let f = &lines[0];
    assert_eq!(f["id"], "sigmahq_title_case");
    assert_eq!(f["severity"], "warning");
    assert_eq!(f["line"], 1);
    assert!(f["rule_id"]
        .as_str()
        .is_some_and(|s| s.starts_with("5f1b0a2e-0000-")));
    assert!(f["file"].as_str().is_some_and(|s| s.ends_with(".yml")));
    assert!(f["message"]
        .as_str()
        .is_some_and(|s| s.contains("execution")));
}

#[test]
fn sarif_is_valid_sarif_2_1_0() {
    let schema_text = std::fs::read_to_string(fixtures().join("sarif/sarif-schema-2.1.0.json"))
        .expect("vendored schema");
    let schema: serde_json::Value = serde_json::from_str(&schema_text).expect("schema JSON");
    let validator = jsonschema::draft4::new(&schema).expect("schema compiles");
    // Errors, warnings, notes, cross-file findings and a parse error.
    let o = lint(&[
        "--format",
        "sarif",
        "--enable",
        "all",
        &fx("control_character/fail"),
        &fx("duplicate_title/fail"),
        &fx("parse_error/fail"),
        &fx("escaped_wildcard/fail"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let log: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("SARIF JSON");
    let errors: Vec<String> = validator.iter_errors(&log).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "schema violations: {errors:?}");
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    assert!(rules.len() > 60);
    let results = run["results"].as_array().expect("results");
    let levels: Vec<&str> = results.iter().filter_map(|r| r["level"].as_str()).collect();
    assert!(levels.contains(&"error") && levels.contains(&"note"));
    for r in results {
        let idx = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[idx]["id"], r["ruleId"]);
        let region = &r["locations"][0]["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().is_some_and(|l| l >= 1));
    }
    // An empty run is valid too.
    let o = lint(&["--format", "sarif", &fx("control_character/pass")]);
    let log: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("SARIF JSON");
    assert!(validator.is_valid(&log));
}

#[test]
fn config_file_and_attack_stix_refresh() {
    let dir = std::env::temp_dir().join(format!("sigil-lint-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cfg = dir.join("lint.yml");
    std::fs::write(
        &cfg,
        "validators: [all, -sigmahq]\nexclusions:\n  5f1b0a2e-0000-4000-8000-000000000019: control_character\n",
    )
    .expect("write config");
    let o = lint(&[
        "--config",
        cfg.to_str().unwrap_or_default(),
        &fx("control_character/fail"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));

    // With a STIX bundle that only knows 'discovery', t1033 becomes invalid.
    let stix = dir.join("attack.json");
    std::fs::write(
        &stix,
        r#"{"type":"bundle","objects":[{"type":"x-mitre-tactic","name":"Discovery","x_mitre_shortname":"discovery","external_references":[{"source_name":"mitre-attack","external_id":"TA0007"}]}]}"#,
    )
    .expect("write stix");
    let pass = fx("attacktag/pass");
    let o = lint(&["--format", "json", &pass]);
    assert!(!stdout(&o).contains("attacktag"));
    let o = lint(&[
        "--format",
        "json",
        "--attack-stix",
        stix.to_str().unwrap_or_default(),
        &pass,
    ]);
    assert!(
        stdout(&o).contains("'attack.t1033' is not a current"),
        "{}",
        stdout(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn list_checks() {
    let o = Command::new(env!("CARGO_BIN_EXE_sigil"))
        .args(["lint", "--list-checks"])
        .output()
        .expect("sigil runs");
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(text.contains("dangling_detection") && text.contains("sigmahq_title_case"));
}
