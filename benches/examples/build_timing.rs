//! Times `Engine::build` alone (wall and CPU time of the whole process,
//! all threads) over a rule folder, loading the rules once:
//! `cargo run --release -p sigil-benches --example build_timing -- RULES [RUNS]`.

use std::path::PathBuf;
use std::time::Instant;

/// CPU time of every thread of this process so far, in nanoseconds
/// (Linux `schedstat`; 0 elsewhere).
fn cpu_ns() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.filter_map(|t| t.ok())
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rules: Vec<PathBuf> = args.iter().take(1).map(PathBuf::from).collect();
    let runs: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    let set = sigma_hunt::load_rules(&rules);
    let mut walls = Vec::new();
    let mut cpus = Vec::new();
    for _ in 0..runs {
        let c = cpu_ns();
        let t = Instant::now();
        let engine = sigma_hunt::Engine::build(&set, sigma_hunt::EngineOptions::default());
        walls.push(t.elapsed().as_secs_f64() * 1e3);
        cpus.push((cpu_ns() - c) as f64 / 1e6);
        std::hint::black_box(&engine);
        drop(engine);
    }
    walls.sort_by(f64::total_cmp);
    cpus.sort_by(f64::total_cmp);
    let med = |v: &[f64]| v.get(v.len() / 2).copied().unwrap_or(0.0);
    println!(
        "build: wall median {:.1} ms (min {:.1}), cpu median {:.1} ms (min {:.1}) over {runs} runs",
        med(&walls),
        walls.first().copied().unwrap_or(0.0),
        med(&cpus),
        cpus.first().copied().unwrap_or(0.0),
    );
}
