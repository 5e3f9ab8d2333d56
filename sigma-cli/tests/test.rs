//! `sigil test` end to end: SigmaHQ regression layout (JSON and EVTX),
//! inline tests, failures, JUnit XML, and every case of the shared
//! regression corpus.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/test")
}

fn sigil_test(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sigil"))
        .arg("test")
        .args(args)
        .output()
        .expect("sigil runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sigil-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn shared() -> Option<PathBuf> {
    let p = std::env::var("SIGIL_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    p.join("corpus/regression/cases.jsonl")
        .is_file()
        .then_some(p)
}

#[test]
fn sigmahq_layout_with_json_events() {
    let data = fixtures().join("regression_data");
    let rules = fixtures().join("rules");
    let o = sigil_test(&[
        data.to_str().unwrap_or(""),
        "--rules",
        rules.to_str().unwrap_or(""),
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("PASS  Whoami Execution :: Positive Detection Test [2 event(s), 1 match(es)]"),
        "{out}"
    );
    assert!(
        out.contains("Negative Detection Test [1 event(s), 0 match(es)]"),
        "{out}"
    );
    assert!(out.ends_with("2 passed, 0 failed, 0 errors\n"), "{out}");
    // Without --rules the rule cannot be found: an error, not a pass.
    let o = sigil_test(&[data.to_str().unwrap_or("")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("not found (give the rules folder with --rules)"));
}

#[test]
fn inline_tests_pass_and_fail_with_junit() {
    let o = sigil_test(&[fixtures().join("inline").to_str().unwrap_or("")]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("4 passed, 0 failed, 0 errors"));

    let dir = temp_dir("junit");
    let junit = dir.join("report.xml");
    let o = sigil_test(&[
        "--junit",
        junit.to_str().unwrap_or(""),
        fixtures().join("failing").to_str().unwrap_or(""),
        fixtures().join("inline").to_str().unwrap_or(""),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("FAIL  Whoami With Group Listing :: match #1"));
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"sigil test\" tests=\"8\" failures=\"1\" errors=\"0\""), "{xml}");
    assert_eq!(xml.matches("<testsuite ").count(), 2);
    assert_eq!(xml.matches("<testcase ").count(), 8);
    assert!(xml.contains("<failure message=\"expected the rule to match, it matched no event\">"));
    let _ = std::fs::remove_dir_all(&dir);

    let o = sigil_test(&[fixtures().join("rules").to_str().unwrap_or("")]);
    assert_eq!(o.status.code(), Some(2), "no cases is a usage error");
}

#[test]
fn regression_corpus_passes() {
    let Some(shared) = shared() else {
        eprintln!("SKIP regression_corpus_passes: ../shared (or $SIGIL_SHARED) not found");
        return;
    };
    let dir = temp_dir("corpus");
    let junit = dir.join("junit.xml");
    let cases = shared.join("corpus/regression/cases.jsonl");
    let o = sigil_test(&[
        "-q",
        "--junit",
        junit.to_str().unwrap_or(""),
        cases.to_str().unwrap_or(""),
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    let total = std::fs::read_to_string(&cases)
        .expect("cases")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count();
    assert_eq!(total, 202);
    assert!(
        out.contains(&format!("{total} passed, 0 failed, 0 errors")),
        "{out}"
    );
    let xml = std::fs::read_to_string(&junit).expect("junit");
    assert!(xml.contains(&format!("tests=\"{total}\" failures=\"0\" errors=\"0\"")));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Converts a few corpus cases into SigmaHQ's layout (info.yml beside the
/// original EVTX file) and runs them: EVTX input through the same path.
#[test]
fn regression_corpus_as_sigmahq_layout_with_evtx() {
    let Some(shared) = shared() else {
        eprintln!("SKIP regression_corpus_as_sigmahq_layout_with_evtx: ../shared not found");
        return;
    };
    let reg = shared.join("corpus/regression");
    let dir = temp_dir("evtx");
    let text = std::fs::read_to_string(reg.join("cases.jsonl")).expect("cases");
    let mut n = 0;
    for line in text.lines().step_by(40) {
        let v: serde_json::Value = serde_json::from_str(line).expect("case JSON");
        let field = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        let (id, evtx) = (field("rule_id"), field("evtx_file"));
        let case_dir = dir.join("regression_data").join(&id);
        std::fs::create_dir_all(&case_dir).expect("case dir");
        let name = format!("{id}.evtx");
        std::fs::copy(reg.join(&evtx), case_dir.join(&name)).expect("copy evtx");
        let count = v["match_count"].as_u64().unwrap_or(1);
        std::fs::write(
            case_dir.join("info.yml"),
            format!("id: {id}\nrule_metadata:\n    - id: {id}\nregression_tests_info:\n    - name: Positive Detection Test\n      type: evtx\n      match_count: {count}\n      path: regression_data/{id}/{name}\n"),
        )
        .expect("info.yml");
        let rule = shared.join("corpus/sigma").join(field("rule_path"));
        std::fs::create_dir_all(dir.join("rules")).expect("rules dir");
        std::fs::copy(&rule, dir.join("rules").join(format!("{id}.yml"))).expect("copy rule");
        n += 1;
    }
    let o = sigil_test(&[
        dir.join("regression_data").to_str().unwrap_or(""),
        "--rules",
        dir.join("rules").to_str().unwrap_or(""),
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains(&format!("{n} passed, 0 failed, 0 errors")),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
