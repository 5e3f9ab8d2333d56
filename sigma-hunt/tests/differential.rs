//! Differential test of the prefilter: the optimized engine (raw-line
//! prefilter, candidate rules only, unparsed non-candidate lines) and the
//! plain evaluator must report exactly the same hits (same rule, same
//! line) and the same counters over both bench files and every regression
//! event, with the whole public corpus loaded.
//!
//! The regression events are also fed re-encoded in ways the prefilter's
//! needles cannot see through (`\uXXXX` and `\/` escapes, upper-cased
//! strings, KELVIN SIGN for `k`), to exercise its exact fallbacks.
//!
//! Needs `../shared` (or `SIGIL_SHARED`); skips with a message otherwise.

use std::io::Write;
use std::path::PathBuf;

use serde_json::Value;
use sigma_hunt::prefilter::LineCheck;
use sigma_hunt::{Engine, EngineOptions, Scratch};

mod common;
use common::{corpus_engine, run, same, shared};

/// Rewrites the characters inside JSON strings (escapes kept as they are).
fn rewrite_strings(line: &str, f: &dyn Fn(char) -> Option<String>) -> String {
    let mut out = String::with_capacity(line.len() * 2);
    let (mut in_str, mut escaped) = (false, false);
    for c in line.chars() {
        if !in_str {
            in_str = c == '"';
            out.push(c);
        } else if escaped {
            escaped = false;
            out.push(c);
        } else if c == '\\' {
            escaped = true;
            out.push(c);
        } else if c == '"' {
            in_str = false;
            out.push(c);
        } else {
            match f(c) {
                Some(s) => out.push_str(&s),
                None => out.push(c),
            }
        }
    }
    out
}

/// Rewrites the string values (not the keys) of a JSON line.
fn map_values(line: &str, f: &dyn Fn(&str) -> String) -> String {
    fn walk(v: &mut Value, f: &dyn Fn(&str) -> String) {
        match v {
            Value::String(s) => *s = f(s),
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, f)),
            Value::Object(o) => o.values_mut().for_each(|x| walk(x, f)),
            _ => {}
        }
    }
    match serde_json::from_str::<Value>(line) {
        Ok(mut v) => {
            walk(&mut v, f);
            v.to_string()
        }
        Err(_) => line.to_string(),
    }
}

/// Applies `f` to every object of a JSON line.
fn map_objects(line: &str, f: &dyn Fn(&mut serde_json::Map<String, Value>)) -> String {
    fn walk(v: &mut Value, f: &dyn Fn(&mut serde_json::Map<String, Value>)) {
        match v {
            Value::Object(m) => {
                f(m);
                m.values_mut().for_each(|x| walk(x, f));
            }
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, f)),
            _ => {}
        }
    }
    let mut v: Value = serde_json::from_str(line).expect("regression event");
    walk(&mut v, f);
    v.to_string()
}

/// Rewrites the value of every `key` in a JSON line.
fn map_key(line: &str, key: &'static str, f: &'static dyn Fn(&Value) -> Value) -> String {
    map_objects(line, &move |m| {
        if let Some(v) = m.get_mut(key) {
            *v = f(v);
        }
    })
}

fn u_escape(c: char) -> String {
    let mut buf = [0u16; 2];
    c.encode_utf16(&mut buf)
        .iter()
        .map(|u| format!("\\u{u:04x}"))
        .collect()
}

