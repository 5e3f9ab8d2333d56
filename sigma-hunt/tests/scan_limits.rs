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
    assert!(sink.errors[0]
        .message
        .contains("invalid --from time '2024-99-99'"));
}

#[test]
fn lines_over_the_limit_are_reported_skipped_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let padding = "x".repeat(300_000);
    let long = event(None, &format!("{padding}.exe"));
    let short_long = event(None, &format!("{}.exe", "z".repeat(2000)));
    let text = [
        event(None, "1.exe"),
        long.clone(),
        event(None, "3.exe"),
        // Over a 1000-byte limit, but whole inside one chunk read.
        short_long,
        event(None, "5.exe"),
        // At the end, without a newline.
        long,
    ]
    .join("\n");
    let path = write(dir.path(), "long.jsonl", text.as_bytes());
    let gz = dir.path().join("long.jsonl.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).expect("create"),
        flate2::Compression::fast(),
    );
    std::io::Write::write_all(&mut enc, text.as_bytes()).expect("gzip");
    enc.finish().expect("gzip");
    for file in [&path, &gz] {
        for (threads, chunk_size) in [(1, 4096), (2, 1 << 20)] {
            let opts = ScanOptions {
                threads,
                chunk_size,
                max_line: 1000,
                ..ScanOptions::default()
            };
            let (sink, stats) = scan(file, &opts);
            assert_eq!(hit_lines(&sink), vec![1, 3, 5], "{}", file.display());
            assert_eq!(stats.events_read, 6);
            assert_eq!(stats.events_evaluated, 3);
            assert_eq!(stats.skipped.get(reason::TOO_LONG), Some(&3));
            assert_eq!(stats.errors, 3);
            let errors: Vec<(Option<u64>, &str)> = sink
                .errors
                .iter()
                .map(|e| (e.source.line, e.message.as_str()))
                .collect();
            assert_eq!(
                errors.iter().map(|e| e.0).collect::<Vec<_>>(),
                vec![Some(2), Some(4), Some(6)]
            );
            for (_, m) in &errors {
                assert!(m.starts_with("line too long: "), "{m}");
                assert!(m.contains("over the limit of 1000 bytes"), "{m}");
            }
            // The exact length is reported, whichever path skipped it.
            let len = (padding.len() + event(None, ".exe").len()).to_string();
            assert!(
                errors[0].1.contains(&format!(": {len} bytes")),
                "{errors:?}"
            );
            assert!(
                errors[2].1.contains(&format!(": {len} bytes")),
                "{errors:?}"
            );
        }
    }
    // The default limit reads the same lines whole.
    let (sink, stats) = scan(&path, &ScanOptions::default());
    assert_eq!(hit_lines(&sink), vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(stats.errors, 0);
}

#[test]
fn array_elements_over_the_limit_name_their_element() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!(
        "[\n{},\n{},\n{}\n]\n",
        event(None, "a.exe"),
        event(None, &format!("{}.exe", "x".repeat(100_000))),
        event(None, "c.exe"),
    );
    let path = write(dir.path(), "arr.json", text.as_bytes());
    let opts = ScanOptions {
        max_line: 1000,
        ..ScanOptions::default()
    };
    let (sink, stats) = scan(&path, &opts);
    let elements: Vec<u64> = sink.hits.iter().filter_map(|h| h.source.element).collect();
    assert_eq!(elements, vec![0, 2]);
    assert_eq!(stats.skipped.get(reason::TOO_LONG), Some(&1));
    assert_eq!(sink.errors.len(), 1);
    assert_eq!(sink.errors[0].source.element, Some(1));
    assert!(sink.errors[0].message.starts_with("element too long"));
}

#[test]
fn a_single_document_over_the_limit_is_reported_and_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pretty = serde_json::to_string_pretty(&serde_json::json!({
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "EventID": 1,
        "Image": format!("{}.exe", "x".repeat(5000)),
    }))
    .expect("json");
    let path = write(dir.path(), "one.json", pretty.as_bytes());
    let (sink, stats) = scan(&path, &ScanOptions::default());
    assert_eq!(sink.hits.len(), 1);
    assert_eq!(stats.errors, 0);
    let opts = ScanOptions {
        max_document: 1000,
        ..ScanOptions::default()
    };
    let (sink, stats) = scan(&path, &opts);
    assert!(sink.hits.is_empty());
    assert_eq!((stats.events_read, stats.errors), (1, 1));
    assert_eq!(stats.skipped.get(reason::TOO_LARGE), Some(&1));
    assert_eq!(sink.errors[0].source.line, Some(1));
    assert!(
        sink.errors[0]
            .message
            .contains("over the limit of 1000 bytes"),
        "{}",
        sink.errors[0].message
    );
}

