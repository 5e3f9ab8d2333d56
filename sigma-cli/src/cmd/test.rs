//! `sigil test`: replay events against rules and report pass/fail (see
//! `sigma_hunt::replay` for the supported layouts).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use sigma_hunt::replay::{self, Outcome};

/// Arguments of `sigil test`.
#[derive(Args, Debug)]
#[command(after_long_help = "\
Layouts:
  SigmaHQ regression folders  info.yml naming the rule id and its tests
                              (event file, match_count: a minimum, 0 = must
                              not match); the rule is found by id under
                              --rules (default: the tested paths)
  case lists                  cases.jsonl, one JSON object per line:
                              rule_path (under --rules, default ../sigma
                              next to the list), event_file, expect
                              (match or no_match), optional match_count
  inline tests                a rule file with `tests:` holding `match:` and
                              `no_match:` lists of events (routing bypassed)

Examples:
  sigil test --rules fixtures/test/rules fixtures/test/regression_data
  sigil test fixtures/test/inline
  sigil test -q --junit report.xml --rules fixtures/test/rules \\
      fixtures/test/regression_data fixtures/test/inline

Each case prints PASS, FAIL or ERROR with the rule, the case, the number of
events and matches, then a summary: N passed, N failed, N errors.

Exit status: 0 when every case passed, 1 when any case failed or could not
run, 2 when no case was found, the JUnit report cannot be written, or a
PATH or --rules path does not exist.")]
pub struct TestArgs {
    /// Test folders or files: SigmaHQ `info.yml` regression folders,
    /// `cases.jsonl` case lists, or rule files with inline `tests:`.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Where the rules named by `info.yml` (by id) or `cases.jsonl` (by
    /// path) live (repeatable; default: the tested paths, and `../sigma`
    /// next to a `cases.jsonl`).
    #[arg(long, value_name = "PATH")]
    pub rules: Vec<PathBuf>,

    /// Also write a JUnit XML report to this file.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// Print only failures, errors and the summary.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs the command; returns 0 when every case passed, 1 when any failed
/// or could not run, 2 when no case was found, the report cannot be
/// written or an input path does not exist.
pub fn run(args: TestArgs) -> u8 {
    if let Err(code) = super::require_inputs("test", args.paths.iter().chain(&args.rules)) {
        return code;
    }
    let cases = replay::discover(&args.paths, &args.rules);
    if cases.is_empty() {
        eprintln!("sigil test: no test cases found (expected info.yml, cases.jsonl or rules with 'tests:')");
        return 2;
    }
    let results = replay::run(&cases);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (mut pass, mut fail, mut error) = (0, 0, 0);
    for r in &results {
        let label = match r.outcome {
            Outcome::Pass => {
                pass += 1;
                "PASS"
            }
            Outcome::Fail => {
                fail += 1;
                "FAIL"
            }
            Outcome::Error => {
                error += 1;
                "ERROR"
            }
        };
        if args.quiet && r.outcome == Outcome::Pass {
            continue;
        }
        let rule = if r.title.is_empty() {
            r.case.rule_id.clone().unwrap_or_default()
        } else {
            r.title.clone()
        };
        let _ = write!(
            out,
            "{label:<5} {} :: {} [{} event(s), {} match(es)]",
            rule, r.case.name, r.events, r.matches
        );
        if !r.message.is_empty() {
            let _ = write!(out, ": {}", r.message);
        }
        let _ = writeln!(out, "  ({})", r.case.suite.display());
    }
    let _ = writeln!(out, "{pass} passed, {fail} failed, {error} errors");
    let _ = out.flush();
    if let Some(path) = &args.junit {
        if let Err(e) = std::fs::write(path, replay::junit_xml(&results)) {
            eprintln!("sigil test: cannot write {}: {e}", path.display());
            return 2;
        }
    }
    u8::from(fail + error > 0)
}
