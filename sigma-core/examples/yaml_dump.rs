//! Dumps the YamlNode tree of a file in a compact form (debugging aid).
use sigma_core::yaml::{YamlNode, YamlValue};
fn dump(n: &YamlNode, ind: usize) {
    let pad = " ".repeat(ind);
    let l = format!("@{}:{} {:?}", n.location.line, n.location.column, n.span);
    match &n.value {
        YamlValue::Map(m) => {
            println!("{pad}MAP {l}");
            for (k, v) in m {
                dump(k, ind + 2);
                dump(v, ind + 4);
            }
        }
        YamlValue::Seq(s) => {
            println!("{pad}SEQ {l}");
            for v in s {
                dump(v, ind + 2);
            }
        }
        v => println!("{pad}{v:?} {l}"),
    }
}
fn main() {
    for a in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&a).unwrap();
        match sigma_core::yaml::parse_documents(&text) {
            Ok(docs) => docs.iter().for_each(|d| dump(d, 0)),
            Err(e) => println!("ERR {e:?}"),
        }
    }
}