#[test]
fn prefilter_changes_no_hit() {
    let Some(shared) = shared() else {
        return;
    };
    let mut engine = corpus_engine(&shared);

    // Both bench files.
    let mut total = 0;
    for name in ["windows-sample.jsonl", "windows-sample-flat.jsonl"] {
        let file = shared.join("bench").join(name);
        total += same(&mut engine, &file);
        // The prefilter must actually remove work here.
        let data = std::fs::read(&file).expect("bench file");
        let mut scratch = Scratch::default();
        let nothing = data
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .filter(|l| engine.prefilter(l, &mut scratch) == LineCheck::Nothing)
            .count();
        assert!(nothing > 1000, "{name}: only {nothing} lines skipped");
    }
    assert!(total > 5000, "{total} hits on the bench files");

    // Every regression event, as shipped and re-encoded.
    let reg = shared.join("corpus/regression/events");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&reg)
        .expect("events folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let mut lines = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("event file");
        lines.extend(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(String::from),
        );
    }
    assert!(files.len() >= 200, "{} regression event files", files.len());
    type Rewrite = Box<dyn Fn(&str) -> String>;
    let variants: Vec<(&str, Rewrite)> = vec![
        ("as shipped", Box::new(|l: &str| l.to_string())),
        (
            "upper-cased values",
            Box::new(|l: &str| map_values(l, &|s| s.to_uppercase())),
        ),
        (
            "\\u escapes for non-ASCII and vowels",
            Box::new(|l: &str| {
                rewrite_strings(l, &|c| {
                    (!c.is_ascii() || "aeiouAEIOU".contains(c)).then(|| u_escape(c))
                })
            }),
        ),
        (
            "\\/ escapes",
            Box::new(|l: &str| rewrite_strings(l, &|c| (c == '/').then(|| "\\/".to_string()))),
        ),
        (
            "KELVIN SIGN for k",
            Box::new(|l: &str| map_values(l, &|s| s.replace(['k', 'K'], "\u{212A}"))),
        ),
        // A case-insensitive regex (wildcard patterns) matches `s` with
        // LATIN SMALL LETTER LONG S, which lowercases to itself.
        (
            "LONG S for s in the event data",
            Box::new(|l: &str| {
                map_key(l, "EventData", &|v| {
                    let mut v = v.clone();
                    if let Value::Object(m) = &mut v {
                        for x in m.values_mut() {
                            if let Value::String(s) = x {
                                *s = s.replace(['s', 'S'], "\u{17F}");
                            }
                        }
                    }
                    v
                })
            }),
        ),
        // The routing keys the prefilter reads from the raw text to pick
        // its (channel, EventID) automaton, in every shape it must see
        // through or refuse.
        (
            "EventID as a padded string",
            Box::new(|l: &str| map_key(l, "EventID", &|v| Value::String(format!(" {v} ")))),
        ),
        (
            "EventID as a float",
            Box::new(|l: &str| {
                map_key(l, "EventID", &|v| {
                    v.as_f64().map_or(v.clone(), |f| serde_json::json!(f))
                })
            }),
        ),
        (
            "EventID under #text",
            Box::new(|l: &str| map_key(l, "EventID", &|v| serde_json::json!({ "#text": v }))),
        ),
        (
            "Channel under #text",
            Box::new(|l: &str| map_key(l, "Channel", &|v| serde_json::json!({ "#text": v }))),
        ),
        (
            "Channel upper-cased",
            Box::new(|l: &str| {
                map_key(l, "Channel", &|v| {
                    Value::String(v.as_str().unwrap_or_default().to_uppercase())
                })
            }),
        ),
        (
            "spaced Channel and EventID keys",
            Box::new(|l: &str| {
                map_objects(l, &|m| {
                    for (from, to) in [("Channel", "Chan nel"), ("EventID", "Event ID")] {
                        if let Some(v) = m.remove(from) {
                            m.insert(to.to_string(), v);
                        }
                    }
                })
            }),
        ),
        (
            "duplicate keys (the last value wins)",
            Box::new(|l: &str| {
                let body = l.trim().trim_start_matches('{');
                format!(r#"{{"Channel": 1, "EventID": "x", "Event": 2, {body}"#)
            }),
        ),
        (
            "a second channel and EventID key",
            Box::new(|l: &str| {
                map_objects(l, &|m| {
                    if m.contains_key("Channel") {
                        m.insert("channel".into(), Value::String("Security".into()));
                        m.insert("event_id".into(), serde_json::json!(4688));
                    }
                })
            }),
        ),
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    let mut regression_hits = 0;
    for (what, f) in &variants {
        let path = dir.path().join("events.jsonl");
        let mut out = std::fs::File::create(&path).expect("temp file");
        for l in &lines {
            writeln!(out, "{}", f(l)).expect("write");
        }
        drop(out);
        let n = same(&mut engine, &path);
        if *what == "as shipped" {
            regression_hits = n;
        }
        // A float EventID is no EventID for the evaluator, and spaced
        // names only resolve among the event data (the regression events
        // keep Channel and EventID under System): nothing may match, and
        // both paths must agree on that.
        let may_be_empty = ["EventID as a float", "spaced Channel and EventID keys"];
        assert!(
            n > 0 || may_be_empty.contains(what),
            "{what}: no hit at all"
        );
    }
    assert!(
        regression_hits >= files.len(),
        "{regression_hits} hits on {} regression files",
        files.len()
    );
}

/// The plan is derived from the rules as compiled, after the pipeline: a
/// pipeline that rewrites values must not leave the prefilter looking for
/// the original text.
/// The tuning knobs change no hit: large groups switch from a contiguous
/// NFA to a DFA after many lines (more than a bench file has; here every
/// group switches at its first line), and lines without a usable channel
/// key are evaluated exactly until the full automaton is worth building
/// (the default, which the other tests turn off).
#[test]
fn tuning_changes_no_hit() {
    let Some(shared) = shared() else {
        return;
    };
    let mut engine = corpus_engine(&shared);
    engine.set_automaton_upgrade(0);
    engine.set_prefilter_warmup(sigma_hunt::engine::plan::FULL_WARMUP);
    let mut total = 0;
    for name in ["windows-sample.jsonl", "windows-sample-flat.jsonl"] {
        total += same(&mut engine, &shared.join("bench").join(name));
    }
    assert!(total > 1000, "only {total} hits on the bench files");
}

#[test]
fn plan_follows_the_pipeline() {
    let set = sigma_core::parse_str(
        r#"
title: Foo
logsource: {category: process_creation, product: windows}
detection:
    selection:
        Image|endswith: '\foo.exe'
    condition: selection
"#,
        None,
    );
    let pipeline = sigma_core::pipeline::Pipeline::from_yaml_str(
        r#"
name: rename foo
transformations:
  - id: foo_to_bar
    type: replace_string
    regex: "foo"
    replacement: "bar"
"#,
        None,
    )
    .expect("pipeline");
    let mut engine = Engine::build(
        &set,
        EngineOptions {
            pipeline: Some(pipeline),
            ..EngineOptions::default()
        },
    );
    assert_eq!(engine.rules().len(), 1, "{:?}", engine.report);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("events.jsonl");
    std::fs::write(
        &path,
        concat!(
            r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Image": "C:\\bar.exe"}"#,
            "\n",
            r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Image": "C:\\foo.exe"}"#,
            "\n"
        ),
    )
    .expect("write");
    let (plain, ..) = run(&mut engine, &path, false);
    assert_eq!(plain, vec![(0, 1)]);
    assert_eq!(same(&mut engine, &path), 1);
}
