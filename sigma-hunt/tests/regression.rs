//! The SigmaHQ regression corpus: every case's rule must fire on its event
//! file, in the nested layout as shipped, converted to the flat layout,
//! gzip- and zstd-compressed, and from the original `.evtx`.
//!
//! Needs `../shared` (or `SIGIL_SHARED`); skips with a message otherwise.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use sigma_hunt::{scan_paths, Collect, Engine, EngineOptions, ScanOptions};

fn shared() -> Option<PathBuf> {
    let p = std::env::var("SIGIL_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared")));
    if p.join("corpus/regression/cases.jsonl").exists() {
        Some(p)
    } else {
        eprintln!(
            "SKIPPED: {} not found (set SIGIL_SHARED to the shared data folder)",
            p.display()
        );
        None
    }
}

struct Case {
    rule: PathBuf,
    id: String,
    events: PathBuf,
    evtx: PathBuf,
}

fn cases(shared: &Path) -> Vec<Case> {
    let reg = shared.join("corpus/regression");
    let text = std::fs::read_to_string(reg.join("cases.jsonl")).expect("cases.jsonl");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("case json");
            let s = |k: &str| v[k].as_str().expect(k).to_string();
            Case {
                rule: shared.join("corpus/sigma").join(s("rule_path")),
                id: s("rule_id"),
                events: reg.join(s("event_file")),
                evtx: reg.join(s("evtx_file")),
            }
        })
        .collect()
}

/// The flat layout as shippers write it: System fields and attributes at
/// the top level (`Provider_Name`, `ExecutionProcessID`, `UserID`,
/// `TimeCreated`), then EventData.
fn flatten(v: &Value) -> Value {
    let mut out = Map::new();
    let sys = &v["Event"]["System"];
    if let Some(sys) = sys.as_object() {
        for (k, val) in sys {
            match val {
                Value::Object(o) => {
                    if let Some(t) = o.get("#text") {
                        out.insert(k.clone(), t.clone());
                    }
                    if let Some(Value::Object(attrs)) = o.get("#attributes") {
                        for (a, av) in attrs {
                            let name = match (k.as_str(), a.as_str()) {
                                ("TimeCreated", "SystemTime") => "TimeCreated".to_string(),
                                ("Execution", _) => format!("Execution{a}"),
                                ("Security", "UserID") => "UserID".to_string(),
                                _ => format!("{k}_{a}"),
                            };
                            out.insert(name, av.clone());
                        }
                    }
                }
                other => {
                    out.insert(k.clone(), other.clone());
                }
            }
        }
    }
    for part in ["EventData", "UserData"] {
        if let Some(data) = v["Event"][part].as_object() {
            for (k, val) in data {
                match val {
                    Value::Object(inner) if part == "UserData" => {
                        for (ik, iv) in inner {
                            out.insert(ik.clone(), iv.clone());
                        }
                    }
                    _ => {
                        out.insert(k.clone(), val.clone());
                    }
                }
            }
        }
    }
    Value::Object(out)
}

fn hits_for(engine: &Engine, file: &Path) -> (Vec<String>, usize) {
    let mut sink = Collect::default();
    let opts = ScanOptions {
        threads: 1,
        ..ScanOptions::default()
    };
    scan_paths(engine, &[file.to_path_buf()], &opts, &mut sink);
    let ids = sink
        .hits
        .iter()
        .filter_map(|h| engine.rules().get(h.rule as usize))
        .map(|r| r.rule.id.clone())
        .collect();
    (ids, sink.errors.len())
}

#[test]
fn regression_corpus_all_layouts() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let all = cases(&shared);
    let mut detected = [0usize; 5];
    let mut failures = Vec::new();
    for (i, c) in all.iter().enumerate() {
        let set = sigma_core::load_paths(&[&c.rule]);
        let engine = Engine::build(&set, EngineOptions::default());
        let text = std::fs::read_to_string(&c.events).expect("events");
        let flat: String = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v: Value = serde_json::from_str(l).expect("event json");
                format!("{}\n", flatten(&v))
            })
            .collect();
        let flat_path = dir.path().join(format!("{i}.flat.jsonl"));
        std::fs::write(&flat_path, flat).expect("write");
        let gz_path = dir.path().join(format!("{i}.jsonl.gz"));
        let mut gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&gz_path).expect("create"),
            flate2::Compression::fast(),
        );
        gz.write_all(text.as_bytes()).expect("gz");
        gz.finish().expect("gz");
        let zst_path = dir.path().join(format!("{i}.jsonl.zst"));
        std::fs::write(
            &zst_path,
            zstd::encode_all(text.as_bytes(), 1).expect("zstd"),
        )
        .expect("w");
        let inputs = [&c.events, &flat_path, &gz_path, &zst_path, &c.evtx];
        for (k, input) in inputs.iter().enumerate() {
            let (ids, errors) = hits_for(&engine, input);
            assert_eq!(errors, 0, "input errors for {}", input.display());
            if ids.contains(&c.id) {
                detected[k] += 1;
            } else {
                failures.push(format!("{} on {}", c.rule.display(), input.display()));
            }
        }
    }
    println!(
        "regression cases detected out of {}: nested {}, flat {}, gzip {}, zstd {}, evtx {}",
        all.len(),
        detected[0],
        detected[1],
        detected[2],
        detected[3],
        detected[4]
    );
    assert!(failures.is_empty(), "missed:\n{}", failures.join("\n"));
}

/// The bench files hold the same 16,801 events in the nested and the flat
/// layout: the corpus `rules/windows` folder must find the same hits (same
/// rule, same line) in both.
#[test]
fn nested_and_flat_bench_files_give_the_same_hits() {
    let Some(shared) = shared() else { return };
    let set = sigma_hunt::load_rules(&[shared.join("corpus/sigma/rules/windows")]);
    let engine = Engine::build(&set, EngineOptions::default());
    let run = |name: &str| {
        let mut sink = Collect::default();
        let stats = scan_paths(
            &engine,
            &[shared.join("bench").join(name)],
            &ScanOptions::default(),
            &mut sink,
        );
        assert_eq!(stats.events_read, 16_801);
        assert_eq!(stats.events_evaluated, 16_801);
        assert!(sink.errors.is_empty(), "{:?}", sink.errors.first());
        let mut hits: Vec<(u32, u64)> = sink
            .hits
            .iter()
            .map(|h| (h.rule, h.source.line.unwrap_or(0)))
            .collect();
        hits.sort_unstable();
        hits
    };
    let nested = run("windows-sample.jsonl");
    let flat = run("windows-sample-flat.jsonl");
    println!("bench hits: nested {}, flat {}", nested.len(), flat.len());
    assert!(nested.len() > 5000);
    assert_eq!(nested, flat);
}
