//! Every lint check has a failing and a passing fixture under
//! `fixtures/lint/<check>/{fail,pass}/`: the check must fire on `fail` and
//! stay silent on `pass` (all checks enabled, SigmaHQ conventions included).

use std::path::{Path, PathBuf};

use sigma_core::lint::{LintConfig, Linter, Severity, CHECKS};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/lint")
}

fn linter() -> Linter {
    let mut cfg = LintConfig::default();
    cfg.enable("all").expect("'all' is a known group");
    Linter::new(cfg)
}

#[test]
fn every_check_has_fail_and_pass_fixtures() {
    let linter = linter();
    let mut missing = Vec::new();
    let mut wrong = Vec::new();
    for c in CHECKS {
        let dir = root().join(c.id);
        if !dir.join("fail").is_dir() || !dir.join("pass").is_dir() {
            missing.push(c.id);
            continue;
        }
        let fail = linter.lint_paths(&[dir.join("fail")]);
        if !fail.findings.iter().any(|f| f.check == c.id) {
            wrong.push(format!(
                "{}: the failing fixture raised no finding; got {:?}",
                c.id,
                fail.per_check()
            ));
        }
        let pass = linter.lint_paths(&[dir.join("pass")]);
        let hits: Vec<_> = pass.findings.iter().filter(|f| f.check == c.id).collect();
        if !hits.is_empty() {
            wrong.push(format!("{}: the passing fixture raised {hits:?}", c.id));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(missing.is_empty(), "checks without fixtures: {missing:?}");
}

#[test]
fn base_rule_is_clean_under_every_check() {
    let rep = linter().lint_paths(&[root().join("escaped_wildcard/pass")]);
    assert!(rep.findings.is_empty(), "{:?}", rep.findings);
}

#[test]
fn findings_have_locations_and_severities() {
    let rep = linter().lint_paths(&[root().join("control_character/fail")]);
    let f = rep
        .findings
        .iter()
        .find(|f| f.check == "control_character")
        .expect("control_character finding");
    assert_eq!(f.severity, Severity::Error);
    assert_eq!((f.line, f.column), (18, 31));
    assert!(f
        .file
        .as_ref()
        .is_some_and(|p| p.ends_with("control_character/fail/proc_creation_win_whoami_exec.yml")));
    assert_eq!(
        f.rule_id.as_deref(),
        Some("5f1b0a2e-0000-4000-8000-000000000019")
    );
}

#[test]
fn inline_comments_silence_checks() {
    let rep = linter().lint_paths(&[root().join("inline")]);
    let checks: Vec<(&str, u32)> = rep
        .findings
        .iter()
        .map(|f| (f.check.as_str(), f.line))
        .collect();
    // t9999 is silenced by the comment above it; t9998 is not.
    assert_eq!(checks, vec![("attacktag", 15)]);
}

#[test]
fn config_exclusions_and_severity() {
    let cfg = LintConfig::from_yaml(
        "exclusions:\n  5f1b0a2e-0000-4000-8000-000000000019: control_character\n",
    )
    .expect("valid config");
    let rep = Linter::new(cfg).lint_paths(&[root().join("control_character/fail")]);
    assert!(rep.findings.is_empty(), "{:?}", rep.findings);
    let cfg = LintConfig::from_yaml("severity: {control_character: info}").expect("valid");
    let rep = Linter::new(cfg).lint_paths(&[root().join("control_character/fail")]);
    assert_eq!(rep.count(Severity::Info), 1);
    let cfg = LintConfig::from_yaml("config: {filename_length: {min_size: 40}}").expect("valid");
    let rep = Linter::new(cfg).lint_paths(&[root().join("filename_length/pass")]);
    assert_eq!(rep.per_check().get("filename_length"), Some(&1));
}

#[test]
fn parse_errors_are_findings_and_linting_goes_on() {
    let rep = linter().lint_paths(&[root().join("parse_error/fail"), root().join("cvetag/fail")]);
    assert!(rep.findings.iter().any(|f| f.check == "parse_error"));
    assert!(rep.findings.iter().any(|f| f.check == "cvetag"));
}

/// pySigma 1.5.1 + pySigma-validators-sigmaHQ findings per check on the
/// corpus folders (scripts/pysigma_check.py, ATT&CK stand-in built from the
/// bundled table). Checks not listed report nothing in both tools.
const PYSIGMA: &[(&str, &[(&str, usize)])] = &[
    (
        "rules",
        &[
            ("attacktag", 1554),
            ("escaped_wildcard", 54),
            ("number_as_string", 8),
            ("sigmahq_invalid_hash_kv", 1),
            ("sigmahq_tags_techniques_without_tactics", 1051),
            ("specific_instead_of_generic_logsource", 4),
        ],
    ),
    (
        "rules-emerging-threats",
        &[
            ("attacktag", 127),
            ("escaped_wildcard", 10),
            ("sigmahq_tags_techniques_without_tactics", 91),
        ],
    ),
    (
        "rules-threat-hunting",
        &[
            ("attacktag", 60),
            ("escaped_wildcard", 2),
            ("sigmahq_tags_techniques_without_tactics", 46),
        ],
    ),
    ("rules-compliance", &[]),
    (
        "rules-placeholder",
        &[
            ("attacktag", 13),
            ("sigmahq_tags_techniques_without_tactics", 18),
        ],
    ),
    (
        "deprecated",
        &[
            ("attacktag", 122),
            ("cvetag", 2),
            ("duplicate_title", 2),
            ("escaped_wildcard", 2),
            ("sigmahq_fields_existence", 27),
            ("sigmahq_github_link", 3),
            ("sigmahq_mitre_link", 3),
            ("sigmahq_status", 168),
            ("sigmahq_tags_techniques_without_tactics", 144),
            ("specific_instead_of_generic_logsource", 4),
        ],
    ),
];

/// Differences explained in docs/differences.md ("## Lint").
const KNOWN_DIFFERENCES: &[(&str, &str, usize)] = &[
    // `web_cve_2023_34362_known_payload_request.yml.yml`: pySigma's
    // unanchored re.match accepts the double extension.
    ("rules-emerging-threats", "sigmahq_filename_convention", 1),
];

mod common;
use common::shared;

#[test]
fn corpus_counts_match_pysigma() {
    let Some(shared) = shared() else {
        eprintln!("SKIP corpus_counts_match_pysigma: ../shared (or $SIGIL_SHARED) not found");
        return;
    };
    let linter = linter();
    for (folder, expected) in PYSIGMA {
        let rep = linter.lint_paths(&[shared.join("corpus/sigma").join(folder)]);
        let got = rep.per_check();
        for c in CHECKS {
            if c.origin == sigma_core::lint::CheckOrigin::Sigil {
                continue;
            }
            let want: usize = expected
                .iter()
                .filter(|(id, _)| *id == c.id)
                .map(|(_, n)| *n)
                .chain(
                    KNOWN_DIFFERENCES
                        .iter()
                        .filter(|(f, id, _)| f == folder && *id == c.id)
                        .map(|(_, _, n)| *n),
                )
                .sum();
            assert_eq!(
                got.get(c.id).copied().unwrap_or(0),
                want,
                "{folder}: {} (sigil {:?})",
                c.id,
                got
            );
        }
    }
}
