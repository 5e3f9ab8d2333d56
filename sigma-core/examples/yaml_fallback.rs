//! Debugging aid: the first top-level entry at which the fast YAML reader
//! gives up on a file (so that it falls back to serde-saphyr):
//! `cargo run --release -p sigma-core --example yaml_fallback -- FILE...`.
fn main() {
    for a in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&a).unwrap();
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let mut prefix = String::new();
        for (n, l) in lines.iter().enumerate() {
            prefix.push_str(l);
            let next_top = lines
                .get(n + 1)
                .is_none_or(|x| !x.starts_with(' ') && !x.starts_with('-'));
            if next_top && sigma_core::yaml::parse_documents_fast(&prefix).is_none() {
                println!("{a}:{}: {}", n + 1, l.trim_end());
                break;
            }
        }
    }
}
