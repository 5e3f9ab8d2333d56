//! Replaying events against rules: the engine behind `sigil test`.
//!
//! A [`TestCase`] names one rule, a set of events and an expectation (the
//! rule matches, optionally exactly *n* times, or it does not match). Cases
//! come from three layouts, found by [`discover`]:
//!
//! * **SigmaHQ regression layout**: an `info.yml` with `rule_metadata`
//!   (the rule `id`) and `regression_tests_info` (one entry per test:
//!   `name`, `type: evtx|json`, `match_count`, `path`; `match_count` is a
//!   minimum, `0` means the rule must not match). The event file is
//!   looked up by its file name next to `info.yml` first, then by the given
//!   path relative to the ancestors of `info.yml`. The rule is found by id
//!   among the `--rules` paths (or the tested paths themselves).
//! * **Case lists** (`cases.jsonl`, the form of sigil's shared regression
//!   corpus): one JSON object per line with `rule_path` (relative to the
//!   `--rules` folder, by default `../sigma` next to the file), optional
//!   `rule_id`, `event_file` (relative to the list), `expect`
//!   (`match`/`no_match`), optional `match_count` and `test_name`.
//! * **Inline tests** in a rule file: a `tests` attribute with `match` and
//!   `no_match` lists of events written as YAML mappings. Inline events are
//!   checked against the rule's detection logic only: log-source routing is
//!   bypassed (any event is routed to the rule), so a test does not need a
//!   `Channel`.
//!
//! ```yaml
//! title: Whoami
//! logsource: {category: process_creation, product: windows}
//! detection:
//!     selection: {Image|endswith: '\whoami.exe'}
//!     condition: selection
//! tests:
//!     match:
//!         - {Image: 'C:\Windows\System32\whoami.exe'}
//!     no_match:
//!         - {Image: 'C:\Windows\notepad.exe'}
//! ```
//!
//! Events files (JSON lines, JSON, EVTX, compressed) are read with
//! [`crate::scan_paths`] and evaluated by [`Engine`] with the normal
//! routing, exactly as `sigil hunt` would. [`junit_xml`] renders results as
//! JUnit XML, one `<testsuite>` per source file.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use sigma_core::{Document, LogSource, RuleSet};

use crate::engine::{Engine, EngineOptions, Scratch};
use crate::routing::{Route, Router};
use crate::scan::{scan_paths, Collect, ScanOptions};

/// What a case expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// The rule matches at least `n` events (at least one when `None`).
    /// SigmaHQ's `match_count` is read as this minimum: its regression
    /// data lists `match_count: 1` for event files in which the rule
    /// rightly matches two or three events.
    Match(Option<u64>),
    /// The rule matches no event.
    NoMatch,
}

/// Where the events of a case are.
#[derive(Debug, Clone, PartialEq)]
pub enum Events {
    /// An events file (JSON lines, JSON, EVTX; compressed or not).
    File(PathBuf),
    /// Events written inline (routing bypassed).
    Inline(Vec<Value>),
}

/// One test: a rule, events, an expectation.
#[derive(Debug, Clone, PartialEq)]
pub struct TestCase {
    /// The file that defined the case (`info.yml`, `cases.jsonl`, rule).
    pub suite: PathBuf,
    /// The test name.
    pub name: String,
    /// The rule file (absent when the rule id was not found).
    pub rule_file: Option<PathBuf>,
    /// The rule id, when known.
    pub rule_id: Option<String>,
    /// The events.
    pub events: Events,
    /// The expectation.
    pub expect: Expect,
}

/// Result of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The expectation held.
    Pass,
    /// The rule loaded and ran, but the expectation failed.
    Fail,
    /// The case could not run (rule or events missing, rule not routed…).
    Error,
}

/// A case with its outcome.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The case.
    pub case: TestCase,
    /// Pass, fail or error.
    pub outcome: Outcome,
    /// The rule's title (empty when it did not load).
    pub title: String,
    /// Events read.
    pub events: u64,
    /// Events the rule matched.
    pub matches: u64,
    /// Explanation for failures and errors.
    pub message: String,
    /// Time taken.
    pub duration: Duration,
}

