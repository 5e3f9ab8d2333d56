//! Writes the loaded `RuleSet` of the given paths as JSON (for comparing
//! loader versions): `dump_ruleset OUT.json PATH...`.
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((out, paths)) = args.split_first() else {
        eprintln!("usage: dump_ruleset OUT.json PATH...");
        std::process::exit(2);
    };
    let set = sigma_core::load_paths(paths);
    let json = serde_json::to_string_pretty(&set).expect("serialize");
    std::fs::write(out, json).expect("write");
}
