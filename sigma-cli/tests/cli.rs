//! What every command shares: help texts and the exit status of a missing
//! input path.

use std::process::{Command, Output};

fn sigil(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sigil"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args(args)
        .output()
        .expect("run sigil")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_missing_input_path_exits_2_in_every_command() {
    let cases: &[&[&str]] = &[
        &["parse", "no/such/path"],
        &["lint", "no/such/path"],
        &[
            "convert",
            "-t",
            "splunk",
            "--without-pipeline",
            "no/such/path",
        ],
        &["test", "no/such/path"],
        &["test", "--rules", "no/such/path", "fixtures/test/inline"],
    ];
    for args in cases {
        let o = sigil(args);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("no/such/path: no such file or directory"),
            "{args:?}: {err}"
        );
        assert!(!err.contains(":0:0"), "{args:?}: {err}");
        assert!(o.stdout.is_empty(), "{args:?}: {}", text(&o.stdout));
    }
    // Paths that exist are read as before.
    let o = sigil(&["parse", "rules/windows"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

#[test]
fn top_level_help_names_every_command() {
    for flag in ["-h", "--help"] {
        let out = text(&sigil(&[flag]).stdout);
        assert!(
            out.starts_with("sigil: parse, convert, hunt, lint and test"),
            "{out}"
        );
        for cmd in ["parse", "convert", "hunt", "lint", "test"] {
            assert!(out.contains(&format!("\n  {cmd} ")), "{cmd}: {out}");
        }
    }
    let out = text(&sigil(&["--help"]).stdout);
    assert!(
        out.contains("on a usage error, including an input path"),
        "{out}"
    );
}

#[test]
fn convert_help_lists_targets_formats_and_pipelines() {
    let short = text(&sigil(&["convert", "-h"]).stdout);
    assert!(short.contains("see the list below"), "{short}");
    assert!(
        short.contains("Targets and formats:\n  splunk  default, savedsearches, data_model"),
        "{short}"
    );
    assert!(
        short.contains("[possible values: splunk, lucene, esql, eql]"),
        "{short}"
    );
    let long = text(&sigil(&["convert", "--help"]).stdout);
    assert!(
        long.contains("  eql     default, eqlapi, siem_rule, siem_rule_ndjson"),
        "{long}"
    );
    assert!(long.contains("Exit status:"), "{long}");
    assert!(
        long.contains("sigil convert -t splunk -p splunk_windows rules/windows\n"),
        "{long}"
    );
    assert!(!long.contains("rules/windows/process_creation"), "{long}");
    // Every built-in pipeline, with its description.
    assert!(long.contains("splunk_windows"), "{long}");
    assert!(long.contains("windows-hunt"), "{long}");
    assert!(long.contains("CIM data model"), "{long}");
    assert!(long.contains("Elasticsearch ES|QL"), "{long}");
    // A wrong target is a clap error naming the real ones.
    let o = sigil(&[
        "convert",
        "-t",
        "splunkk",
        "--without-pipeline",
        "rules/windows",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("[possible values: splunk, lucene, esql, eql]"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn lint_parse_and_test_help_have_examples_and_exit_codes() {
    let lint = text(&sigil(&["lint", "--help"]).stdout);
    for group in ["all", "pysigma", "core", "sigmahq", "sigil"] {
        assert!(lint.contains(&format!("`{group}`")), "{group}: {lint}");
    }
    for needle in ["Examples:", "Exit status:", "sigil lint rules/windows\n"] {
        assert!(lint.contains(needle), "{needle}: {lint}");
    }
    let parse = text(&sigil(&["parse", "--help"]).stdout);
    for needle in [
        "Examples:",
        "Exit status:",
        "sigil parse --json rules/windows",
    ] {
        assert!(parse.contains(needle), "{needle}: {parse}");
    }
    let test = text(&sigil(&["test", "--help"]).stdout);
    for needle in [
        "Examples:",
        "Exit status:",
        "JUnit report cannot be written",
        "fixtures/test/regression_data",
    ] {
        assert!(test.contains(needle), "{needle}: {test}");
    }
}

/// The examples of the help texts run (from the repository root).
#[test]
fn help_examples_run() {
    let o = sigil(&["parse", "--json", "rules/windows"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = sigil(&[
        "lint",
        "--enable",
        "sigmahq",
        "--disable",
        "sigmahq_title_length",
        "rules/windows",
    ]);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{}",
        text(&o.stderr)
    );
    let o = sigil(&[
        "test",
        "--rules",
        "fixtures/test/rules",
        "fixtures/test/regression_data",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    let o = sigil(&["test", "fixtures/test/inline"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    let o = sigil(&[
        "convert",
        "-t",
        "splunk",
        "-p",
        "splunk_windows",
        "-p",
        "fixtures/hunt/rename-commandline.yml",
        "rules/windows",
    ]);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{}",
        text(&o.stderr)
    );
    assert!(!o.stdout.is_empty());
}