fn text(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(|x| match x {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

fn yaml_file(path: &Path) -> Result<Value, String> {
    let t = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let docs = sigma_core::yaml::parse_documents(&t).map_err(|e| e.message)?;
    Ok(docs.first().map(|d| d.to_json()).unwrap_or(Value::Null))
}

/// Cases of a SigmaHQ `info.yml`.
fn from_info(path: &Path, rules: &dyn Fn(&str) -> Option<PathBuf>, out: &mut Vec<TestCase>) {
    let dir = path.parent().unwrap_or(Path::new("."));
    let info = match yaml_file(path) {
        Ok(v) => v,
        Err(e) => {
            out.push(broken(path, &format!("invalid info.yml: {e}")));
            return;
        }
    };
    let rule_id = info
        .get("rule_metadata")
        .and_then(|m| m.as_array())
        .and_then(|m| m.first())
        .and_then(|m| text(m, "id"))
        .or_else(|| text(&info, "rule_id"));
    let tests = info
        .get("regression_tests_info")
        .and_then(|t| t.as_array())
        .cloned()
        .unwrap_or_default();
    if tests.is_empty() {
        out.push(broken(path, "info.yml lists no regression_tests_info"));
    }
    for t in tests {
        let given = text(&t, "path").unwrap_or_default();
        let file = resolve_event_file(dir, &given);
        let expect = match text(&t, "match_count").and_then(|n| n.parse::<u64>().ok()) {
            Some(0) => Expect::NoMatch,
            n => Expect::Match(n),
        };
        out.push(TestCase {
            suite: path.to_path_buf(),
            name: text(&t, "name").unwrap_or_else(|| "regression test".into()),
            rule_file: rule_id.as_deref().and_then(rules),
            rule_id: rule_id.clone(),
            events: Events::File(file),
            expect,
        });
    }
}

/// The events file of an `info.yml` entry: by name beside it, else the
/// given path relative to each ancestor folder.
fn resolve_event_file(dir: &Path, given: &str) -> PathBuf {
    let given = Path::new(given);
    if let Some(name) = given.file_name() {
        let beside = dir.join(name);
        if beside.is_file() {
            return beside;
        }
    }
    if given.is_absolute() {
        return given.to_path_buf();
    }
    dir.ancestors()
        .map(|a| a.join(given))
        .find(|p| p.is_file())
        .unwrap_or_else(|| dir.join(given))
}

fn broken(suite: &Path, message: &str) -> TestCase {
    TestCase {
        suite: suite.to_path_buf(),
        name: message.to_string(),
        rule_file: None,
        rule_id: None,
        events: Events::Inline(Vec::new()),
        expect: Expect::Match(None),
    }
}

/// Cases of a `cases.jsonl` list.
fn from_case_list(path: &Path, rule_roots: &[PathBuf], out: &mut Vec<TestCase>) {
    let dir = path.parent().unwrap_or(Path::new("."));
    let text_all = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            out.push(broken(path, &format!("cannot read: {e}")));
            return;
        }
    };
    let mut roots: Vec<PathBuf> = rule_roots.to_vec();
    roots.push(dir.join("../sigma"));
    roots.push(dir.to_path_buf());
    for (i, line) in text_all.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                out.push(broken(path, &format!("line {}: invalid JSON: {e}", i + 1)));
                continue;
            }
        };
        let rule_path = text(&v, "rule_path").unwrap_or_default();
        let rule_file = roots
            .iter()
            .map(|r| r.join(&rule_path))
            .find(|p| p.is_file());
        let expect = match text(&v, "expect").as_deref() {
            Some("no_match" | "nomatch" | "no-match") => Expect::NoMatch,
            _ => Expect::Match(text(&v, "match_count").and_then(|n| n.parse().ok())),
        };
        let rule_id = text(&v, "rule_id");
        let name = format!(
            "{} ({})",
            text(&v, "test_name").unwrap_or_else(|| format!("case {}", i + 1)),
            rule_id.as_deref().unwrap_or(&rule_path)
        );
        out.push(TestCase {
            suite: path.to_path_buf(),
            name,
            rule_file: rule_file.or_else(|| Some(dir.join(&rule_path))),
            rule_id,
            events: Events::File(dir.join(text(&v, "event_file").unwrap_or_default())),
            expect,
        });
    }
}

/// Inline `tests:` of the documents of a rule file.
fn from_rule_file(path: &Path, out: &mut Vec<TestCase>) {
    let set = sigma_core::load_file(path);
    for doc in &set.documents {
        let Some(tests) = doc.meta().custom.get("tests") else {
            continue;
        };
        for (key, expect) in [
            ("match", Expect::Match(None)),
            ("no_match", Expect::NoMatch),
        ] {
            let events = tests
                .get(key)
                .and_then(|e| e.as_array())
                .cloned()
                .unwrap_or_default();
            for (i, ev) in events.into_iter().enumerate() {
                out.push(TestCase {
                    suite: path.to_path_buf(),
                    name: format!("{key} #{}", i + 1),
                    rule_file: Some(path.to_path_buf()),
                    rule_id: doc.meta().id.clone(),
                    events: Events::Inline(vec![ev]),
                    expect: expect.clone(),
                });
            }
        }
    }
}

