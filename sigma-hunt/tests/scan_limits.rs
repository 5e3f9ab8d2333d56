//! The scanner's handling of time windows, oversized lines and documents,
//! and oversized compressed EVTX: bad input is counted, reported with its
//! place, and the scan goes on; `events read = evaluated + skipped`.

use std::path::{Path, PathBuf};

use sigma_hunt::scan::reason;
use sigma_hunt::{scan_paths, Collect, Engine, EngineOptions, ScanOptions, ScanStats};

/// One rule matching every Sysmon EventID 1 event.
fn engine() -> Engine {
    let set = sigma_core::parse_str(
        "title: Any process\nid: 11111111-1111-1111-1111-111111111111\nlogsource: {category: process_creation, product: windows}\ndetection:\n    s: {Image|endswith: '.exe'}\n    condition: s\nlevel: low\n",
        None,
    );
    let engine = Engine::build(&set, EngineOptions::default());
    assert_eq!(engine.rules().len(), 1);
    engine
}

fn event(time: Option<&str>, image: &str) -> String {
    let mut v = serde_json::json!({
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "EventID": 1,
        "Image": image,
    });
    if let Some(t) = time {
        v["TimeCreated"] = t.into();
    }
    v.to_string()
}

fn scan(path: &Path, opts: &ScanOptions) -> (Collect, ScanStats) {
    let mut sink = Collect::default();
    let stats = scan_paths(&engine(), &[path.to_path_buf()], opts, &mut sink);
    assert_eq!(
        stats.events_read,
        stats.events_evaluated + stats.skipped_total(),
        "{stats:?}"
    );
    (sink, stats)
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).expect("write");
    p
}

fn hit_lines(sink: &Collect) -> Vec<u64> {
    sink.hits.iter().filter_map(|h| h.source.line).collect()
}

#[test]
fn from_and_to_compare_instants_not_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lines = [
        // 16 July 20:00 UTC, written in +05:00.
        event(Some("2026-07-17T01:00:00+05:00"), "a.exe"),
        // 17 July 02:00 UTC, written in -03:00 on the 16th.
        event(Some("2026-07-16T23:00:00-03:00"), "b.exe"),
        event(Some("2026-07-16 12:00:00"), "c.exe"),
        event(Some("2026-07-17T00:00:00Z"), "d.exe"),
        event(None, "e.exe"),
        event(Some("not a time"), "f.exe"),
    ];
    let path = write(dir.path(), "t.jsonl", lines.join("\n").as_bytes());
    let with = |from: Option<&str>, to: Option<&str>| {
        let opts = ScanOptions {
            from: from.map(String::from),
            to: to.map(String::from),
            ..ScanOptions::default()
        };
        scan(&path, &opts)
    };
    // --from 2026-07-17: lines 2 and 4 (17 July UTC); line 1 is the 16th.
    let (sink, stats) = with(Some("2026-07-17"), None);
    assert_eq!(hit_lines(&sink), vec![2, 4]);
    assert_eq!(stats.skipped.get(reason::OUT_OF_RANGE), Some(&2));
    assert_eq!(stats.skipped.get(reason::NO_TIME), Some(&1));
    assert_eq!(stats.skipped.get(reason::BAD_TIME), Some(&1));
    // --to 2026-07-16 keeps the whole 16th UTC: lines 1 and 3.
    let (sink, _) = with(None, Some("2026-07-16"));
    assert_eq!(hit_lines(&sink), vec![1, 3]);
    // A bound with an offset: 17 July 01:00 +05:00 is 16 July 20:00 UTC.
    let (sink, _) = with(Some("2026-07-17T01:00:00+05:00"), Some("2026-07-17T00:00Z"));
    assert_eq!(hit_lines(&sink), vec![1, 4]);
    // No bounds: everything is evaluated, whatever its timestamp.
    let (sink, stats) = with(None, None);
    assert_eq!(hit_lines(&sink), vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(stats.skipped_total(), 0);
}

#[test]
fn a_bad_bound_is_one_error_and_nothing_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "t.jsonl", event(None, "a.exe").as_bytes());
    let opts = ScanOptions {
        from: Some("2024-99-99".into()),
        ..ScanOptions::default()
    };
    let (sink, stats) = scan(&path, &opts);
    assert_eq!(stats.errors, 1);
    assert_eq!(stats.events_read, 0);
    assert!(sink.errors[0].message.contains("invalid --from time '2024-99-99'"));
}