fn evtx_fixture() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/hunt/evtx/e3c6d245-7b8f-4e2a-c17f-a9d0e5b38f62.evtx.gz"
    ))
}

#[test]
fn compressed_evtx_over_the_limit_is_an_error_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gz = evtx_fixture();
    let next = write(dir.path(), "after.jsonl", event(None, "a.exe").as_bytes());
    let set = sigma_hunt::load_rules(&[PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../rules/windows"
    ))]);
    let engine = Engine::build(&set, EngineOptions::default());
    let run = |max_evtx: u64| {
        let opts = ScanOptions {
            max_evtx,
            ..ScanOptions::default()
        };
        let mut sink = Collect::default();
        let stats = scan_paths(&engine, &[gz.clone(), next.clone()], &opts, &mut sink);
        assert_eq!(
            stats.events_read,
            stats.events_evaluated + stats.skipped_total()
        );
        (sink, stats)
    };
    // Under the default limit: read through the temporary file.
    let (sink, stats) = run(sigma_hunt::input::MAX_EVTX_BYTES);
    assert_eq!(stats.errors, 0, "{:?}", sink.errors);
    assert!(stats.events_read >= 1);
    assert!(sink.hits.iter().any(|h| h.source.record_id.is_some()));
    // Over a small limit: one error naming the file, nothing read from it,
    // and the next file is still scanned.
    let (sink, stats) = run(10_000);
    assert_eq!(stats.errors, 1, "{:?}", sink.errors);
    assert_eq!(stats.files, 2);
    assert_eq!(sink.errors[0].source.file.as_ref(), gz.as_path());
    assert!(
        sink.errors[0]
            .message
            .contains("decompresses to more than 10000 bytes"),
        "{}",
        sink.errors[0].message
    );
    assert!(sink.hits.iter().all(|h| h.source.record_id.is_none()));
    assert_eq!(stats.events_read, 1);
}

/// A `.json` file of JSON lines whose first event is longer than any
/// fixed peek (here 1.5 MiB; the peek was 1 MiB) is still read as JSON
/// lines: every event is evaluated, none is lost to the single-document
/// path.
#[test]
fn json_lines_with_a_long_first_line_are_read_as_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let long = format!("C:\\{}.exe", "a".repeat(1_500_000));
    let text = [
        event(None, &long),
        event(None, "b.exe"),
        event(None, "c.exe"),
    ]
    .join("\n")
        + "\n";
    let path = write(dir.path(), "long-first.json", text.as_bytes());
    // The file is over the single-document limit: taken for one pretty
    // object, it would be skipped whole.
    let opts = ScanOptions {
        max_document: 1_000_000,
        ..ScanOptions::default()
    };
    let (sink, stats) = scan(&path, &opts);
    assert_eq!(stats.events_read, 3, "{stats:?}");
    assert_eq!(stats.events_evaluated, 3, "{stats:?}");
    assert_eq!(hit_lines(&sink), vec![1, 2, 3]);
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);
}

/// A compressed EVTX cut so short that the parser cannot start: the input
/// error still says why (the gzip read error and the truncation), not only
/// that the parser failed.
#[test]
fn an_evtx_too_short_to_parse_reports_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bytes = std::fs::read(evtx_fixture()).expect("fixture");
    let path = write(
        dir.path(),
        "cut.evtx.gz",
        bytes.get(..120).expect("long enough"),
    );
    let (sink, stats) = scan(&path, &ScanOptions::default());
    assert_eq!(stats.events_read, 0, "{stats:?}");
    assert_eq!(sink.errors.len(), 1, "{:?}", sink.errors);
    let message = &sink.errors[0].message;
    for part in [
        "read error",
        "not a readable EVTX file",
        "truncated EVTX file",
    ] {
        assert!(message.contains(part), "{part}: {message}");
    }
}