/// Finds every case under the given files and folders. `rule_paths` are
/// searched (recursively) for the rules that `info.yml` files name by id;
/// without them the tested paths are searched.
pub fn discover(paths: &[PathBuf], rule_paths: &[PathBuf]) -> Vec<TestCase> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_file() {
            files.push(p.clone());
        } else {
            for e in walkdir::WalkDir::new(p)
                .follow_links(true)
                .sort_by_file_name()
                .into_iter()
                .flatten()
            {
                if e.file_type().is_file() {
                    files.push(e.path().to_path_buf());
                }
            }
        }
    }
    let has_info = files
        .iter()
        .any(|f| f.file_name() == Some("info.yml".as_ref()));
    let index: BTreeMap<String, PathBuf> = if has_info {
        let roots = if rule_paths.is_empty() {
            paths
        } else {
            rule_paths
        };
        rule_index(roots)
    } else {
        BTreeMap::new()
    };
    let lookup = |id: &str| index.get(&id.to_ascii_lowercase()).cloned();
    let mut out = Vec::new();
    for f in &files {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let ext = f.extension().and_then(|x| x.to_str()).unwrap_or("");
        if name == "info.yml" {
            from_info(f, &lookup, &mut out);
        } else if name == "cases.jsonl" {
            from_case_list(f, rule_paths, &mut out);
        } else if (ext == "yml" || ext == "yaml") && file_mentions_tests(f) {
            from_rule_file(f, &mut out);
        }
    }
    out
}

fn file_mentions_tests(f: &Path) -> bool {
    std::fs::read_to_string(f)
        .map(|t| t.lines().any(|l| l.starts_with("tests:")))
        .unwrap_or(false)
}

/// Rule id (lowercase) → file, for every rule under the paths.
fn rule_index(roots: &[PathBuf]) -> BTreeMap<String, PathBuf> {
    let mut index = BTreeMap::new();
    for r in roots {
        let Ok(files) = sigma_core::rule_files(r) else {
            continue;
        };
        for f in files {
            if f.file_name() == Some("info.yml".as_ref()) {
                continue;
            }
            let Ok(t) = std::fs::read_to_string(&f) else {
                continue;
            };
            for line in t.lines() {
                if let Some(id) = line.strip_prefix("id:") {
                    let id = id.trim().trim_matches(['\'', '"']).to_ascii_lowercase();
                    index.entry(id).or_insert_with(|| f.clone());
                }
            }
        }
    }
    index
}

/// Routes every rule to every event that has a Channel (inline tests).
struct AnyRouter;

impl Router for AnyRouter {
    fn routes(&self, _: &LogSource) -> Result<Vec<Route>, String> {
        Ok(vec![Route {
            channels: Vec::new(),
            event_ids: Vec::new(),
            mapping: Vec::new(),
        }])
    }
}

/// The rule document a case names (by id, else the first rule).
fn pick_rule(set: RuleSet, id: Option<&str>) -> Result<RuleSet, String> {
    if let Some(e) = set.errors.first() {
        return Err(format!("the rule does not load: {e}"));
    }
    let pos = set
        .documents
        .iter()
        .position(|d| {
            matches!(d, Document::Rule(_))
                && id.is_none_or(|id| {
                    d.meta()
                        .id
                        .as_deref()
                        .is_some_and(|x| x.eq_ignore_ascii_case(id))
                })
        })
        .or_else(|| {
            set.documents
                .iter()
                .position(|d| matches!(d, Document::Rule(_)))
        })
        .ok_or("the file holds no detection rule")?;
    let mut set = set;
    let doc = set.documents.swap_remove(pos);
    Ok(RuleSet {
        documents: vec![doc],
        errors: Vec::new(),
        files: 1,
    })
}

/// Runs one case.
pub fn run_case(case: &TestCase) -> CaseResult {
    let start = Instant::now();
    let mut res = CaseResult {
        case: case.clone(),
        outcome: Outcome::Error,
        title: String::new(),
        events: 0,
        matches: 0,
        message: String::new(),
        duration: Duration::ZERO,
    };
    let outcome = run_inner(case, &mut res);
    res.outcome = match outcome {
        Ok(()) => check(&case.expect, res.matches, &mut res.message),
        Err(e) => {
            res.message = e;
            Outcome::Error
        }
    };
    res.duration = start.elapsed();
    res
}

fn check(expect: &Expect, matches: u64, message: &mut String) -> Outcome {
    let ok = match expect {
        Expect::Match(Some(n)) => matches >= *n,
        Expect::Match(None) => matches > 0,
        Expect::NoMatch => matches == 0,
    };
    if !ok {
        *message = match expect {
            Expect::Match(Some(n)) => {
                format!("expected at least {n} matching event(s), got {matches}")
            }
            Expect::Match(None) => "expected the rule to match, it matched no event".into(),
            Expect::NoMatch => format!("expected no match, the rule matched {matches} event(s)"),
        };
    }
    if ok {
        Outcome::Pass
    } else {
        Outcome::Fail
    }
}

