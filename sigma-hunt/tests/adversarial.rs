//! Adversarial differential tests of the optimized scan path (raw-line
//! prefilter, (channel, EventID) automata, sparse parsing, unparsed
//! non-candidate lines) against the plain evaluator: hand-written lines
//! aimed at each shortcut, and a seeded generator that re-encodes real
//! bench and regression events in hostile ways (duplicate keys at every
//! depth, routing keys in other cases, spaced or in other layouts, numbers
//! written as floats, strings or `-0`, `#text` objects, escapes, characters
//! that only fold to ASCII, odd whitespace, truncation, invalid UTF-8,
//! non-object roots, deep nesting). Both paths must report the same hits,
//! the same matched fields and timestamps, the same input errors and the
//! same counters.
//!
//! The corpus tests need `../shared` (or `SIGIL_SHARED`) and skip with a
//! message otherwise; [`targeted_rules`] runs everywhere.

use std::path::PathBuf;

use serde_json::Value;
use sigma_hunt::{Engine, EngineOptions};

mod common;
use common::{corpus_engine, default_opts, same, same_lines, same_opts, shared};
#[path = "common/hostile.rs"]
mod hostile;
use hostile::{generated_line, Rng};

/// A Sysmon process creation event (nested layout) with `fields` as its
/// event data; `system` replaces the System object when given.
fn sysmon(system: Option<&str>, data: &str) -> String {
    let system = system.unwrap_or(
        r##"{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","TimeCreated":{"#attributes":{"SystemTime":"2024-01-01T00:00:00Z"}}}"##,
    );
    format!(r#"{{"Event":{{"System":{system},"EventData":{data}}}}}"#)
}

/// Event data of a renamed `whoami.exe` started from a shell: several
/// corpus rules match it.
const WHOAMI: &str = r#"{"Image":"C:\\Users\\Public\\svc.exe","OriginalFileName":"whoami.exe","CommandLine":"svc.exe /all /priv","ParentImage":"C:\\Windows\\System32\\cmd.exe","User":"CORP\\alice"}"#;

/// Hand-written lines against the corpus rules. Lines marked `true` must
/// match at least one rule with the plain evaluator (so the comparison is
/// not vacuous).
fn handcrafted() -> Vec<(Vec<u8>, bool)> {
    let sys = |channel: &str, id: &str| {
        format!(
            r##"{{"Provider":{{"#attributes":{{"Name":"Microsoft-Windows-Sysmon"}}}},"EventID":{id},"Channel":{channel},"TimeCreated":{{"#attributes":{{"SystemTime":"2024-01-01T00:00:00Z"}}}}}}"##
        )
    };
    let ch = r#""Microsoft-Windows-Sysmon/Operational""#;
    let mut out: Vec<(String, bool)> = vec![
        (sysmon(None, WHOAMI), true),
        // Whitespace everywhere JSON allows it, including before colons.
        (
            sysmon(None, WHOAMI)
                .replace("\":", "\" \t:\r ")
                .replace(",\"", "\r ,\t\"")
                .replace('{', "{ ")
                .replace('}', "\t}"),
            true,
        ),
        // EventID forms: integer, string, padded string, float, exponent,
        // -0, leading +, leading zeros, huge, negative, #text object.
        (sysmon(Some(&sys(ch, "\"1\"")), WHOAMI), true),
        (sysmon(Some(&sys(ch, "\" 1 \"")), WHOAMI), true),
        (sysmon(Some(&sys(ch, "\"\u{a0}1\u{2003}\"")), WHOAMI), true),
        (sysmon(Some(&sys(ch, "\"+1\"")), WHOAMI), true),
        (sysmon(Some(&sys(ch, "\"01\"")), WHOAMI), true),
        (sysmon(Some(&sys(ch, "1.0")), WHOAMI), false),
        (sysmon(Some(&sys(ch, "1e0")), WHOAMI), false),
        (sysmon(Some(&sys(ch, "-0")), WHOAMI), false),
        (sysmon(Some(&sys(ch, "-1")), WHOAMI), false),
        (
            sysmon(Some(&sys(ch, "18446744073709551617")), WHOAMI),
            false,
        ),
        (sysmon(Some(&sys(ch, "9223372036854775808")), WHOAMI), false),
        (
            sysmon(Some(&sys(ch, "-9223372036854775808")), WHOAMI),
            false,
        ),
        (sysmon(Some(&sys(ch, "\"1\\u0030\"")), WHOAMI), false),
        (sysmon(Some(&sys(ch, r##"{"#text":1}"##)), WHOAMI), true),
        (sysmon(Some(&sys(ch, r##"{"#text":"1"}"##)), WHOAMI), true),
        (
            sysmon(Some(&sys(ch, r##"{"#attributes":{},"#text":1}"##)), WHOAMI),
            true,
        ),
        (sysmon(Some(&sys(ch, "[1]")), WHOAMI), false),
        (sysmon(Some(&sys(ch, "null")), WHOAMI), false),
        (sysmon(Some(&sys(ch, "4688")), WHOAMI), false),
        // Channel forms: other case, escaped, #text, not a string, padded.
        (
            sysmon(
                Some(&sys(r#""MICROSOFT-WINDOWS-SYSMON/OPERATIONAL""#, "1")),
                WHOAMI,
            ),
            true,
        ),
        (
            sysmon(
                Some(&sys(r#""Microsoft-Windows-Sysmon\/Operational""#, "1")),
                WHOAMI,
            ),
            true,
        ),
        (
            sysmon(
                Some(&sys(r#""Microsoft-Windows-Sysmon\u002fOperational""#, "1")),
                WHOAMI,
            ),
            true,
        ),
        (
            sysmon(
                Some(&sys(
                    r##"{"#text":"Microsoft-Windows-Sysmon/Operational"}"##,
                    "1",
                )),
                WHOAMI,
            ),
            true,
        ),
        (sysmon(Some(&sys("5", "1")), WHOAMI), false),
        (sysmon(Some(&sys(r#"" Security ""#, "1")), WHOAMI), false),
        (sysmon(Some(&sys(r#""Security""#, "4688")), WHOAMI), true),
        // Duplicate routing keys: the last one wins, at any depth.
        (
            sysmon(
                Some(&sys(ch, "1").replacen('{', r#"{"Channel":"Security","EventID":4688,"#, 1)),
                WHOAMI,
            ),
            true,
        ),
        (
            sysmon(
                Some(&sys(ch, "1").replacen('{', r#"{"Channel":5,"EventID":"x","#, 1)),
                WHOAMI,
            ),
            true,
        ),
        (
            sysmon(
                Some(&format!(r#"{},"Channel":"Security","EventID":4688}}"#, {
                    let s = sys(ch, "1");
                    s[..s.len() - 1].to_string()
                })),
                WHOAMI,
            ),
            true,
        ),
        (
            format!(
                r#"{{"Event":{{"System":{{"Channel":"Security"}}}},{}"#,
                &sysmon(None, WHOAMI)[1..]
            ),
            true,
        ),
        (
            format!(
                r#"{},"Event":{{"System":{{"Channel":"Security"}}}}}}"#,
                &sysmon(None, WHOAMI)[..sysmon(None, WHOAMI).len() - 1]
            ),
            false,
        ),
        // Routing keys in other cases and spaced, anywhere.
        (
            sysmon(None, &WHOAMI.replacen('{', r#"{"CHANNEL":"Security","#, 1)),
            true,
        ),
        (
            sysmon(None, &WHOAMI.replacen('{', r#"{"Chan nel":"Security","#, 1)),
            true,
        ),
        (
            sysmon(None, &WHOAMI.replacen('{', r#"{"Event ID":4688,"#, 1)),
            true,
        ),
        (
            sysmon(
                None,
                &WHOAMI.replacen('{', r#"{"Code":4688,"event_id":"1","#, 1),
            ),
            true,
        ),
        // The routing keys only among the event data, spaced: the
        // evaluator's spaced-name fallback finds them.
        (
            sysmon(
                Some("{}"),
                &WHOAMI.replacen(
                    '{',
                    r#"{"Chan nel":"Microsoft-Windows-Sysmon/Operational","Event ID":1,"#,
                    1,
                ),
            ),
            false,
        ),
        // Flat, ECS, and a mix of layouts.
        (
            format!(
                r#"{{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,{}"#,
                &WHOAMI[1..]
            ),
            true,
        ),
        (
            format!(
                r#"{{"winlog":{{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":1,"event_data":{WHOAMI}}},"event":{{"code":"1"}}}}"#
            ),
            true,
        ),
        (
            format!(
                r#"{{"winlog":{{"channel":"Microsoft-Windows-Sysmon/Operational","event_data":{WHOAMI}}},"event":{{"code":" 1 "}}}}"#
            ),
            true,
        ),
        (
            format!(
                r#"{{"Channel":"Security","EventID":4688,{}"#,
                &sysmon(None, WHOAMI)[1..]
            ),
            true,
        ),
        (
            format!(
                r#"{{"winlog":{{"channel":"Security"}},{}"#,
                &sysmon(None, WHOAMI)[1..]
            ),
            true,
        ),
        // Values only reachable through escapes or folding.
        (
            sysmon(None, &WHOAMI.replace("whoami", "wh\\u006fami")),
            true,
        ),
        (sysmon(None, &WHOAMI.replace("whoami", "WHOAMI")), true),
        (
            sysmon(None, &WHOAMI.replace("cmd.exe", "cmd\u{212A}.exe")),
            true,
        ),
        (
            sysmon(None, &WHOAMI.replace("whoami", "whoam\u{130}")),
            false,
        ),
        (
            sysmon(None, &WHOAMI.replace("whoami", "who\u{17F}ami")),
            false,
        ),
        // `CommandLine|contains: 'join*split'` runs as a `(?i)` regex,
        // which matches LATIN SMALL LETTER LONG S with `s`.
        (
            sysmon(
                None,
                r#"{"Image":"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe","CommandLine":"powershell -c join x ſplit"}"#,
            ),
            true,
        ),
        // Non-object roots, malformed and truncated lines, deep nesting,
        // empty containers.
        (format!("[{}]", sysmon(None, WHOAMI)), false),
        (format!("\"{}\"", "x"), false),
        ("42".into(), false),
        ("null".into(), false),
        ("{}".into(), false),
        (r#"{"Event":{}}"#.into(), false),
        (r#"{"Event":[],"Channel":"Security"}"#.into(), false),
        (sysmon(None, "{}"), false),
        (sysmon(None, "[]"), false),
        (sysmon(None, &format!("[{WHOAMI},{WHOAMI}]")), false),
        (
            sysmon(None, WHOAMI)[..sysmon(None, WHOAMI).len() - 1].to_string(),
            false,
        ),
        (format!("{} {{}}", sysmon(None, WHOAMI)), false),
        (format!("{},", sysmon(None, WHOAMI)), false),
        (
            format!(
                r#"{{"x":{}1{}, {}"#,
                "[".repeat(126),
                "]".repeat(126),
                &sysmon(None, WHOAMI)[1..]
            ),
            true,
        ),
        (
            format!(
                r#"{{"x":{}1{}, {}"#,
                "[".repeat(127),
                "]".repeat(127),
                &sysmon(None, WHOAMI)[1..]
            ),
            false,
        ),
        (
            format!(
                r#"{{"x":{}1{}, {}"#,
                "{\"y\":".repeat(200),
                "}".repeat(200),
                &sysmon(None, WHOAMI)[1..]
            ),
            false,
        ),
        (sysmon(None, &WHOAMI.replace("alice", "\\ud800")), false),
        (sysmon(None, &WHOAMI.replace("/all", "/all\t")), false),
        (sysmon(None, &WHOAMI.replace("/all", "/all\\x")), false),
        (
            sysmon(None, &WHOAMI.replacen('{', r#"{"n":1e400,"#, 1)),
            false,
        ),
        (
            sysmon(None, &WHOAMI.replacen('{', r#"{"n":-0,"m":1E+2,"#, 1)),
            true,
        ),
        (
            sysmon(
                None,
                &WHOAMI.replacen('{', r#"{"Image\"":"x","I\\mage":"y","#, 1),
            ),
            true,
        ),
        (
            sysmon(
                None,
                &WHOAMI.replacen('{', r#"{"Ima\u0067e":"C:\\x.exe","#, 1),
            ),
            true,
        ),
    ];
    // Duplicate event data keys: dropped and kept values in every order.
    for (a, b) in [
        (
            r#""Image":5"#,
            r#""Image":"C:\\Windows\\System32\\whoami.exe""#,
        ),
        (r#""Image":{"x":1}"#, r#""Image":"C:\\a.exe""#),
        (r#""Image":"C:\\a.exe""#, r#""Image":[1]"#),
        (r#""Other":{"Image":"x"}"#, r#""Other":5"#),
        (r#""Other":5"#, r#""Other":{"Image":"x"}"#),
        (
            r#""OriginalFileName":"x""#,
            r#""OriginalFileName":"whoami.exe""#,
        ),
    ] {
        let data = WHOAMI.replacen('{', &format!("{{{a},"), 1);
        let data = format!("{},{b}}}", &data[..data.len() - 1]);
        out.push((sysmon(None, &data), false));
    }
    // Event data under UserData, with an earlier child of the same name
    // that is not an object: the evaluator walks UserData's children in
    // order, and a full parse keeps a duplicate key at its first position.
    for first in ["0", "\"s\"", "[1]", "null", "{}"] {
        out.push((
            format!(
                r#"{{"Event":{{"System":{},"UserData":{{"A":{first},"B":{},"A":{WHOAMI}}}}}}}"#,
                sys(ch, "1"),
                WHOAMI
                    .replace("whoami", "notepad")
                    .replace("svc.exe /all", "x")
            ),
            true,
        ));
    }
    out.push((
        format!(
            r#"{{"Event":{{"System":{},"UserData":{{"A":{WHOAMI},"B":{{"Image":"x"}},"A":0}}}}}}"#,
            sys(ch, "1"),
        ),
        false,
    ));
    let mut lines: Vec<(Vec<u8>, bool)> =
        out.into_iter().map(|(l, h)| (l.into_bytes(), h)).collect();
    // Invalid UTF-8 in a value, in a key and outside strings.
    let base = sysmon(None, WHOAMI).into_bytes();
    for (from, to) in [
        (&b"alice"[..], &b"al\xffice"[..]),
        (b"\"User\"", b"\"Us\xc3er\""),
        (b"\"User\":", b"\"User\":\xff"),
    ] {
        let at = base
            .windows(from.len())
            .position(|w| w == from)
            .expect("pattern in base line");
        let mut l = base[..at].to_vec();
        l.extend_from_slice(to);
        l.extend_from_slice(&base[at + from.len()..]);
        lines.push((l, false));
    }
    lines
}

#[test]
fn handcrafted_lines_against_the_corpus() {
    let Some(shared) = shared() else {
        return;
    };
    let mut engine = corpus_engine(&shared);
    let dir = tempfile::tempdir().expect("temp dir");
    let cases = handcrafted();
    let lines: Vec<Vec<u8>> = cases.iter().map(|(l, _)| l.clone()).collect();
    let hits = same_lines(&mut engine, dir.path(), "handcrafted", &lines);
    let silent: Vec<_> = cases
        .iter()
        .zip(&hits)
        .filter(|((_, must_hit), n)| *must_hit && **n == 0)
        .map(|((line, _), _)| String::from_utf8_lossy(line))
        .collect();
    assert!(silent.is_empty(), "no hit for {silent:#?}");
    assert!(hits.iter().sum::<u32>() > 40, "{hits:?}");
}

/// Rules written for the shortcuts the corpus may not exercise, with the
/// lines that reproduce each discrepancy found while reviewing them.
#[test]
fn targeted_rules() {
    let set = sigma_core::parse_str(
        r#"
title: Inner wildcard
id: 00000000-0000-0000-0000-000000000001
logsource: {category: process_creation, product: windows}
detection:
    selection:
        CommandLine: 'mimikatz*sekurlsa::logonpasswords'
    condition: selection
---
title: UserData field
id: 00000000-0000-0000-0000-000000000002
logsource: {product: windows, service: security}
detection:
    selection:
        Param1: 'evilvalue'
    condition: selection
---
title: Keyword with inner wildcard
id: 00000000-0000-0000-0000-000000000003
logsource: {product: windows, service: system}
detection:
    keywords:
        - 'sus*stuff'
    condition: keywords
"#,
        None,
    );
    let mut engine = Engine::build(&set, EngineOptions::default());
    assert_eq!(engine.rules().len(), 3, "{:?}", engine.report);
    let sysmon = r#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"CommandLine":"#;
    let lines: Vec<(String, bool)> = vec![
        (format!(r#"{sysmon}"mimikatz sekurlsa::logonpasswords"}}"#), true),
        // LATIN SMALL LETTER LONG S is `s` for a case-insensitive regex
        // (Unicode simple case folding) but is not lowercased to it:
        // wildcard patterns match it, the needles cannot see it.
        (format!(r#"{sysmon}"mimikatz ſekurlſa::logonpaſſwordſ"}}"#), true),
        (format!(r#"{sysmon}"MIMIKATZ \u017fEKURLSA::LOGONPASSWORDS"}}"#), true),
        // KELVIN SIGN is `k` both ways.
        (format!("{sysmon}\"mimi\u{212A}atz sekurlsa::logonpasswords\"}}"), true),
        (r#"{"Channel":"System","EventID":7,"Data":"suſpicious ſtuff"}"#.to_string(), true),
        (r#"{"Channel":"System","EventID":7,"Data":"suspicious stuff"}"#.to_string(), true),
        // A UserData child written twice, first as a scalar: the full
        // parse keeps it first (with its last value), so its Param1 is
        // the one read.
        (
            r#"{"Event":{"System":{"Channel":"Security","EventID":4624},"UserData":{"A":0,"B":{"Param1":"other"},"A":{"Param1":"evilvalue"}}}}"#.to_string(),
            true,
        ),
        (
            r#"{"Event":{"System":{"Channel":"Security","EventID":4624},"UserData":{"A":{"Param1":"x"},"B":{"Param1":"other"},"A":"s","A":{"Param1":"evilvalue"}}}}"#.to_string(),
            true,
        ),
        (
            r#"{"Event":{"System":{"Channel":"Security","EventID":4624},"UserData":{"A":{"Param1":"evilvalue"},"B":{"Param1":"other"},"A":0}}}"#.to_string(),
            false,
        ),
        (
            r#"{"Event":{"System":{"Channel":"Security","EventID":4624},"UserData":{"B":{"Param1":"evilvalue"},"A":{"Param1":"other"},"A":[1]}}}"#.to_string(),
            true,
        ),
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    let raw: Vec<Vec<u8>> = lines.iter().map(|(l, _)| l.clone().into_bytes()).collect();
    let hits = same_lines(&mut engine, dir.path(), "targeted", &raw);
    for ((line, must_hit), n) in lines.iter().zip(&hits) {
        assert_eq!(*must_hit, *n > 0, "{line}");
    }
}

fn source_lines(shared: &std::path::Path) -> Vec<Value> {
    let mut lines = Vec::new();
    let reg = shared.join("corpus/regression/events");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&reg)
        .expect("events folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("event file");
        lines.extend(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(String::from),
        );
    }
    for name in ["windows-sample.jsonl", "windows-sample-flat.jsonl"] {
        let text = std::fs::read_to_string(shared.join("bench").join(name)).expect("bench file");
        lines.extend(text.lines().step_by(40).map(String::from));
    }
    lines
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn generated_lines_against_the_corpus() {
    let Some(shared) = shared() else {
        return;
    };
    let mut engine = corpus_engine(&shared);
    let sources = source_lines(&shared);
    assert!(sources.len() > 600, "{} source events", sources.len());
    let dir = tempfile::tempdir().expect("temp dir");
    // A fixed seed; `SIGIL_ADVERSARIAL_SEED` tries others.
    let seed = std::env::var("SIGIL_ADVERSARIAL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5151_6e61_6c21);
    let mut rng = Rng(seed);
    let mut total = 0;
    let mut ranged_total = 0;
    // Files of re-encodings, so a failure names a smaller batch.
    for round in 0..5 {
        let lines: Vec<Vec<u8>> = sources
            .iter()
            .map(|v| generated_line(v, &mut rng))
            .collect();
        let path = dir.path().join(format!("generated-{round}.jsonl"));
        let mut data = Vec::new();
        for l in &lines {
            data.extend_from_slice(l);
            data.push(b'\n');
        }
        std::fs::write(&path, &data).expect("write");
        if std::env::var_os("SIGIL_KEEP_GENERATED").is_some() {
            let keep = std::env::temp_dir().join(format!("sigil-generated-{round}.jsonl"));
            std::fs::write(&keep, &data).expect("write");
            eprintln!("generated lines kept in {}", keep.display());
        }
        total += same(&mut engine, &path);
        // With a time range (no line is left unparsed, and events out of
        // range are skipped) and with whole events (no sparse parse).
        let ranged = sigma_hunt::ScanOptions {
            from: Some("2018-01-01".into()),
            to: Some("2022-06-30".into()),
            ..default_opts()
        };
        ranged_total += same_opts(&mut engine, &path, &ranged);
        let full = sigma_hunt::ScanOptions {
            full: true,
            ..default_opts()
        };
        same_opts(&mut engine, &path, &full);
    }
    // Most re-encodings keep their events matchable.
    assert!(total > 1000, "{total} hits on the generated lines");
    assert!(
        ranged_total > 0 && ranged_total < total,
        "{ranged_total} of {total} hits in the time range"
    );
    eprintln!("{total} hits, {ranged_total} in the time range");
}
