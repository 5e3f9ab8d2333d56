//! `prefilter::valid_object` (the hand-written validator with its
//! serde_json fallback) against `serde_json::from_slice::<Value>` on every
//! line of both bench files and of the regression events, raw and trimmed
//! as the scanner trims them. Needs `../shared` (or `SIGIL_SHARED`) and
//! skips with a message otherwise; the unit tests of `validate` run
//! everywhere.

use serde_json::Value;
use sigma_hunt::prefilter::{valid_object, valid_object_serde};

mod common;
use common::shared;

fn agree(data: &[u8], what: &str) -> (usize, usize) {
    let (mut lines, mut objects) = (0, 0);
    for raw in data.split(|&b| b == b'\n') {
        for l in [raw, raw.trim_ascii()] {
            let want = l.first() == Some(&b'{')
                && matches!(serde_json::from_slice::<Value>(l), Ok(Value::Object(_)));
            let show = || {
                String::from_utf8_lossy(l)
                    .chars()
                    .take(200)
                    .collect::<String>()
            };
            assert_eq!(valid_object(l), want, "{what}: {}", show());
            assert_eq!(valid_object_serde(l), want, "{what} (serde): {}", show());
            lines += 1;
            objects += usize::from(want);
        }
    }
    (lines, objects)
}

#[test]
fn bench_and_regression_lines() {
    let Some(shared) = shared() else { return };
    for name in ["windows-sample.jsonl", "windows-sample-flat.jsonl"] {
        let path = shared.join("bench").join(name);
        let data = std::fs::read(&path).expect("bench file");
        let (lines, objects) = agree(&data, name);
        eprintln!("{name}: {lines} lines, {objects} objects");
        assert!(objects > 30_000, "{name}: {objects} objects");
    }
    let events = shared.join("corpus/regression/events");
    let mut files = 0;
    for e in std::fs::read_dir(&events).expect("regression events") {
        let path = e.expect("entry").path();
        let data = std::fs::read(&path).expect("event file");
        agree(&data, &path.display().to_string());
        files += 1;
    }
    assert!(files > 100, "{files} regression event files");
}
