//! Hostile values must stay inside their quoting: whatever a rule contains,
//! the rendered value is one string token of the target language.

use sigma_backends::Backend;

const HOSTILE: &[&str] = &[
    r#"x" OR 1=1 OR a=""#,
    r#"x\" OR evil"#,
    r#"trail\"#,
    r#"a) OR (b:c"#,
    "x | delete index=main",
    r#"\"\\\"#,
    "a` OR `b",
    "new\nline \" quote",
];

fn yaml_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn convert(target: &str, field: &str, modifier: &str, value: &str) -> String {
    try_convert(target, field, modifier, value).expect("valid rule")
}

/// `None` when sigma-core rejects the rule (e.g. an invalid regex).
fn try_convert(target: &str, field: &str, modifier: &str, value: &str) -> Option<String> {
    let text = format!(
        "title: Injection\nlogsource: {{product: windows}}\ndetection:\n    sel:\n        {field}{modifier}: {}\n    condition: sel\n",
        yaml_quote(value)
    );
    let set = sigma_core::parse_str(&text, None);
    if !set.errors.is_empty() {
        return None;
    }
    let backend = Backend::new(target, "default").expect("backend");
    let out = backend.convert_set(&set).expect("converts");
    backend.render(&out).ok()
}

/// Index just after the closing quote of the string starting at `start`
/// (which must be a `"`), honouring backslash escapes.
fn string_end(s: &str, start: usize) -> Option<usize> {
    let bytes = s.as_bytes();
    if bytes.get(start) != Some(&b'"') {
        return None;
    }
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

#[test]
fn quoted_targets_keep_values_in_one_string() {
    for value in HOSTILE {
        for (target, prefix) in [
            ("splunk", "CommandLine="),
            (
                "esql",
                "from * metadata _id, _index, _version | where CommandLine==",
            ),
            ("eql", "any where CommandLine:"),
        ] {
            let q = convert(target, "CommandLine", "", value);
            assert!(q.starts_with(prefix), "{target}: {q}");
            assert_eq!(
                string_end(&q, prefix.len()),
                Some(q.len()),
                "{target} broke out: {q}"
            );
        }
    }
}

#[test]
fn regexes_stay_in_their_string() {
    for value in HOSTILE {
        if try_convert("splunk", "CommandLine", "|re", value).is_none() {
            continue;
        }
        let q = convert("splunk", "CommandLine", "|re", value);
        let prefix = "*\n| regex CommandLine=";
        assert!(q.starts_with(prefix), "{q}");
        assert_eq!(
            string_end(&q, prefix.len()),
            Some(q.len()),
            "splunk regex broke out: {q}"
        );
        let q = convert("eql", "CommandLine", "|re", value);
        let prefix = "any where CommandLine regex~ ";
        assert_eq!(
            string_end(&q, prefix.len()),
            Some(q.len()),
            "eql regex broke out: {q}"
        );
        let q = convert("esql", "CommandLine", "|re", value);
        let prefix = "from * metadata _id, _index, _version | where CommandLine rlike ";
        assert_eq!(
            string_end(&q, prefix.len()),
            Some(q.len()),
            "esql regex broke out: {q}"
        );
        let q = convert("lucene", "CommandLine", "|re", value);
        let body = q
            .strip_prefix("CommandLine:/")
            .and_then(|b| b.strip_suffix('/'))
            .expect("lucene regex");
        let mut escaped = false;
        for c in body.chars() {
            assert!(escaped || c != '/', "lucene regex broke out: {q}");
            escaped = !escaped && c == '\\';
        }
    }
}

#[test]
fn lucene_values_escape_every_special_character() {
    for value in HOSTILE {
        let q = convert("lucene", "CommandLine", "", value);
        let body = q.strip_prefix("CommandLine:").expect("lucene field");
        if let Some(inner) = body.strip_prefix('"') {
            // A phrase: must end at the last character.
            assert_eq!(
                string_end(body, 0),
                Some(body.len()),
                "phrase broke out: {q} ({inner})"
            );
            continue;
        }
        let mut escaped = false;
        for c in body.chars() {
            if !escaped {
                assert!(
                    !"+-=&|!(){}[]<>^\"~:/ ".contains(c),
                    "unescaped {c:?} in {q}"
                );
            }
            escaped = !escaped && c == '\\';
        }
    }
}

#[test]
fn field_names_cannot_close_their_quotes() {
    let q = convert("splunk", "a\\\" OR b", "", "x");
    assert_eq!(string_end(&q, 0).map(|e| &q[e..e + 1]), Some("="), "{q}");
    let q = convert("esql", "a` OR `b", "", "x");
    assert!(q.contains("`a`` OR ``b`==\"x\""), "{q}");
}
