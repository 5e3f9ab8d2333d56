//! The fast YAML reader must give exactly what `serde-saphyr` gives: the
//! same trees (values, locations, spans) for every corpus file it reads, and
//! `None` (so that the reference reports the error) for everything else.

use std::path::{Path, PathBuf};

use sigma_core::yaml::{parse_documents_fast, parse_documents_reference};

mod common;
use common::shared;

/// Every `.yml`/`.yaml` file under `root`, sorted, as text (a leading BOM is
/// removed, as `load_file` does).
fn yaml_files(root: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
        let entry = entry.expect("walk");
        let p = entry.path();
        if entry.file_type().is_file()
            && matches!(p.extension().and_then(|x| x.to_str()), Some("yml" | "yaml"))
        {
            if let Ok(text) = std::fs::read_to_string(p) {
                let text = text.strip_prefix('\u{feff}').unwrap_or(&text).to_string();
                out.push((p.to_path_buf(), text));
            }
        }
    }
    out
}

/// Checks one text: when the fast reader answers, the reference must read
/// the text without error into the same documents. Returns whether the
/// fast reader answered.
fn same_as_reference(name: &str, text: &str) -> bool {
    let Some(fast) = parse_documents_fast(text) else {
        return false;
    };
    match parse_documents_reference(text) {
        // Debug output compares floats exactly (and NaN equal to itself).
        Ok(reference) => assert_eq!(
            format!("{fast:#?}"),
            format!("{reference:#?}"),
            "{name}: the fast reader differs from serde-saphyr"
        ),
        Err(e) => panic!("{name}: the fast reader accepted text serde-saphyr rejects: {e:?}"),
    }
    true
}

#[test]
fn whole_corpus_reads_the_same() {
    let Some(shared) = shared() else { return };
    let files = yaml_files(&shared.join("corpus/sigma"));
    let mut fast = 0;
    for (path, text) in &files {
        if same_as_reference(&path.display().to_string(), text) {
            fast += 1;
        } else {
            eprintln!("fallback: {}", path.display());
        }
    }
    eprintln!("fast path: {fast} of {} corpus files", files.len());
    assert_eq!(files.len(), 4039);
    // The others use multi-line plain scalars, a tab in a comment or a
    // whitespace-only line: the full parser reads them.
    assert_eq!(fast, 4030, "files read by the fast path");
}

#[test]
fn repository_rules_and_fixtures_read_the_same() {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let mut files = yaml_files(&root.join("rules"));
    files.extend(yaml_files(&root.join("fixtures")));
    let mut fast = 0;
    for (path, text) in &files {
        fast += usize::from(same_as_reference(&path.display().to_string(), text));
    }
    eprintln!("fast path: {fast} of {} repository files", files.len());
    assert!(fast > 0);
}

/// Small deterministic generator for the mutation test.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

/// Corpus files with one random edit (a YAML-significant character
/// inserted, a character deleted, a line re-indented): the fast reader
/// must either agree with serde-saphyr or leave the text to it.
#[test]
fn mutated_corpus_files_read_the_same_or_fall_back() {
    let Some(shared) = shared() else { return };
    let files = yaml_files(&shared.join("corpus/sigma/rules/windows/process_creation"));
    let inserts = [
        ":", ": ", "-", "- ", " ", "  ", "\n", "\n  ", "'", "\"", "#", " #", "|", ">", "[", "]",
        "{", "&a ", "*a", "!", "---\n", "...\n", "\t", "\\", "''", "\"\\", "0", ".5", "~",
    ];
    let mut rng = Lcg(0x5eed);
    let (mut fast, mut total) = (0, 0);
    for (path, text) in files.iter().take(400) {
        for _ in 0..12 {
            let mut t = text.clone();
            let mut at = rng.next(t.len());
            while !t.is_char_boundary(at) {
                at -= 1;
            }
            match rng.next(3) {
                0 => t.insert_str(at, inserts[rng.next(inserts.len())]),
                1 => {
                    if let Some(c) = t[at..].chars().next() {
                        t.replace_range(at..at + c.len_utf8(), "");
                    }
                }
                _ => {
                    let line_start = t[..at].rfind('\n').map_or(0, |p| p + 1);
                    t.insert_str(line_start, &" ".repeat(1 + rng.next(4)));
                }
            }
            total += 1;
            let name = format!("{} (mutated at {at})", path.display());
            fast += usize::from(same_as_reference(&name, &t));
        }
    }
    eprintln!("mutations: {fast} of {total} read by the fast path, all identical");
}

