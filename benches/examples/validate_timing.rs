//! Validates every line of a JSON lines file with `valid_object` (the
//! hand-written validator) or `valid_object_serde` (serde_json's
//! deserializer), for instruction counts under callgrind:
//! `cargo run --release -p sigil-benches --example validate_timing -- FILE [new|serde] [REPEAT]`.

use std::time::Instant;

use sigma_hunt::prefilter::{valid_object, valid_object_serde};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(file) = args.first() else {
        eprintln!("usage: validate_timing FILE [new|serde] [REPEAT]");
        std::process::exit(2);
    };
    let data = std::fs::read(file).expect("input file");
    let serde = args.get(1).map(String::as_str) == Some("serde");
    let repeat: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(1);
    let f: fn(&[u8]) -> bool = if serde {
        valid_object_serde
    } else {
        valid_object
    };
    // Lines are cut once, outside the measured loop.
    let lines: Vec<&[u8]> = data
        .split(|&b| b == b'\n')
        .map(<[u8]>::trim_ascii)
        .filter(|l| !l.is_empty())
        .collect();
    let t = Instant::now();
    let mut valid = 0usize;
    for _ in 0..repeat {
        for &l in &lines {
            valid += usize::from(f(std::hint::black_box(l)));
        }
    }
    let s = t.elapsed().as_secs_f64();
    let mb = (data.len() * repeat) as f64 / 1e6;
    eprintln!(
        "{}: {valid} valid lines, {mb:.1} MB in {s:.3} s: {:.0} MB/s",
        if serde { "serde" } else { "new" },
        mb / s
    );
}
