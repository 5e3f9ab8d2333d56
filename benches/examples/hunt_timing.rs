//! Times the phases of a hunt (rule loading, engine build, scan) for
//! profiling: `cargo run --release -p sigil-benches --example hunt_timing -- RULES FILE`.

use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rules: Vec<PathBuf> = args.iter().take(1).map(PathBuf::from).collect();
    let logs: Vec<PathBuf> = args.iter().skip(1).map(PathBuf::from).collect();
    let t = Instant::now();
    let set = sigma_hunt::load_rules(&rules);
    let t_load = t.elapsed();
    let t = Instant::now();
    let engine = sigma_hunt::Engine::build(&set, sigma_hunt::EngineOptions::default());
    let t_build = t.elapsed();
    eprintln!("{:?}", engine.plan_stats());
    let mut engine = engine;
    if std::env::var_os("NO_PREFILTER").is_some() {
        engine.set_prefilter(false);
    }
    for l in &logs {
        if let Ok(data) = std::fs::read(l) {
            if std::env::var_os("NEEDLES").is_some() {
                let counts = engine.debug_needle_counts(&data);
                let total: usize = counts.iter().map(|c| c.1).sum();
                eprintln!("{total} needle matches; most frequent:");
                for (n, c) in counts.iter().take(40) {
                    eprintln!("  {c:>8} {n}");
                }
            }
            let repeat: usize = std::env::var("REPEAT")
                .ok()
                .and_then(|r| r.parse().ok())
                .unwrap_or(1);
            for _ in 0..repeat * usize::from(std::env::var_os("NO_DECISIONS").is_none()) {
                let t = Instant::now();
                let d = decisions(&engine, &data);
                eprintln!(
                    "decisions exact/candidates/nothing {d:?} in {:?}",
                    t.elapsed()
                );
            }
        }
    }
    // SCAN_REPEAT=N scans N times (the last is reported) and THREADS=N
    // sets the scan threads: `SCAN_REPEAT=20 THREADS=1` under `perf` shows
    // the steady state of one scan worker.
    let env_num = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(d)
    };
    let options = sigma_hunt::ScanOptions {
        threads: env_num("THREADS", 0),
        ..Default::default()
    };
    let mut t_scan = Default::default();
    let mut stats = Default::default();
    for _ in 0..env_num("SCAN_REPEAT", 1).max(1) {
        let t = Instant::now();
        let mut sink = sigma_hunt::Collect::default();
        stats = sigma_hunt::scan_paths(&engine, &logs, &options, &mut sink);
        t_scan = t.elapsed();
        eprintln!("scan {t_scan:?}");
    }
    let stats: sigma_hunt::ScanStats = stats;
    println!(
        "load {:?} build {:?} scan {:?}: {} rules, {} events, {} hits",
        t_load,
        t_build,
        t_scan,
        engine.rules().len(),
        stats.events_read,
        stats.hits
    );
    let t = Instant::now();
    drop(engine);
    drop(set);
    eprintln!("dropping the engine and rule set: {:?}", t.elapsed());
}

/// Prefilter decisions over a file, for tuning.
#[allow(dead_code)]
#[inline(never)]
pub fn decisions(engine: &sigma_hunt::Engine, data: &[u8]) -> [usize; 3] {
    let mut scratch = sigma_hunt::Scratch::default();
    let mut n = [0usize; 3];
    for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        match engine.prefilter(line, &mut scratch) {
            sigma_hunt::prefilter::LineCheck::Exact => n[0] += 1,
            sigma_hunt::prefilter::LineCheck::Candidates => {
                n[1] += 1;
                if std::env::var_os("EXPLAIN").is_some() {
                    for (r, needles) in engine.debug_candidates(&scratch) {
                        let title = engine
                            .rules()
                            .get(r as usize)
                            .map_or("", |x| x.rule.title.as_str());
                        println!("{title}\t{needles}");
                    }
                }
            }
            sigma_hunt::prefilter::LineCheck::Nothing => n[2] += 1,
        }
    }
    n
}

/// The allocator `sigil` uses (see sigma-cli's `main.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