#[test]
fn edge_cases_read_the_same_or_fall_back() {
    let cases = [
        "a: 1\n",
        "a:\n",
        "a:    # c\nb: 2\n",
        "a:\n- x\n- 'y'\nb: 1\n",
        "a:\n  - x\n  -\n",
        "a:\n- k: v\n  k2: v2\n- k3: v3\n",
        "a:\n    - k: v\n      l:\n        - 1\n    - x\n",
        "d: >-\n    hello\n\n    world\n\n\ne: 1\n",
        "e: |-\n    l1\n\n    l2\n\n",
        "k: |\n    trail\n\n\nl: x\n",
        "m: |\n  end",
        "m: |\n  end\n",
        "m: >\n  a\n    b\n  c\n",
        "m: |\n  a\n    b\n  # not a comment\n# a comment\nn: 1\n",
        "m: |\n  a\n   \n  b\n",
        "m: |+\n  a\n\n",
        "m: |2\n   a\n",
        "m: |\n\n  a\n",
        "a: [a, 'b', \"c\", 1, 1.5, ]\nb: []\n",
        "a: [a, , b]\n",
        "a: [ä, b]\ni: ä\n",
        "f: {k: v}\n",
        "'q''s': 'it''s'\n\"d\": \"a\\tb\\\\c\\\"d\\u00e9\\x41\"\n",
        "a: \"bad \\q escape\"\n",
        "a: 'multi\n  line'\n",
        "a: plain\n  continued\n",
        "a: b: c\n",
        "a: b:\n",
        "a: 1\na: 2\n",
        "a: 1\n'a': 2\n",
        "1: a\n01: b\n",
        "y: 1\n",
        "a: [0, 00, 007, -1, +1, 1.5, 0x1F, 1e3, 1_000, 99999999999999999999]\n",
        "a: [9223372036854775808, y, Yes, NULL, ~, 2023-01-01, 2023/01/01, 1.2.3]\n",
        "a: .inf\n",
        "a: .nan\n",
        "a: -.5\n",
        "a: 0o17\n",
        "a: 12:30:00\n",
        "a: 1\n---\n# c\nb: 2\n...\n",
        "---\na: 1\n---\n---\nb: 2\n---\n",
        "--- \na: 1\n",
        "a: 1\n --- \n",
        "%YAML 1.2\n---\na: 1\n",
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "- a\n- b\n",
        "plain\n",
        "  a: 1\n  b: 2\n",
        "a:\n  b: 1\n c: 2\n",
        "a:\n  b: 1\n   c: 2\n",
        "a:\n  - 1\n   - 2\n",
        "a:\n  - 1\n  b: 2\n",
        "a: 1 # c\nb: 'x' # c\nc: \"y\"#c\n",
        "a: x#y\nb: 'x'y\n",
        "a: 'x' y\n",
        "key : v\n",
        "? a\n: b\n",
        "a:\tb\n",
        "a: b\r\nc: d\r\n",
        "a: \u{85}b\n",
        "a: \u{feff}b\n",
        "a: b\u{2028}c\n",
        "-a: b\n",
        "a: -b\n",
        "a: - b\n",
        "a:\n  - - b\n",
        "a: |\n  x\n b: 1\n",
        "a: >\n  x\n\n  y\n",
        "a:\n  b:\n    c:\n      d: [x]\n",
        "a: @x\n",
        "a: `x\n",
        "a: %x\n",
        "a: x\n\n\n# tail\n",
        "",
        "# only a comment\n",
        "---\n",
    ];
    for (n, case) in cases.iter().enumerate() {
        same_as_reference(&format!("case {n}: {case:?}"), case);
    }
}

/// Large mappings check duplicate keys through a set: a duplicate far down
/// must still make the reader fall back (serde-saphyr reports it).
#[test]
fn duplicate_keys_in_large_mappings_fall_back() {
    let mut text: String = (0..40).map(|i| format!("key{i}: {i}\n")).collect();
    assert!(same_as_reference("40 keys", &text));
    text.push_str("key7: again\n");
    assert!(parse_documents_fast(&text).is_none());
    assert!(parse_documents_reference(&text).is_err());
    let quoted: String = (0..40).map(|i| format!("'k\\{i}': {i}\n")).collect();
    same_as_reference("40 quoted keys with backslashes", &quoted);
}
