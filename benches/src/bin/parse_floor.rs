//! The parse floor: read a JSON-lines file and parse every line into a
//! `serde_json::Value` on one thread, as a whole process. `sigil hunt` is
//! measured against this in `scripts/bench.sh`.
//!
//! Usage: `parse_floor FILE` — prints bytes, events and seconds.

use std::io::{BufRead, BufReader};
use std::time::Instant;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: parse_floor FILE.jsonl");
        std::process::exit(2);
    };
    let start = Instant::now();
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("cannot open {path}: {e}");
            std::process::exit(1);
        }
    };
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::new();
    let (mut bytes, mut events, mut objects) = (0u64, 0u64, 0u64);
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(n) => bytes += n as u64,
            Err(e) => {
                eprintln!("read error: {e}");
                std::process::exit(1);
            }
        }
        events += 1;
        if let Ok(serde_json::Value::Object(_)) = serde_json::from_slice::<serde_json::Value>(&line)
        {
            objects += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "parse_floor: {bytes} bytes, {events} lines ({objects} objects) in {secs:.3}s: {:.1} MB/s, {:.0} events/s",
        bytes as f64 / 1e6 / secs,
        events as f64 / secs
    );
}