fn run_inner(case: &TestCase, res: &mut CaseResult) -> Result<(), String> {
    let rule_file = case.rule_file.as_ref().ok_or_else(|| {
        if case.name.starts_with("invalid") || case.rule_id.is_none() {
            case.name.clone()
        } else {
            format!(
                "rule {} not found (give the rules folder with --rules)",
                case.rule_id.as_deref().unwrap_or("?")
            )
        }
    })?;
    let set = pick_rule(sigma_core::load_file(rule_file), case.rule_id.as_deref())?;
    res.title = set.documents[0].meta().title.clone();
    let inline = matches!(case.events, Events::Inline(_));
    let opts = EngineOptions {
        router: inline.then(|| Box::new(AnyRouter) as Box<dyn Router>),
        ..EngineOptions::default()
    };
    let engine = Engine::build(&set, opts);
    let report = &engine.report;
    if let Some((_, why)) = report
        .unrouted
        .first()
        .or(report.unsupported.first())
        .or(report.skipped.first())
    {
        return Err(format!("the rule cannot run: {why}"));
    }
    if engine.rules().is_empty() {
        return Err("the rule did not compile".into());
    }
    match &case.events {
        Events::Inline(events) => {
            let mut scratch = Scratch::default();
            for ev in events {
                let Value::Object(obj) = ev else {
                    return Err("inline events must be mappings".into());
                };
                let mut obj: Map<String, Value> = obj.clone();
                obj.entry("Channel")
                    .or_insert_with(|| Value::String("sigil-test".into()));
                let mut hits = Vec::new();
                engine.evaluate(&obj, &mut scratch, &mut hits);
                res.events += 1;
                res.matches += u64::from(!hits.is_empty());
            }
        }
        Events::File(path) => {
            if !path.is_file() {
                return Err(format!("events file {} not found", path.display()));
            }
            let mut sink = Collect::default();
            let opts = ScanOptions {
                threads: 1,
                ..ScanOptions::default()
            };
            let stats = scan_paths(&engine, std::slice::from_ref(path), &opts, &mut sink);
            if let Some(e) = sink.errors.first() {
                return Err(format!("cannot read {}: {}", path.display(), e.message));
            }
            res.events = stats.events_read;
            res.matches = sink.hits.len() as u64;
        }
    }
    Ok(())
}

/// Runs every case, in order.
pub fn run(cases: &[TestCase]) -> Vec<CaseResult> {
    cases.iter().map(run_case).collect()
}

fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: one `<testsuite>` per defining file, one `<testcase>` per
/// case (`classname` = rule title or file, `name` = test name), failures
/// as `<failure>`, cases that could not run as `<error>`.
pub fn junit_xml(results: &[CaseResult]) -> String {
    let mut suites: BTreeMap<&Path, Vec<&CaseResult>> = BTreeMap::new();
    for r in results {
        suites.entry(r.case.suite.as_path()).or_default().push(r);
    }
    let count = |rs: &[&CaseResult], o: Outcome| rs.iter().filter(|r| r.outcome == o).count();
    let all: Vec<&CaseResult> = results.iter().collect();
    let secs = |rs: &[&CaseResult]| rs.iter().map(|r| r.duration.as_secs_f64()).sum::<f64>();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"sigil test\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3}\">",
        all.len(),
        count(&all, Outcome::Fail),
        count(&all, Outcome::Error),
        secs(&all)
    );
    for (suite, rs) in &suites {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3}\">",
            xml(&suite.display().to_string()),
            rs.len(),
            count(rs, Outcome::Fail),
            count(rs, Outcome::Error),
            secs(rs)
        );
        for r in rs {
            let class = if r.title.is_empty() {
                r.case
                    .rule_file
                    .as_ref()
                    .map_or_else(|| "unknown rule".to_string(), |p| p.display().to_string())
            } else {
                r.title.clone()
            };
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
                xml(&class),
                xml(&r.case.name),
                r.duration.as_secs_f64()
            );
            match r.outcome {
                Outcome::Pass => out.push_str("/>\n"),
                Outcome::Fail | Outcome::Error => {
                    let tag = if r.outcome == Outcome::Fail {
                        "failure"
                    } else {
                        "error"
                    };
                    let _ = write!(
                        out,
                        ">\n      <{tag} message=\"{}\">{} event(s) read, {} matched</{tag}>\n    </testcase>\n",
                        xml(&r.message),
                        r.events,
                        r.matches
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
