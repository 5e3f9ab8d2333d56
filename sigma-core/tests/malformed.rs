//! Malformed rules: each must produce an error with the right kind, a
//! readable message and the line and column of the problem.

use sigma_core::{parse_str, ErrorKind, SigmaError};

/// Parses `text` and returns its single error.
fn one_error(text: &str) -> SigmaError {
    let set = parse_str(text, Some(std::path::Path::new("bad.yml")));
    assert!(
        set.documents.is_empty(),
        "expected no document, got {:?}",
        set.documents
    );
    assert_eq!(
        set.errors.len(),
        1,
        "expected one error, got {:#?}",
        set.errors
    );
    set.errors.into_iter().next().unwrap()
}

fn check(text: &str, kind: ErrorKind, line: u32, column: u32, needle: &str) {
    let e = one_error(text);
    assert_eq!(e.kind, kind, "{e}");
    assert!(
        e.message.contains(needle),
        "message {:?} lacks {:?}",
        e.message,
        needle
    );
    assert_eq!((e.location.line, e.location.column), (line, column), "{e}");
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!("bad.yml:{line}:{column}: error: ")),
        "{shown}"
    );
}

/// A valid rule with `detection` replaced by `det` (indented 4 spaces).
fn rule(det: &str) -> String {
    format!(
        "title: T\nid: 929a690e-bef0-4204-a928-ef5e620d6fcc\nlogsource:\n    product: windows\ndetection:\n{det}"
    )
}

#[test]
fn bad_yaml_syntax() {
    let e = one_error("title: 'unclosed\nlogsource: x\n");
    assert_eq!(e.kind, ErrorKind::Yaml);
    assert!(e.message.starts_with("invalid YAML"), "{e}");
    assert!(e.location.line >= 1, "{e}");
}

#[test]
fn duplicate_key() {
    check(
        &rule("    sel:\n        a: 1\n        a: 2\n    condition: sel\n"),
        ErrorKind::Yaml,
        8,
        9,
        "duplicate",
    );
}

#[test]
fn missing_title() {
    check(
        "logsource: {product: windows}\ndetection: {sel: {a: 1}, condition: sel}\n",
        ErrorKind::MissingField,
        1,
        1,
        "no 'title'",
    );
}

#[test]
fn title_wrong_type() {
    check(
        &rule("    sel: {a: 1}\n    condition: sel\n").replace("title: T", "title: [a, b]"),
        ErrorKind::WrongType,
        1,
        8,
        "'title' must be a string",
    );
}

#[test]
fn missing_logsource() {
    check(
        "title: T\ndetection: {sel: {a: 1}, condition: sel}\n",
        ErrorKind::MissingField,
        1,
        1,
        "no 'logsource'",
    );
}

#[test]
fn missing_detection() {
    check(
        "title: T\nlogsource: {product: x}\n",
        ErrorKind::MissingField,
        1,
        1,
        "no 'detection'",
    );
}

#[test]
fn missing_condition() {
    check(
        &rule("    sel: {a: 1}\n"),
        ErrorKind::MissingField,
        6,
        5,
        "no 'condition'",
    );
}

#[test]
fn unknown_modifier() {
    check(
        &rule("    sel:\n        Image|contain: x\n    condition: sel\n"),
        ErrorKind::UnknownModifier,
        7,
        9,
        "unknown modifier 'contain'",
    );
}

#[test]
fn uppercase_modifier_gets_a_hint() {
    check(
        &rule("    sel:\n        Image|Contains: x\n    condition: sel\n"),
        ErrorKind::UnknownModifier,
        7,
        9,
        "modifiers are lowercase",
    );
}

#[test]
fn undefined_identifier() {
    check(
        &rule("    sel: {a: 1}\n    condition: sel and filter\n"),
        ErrorKind::UndefinedIdentifier,
        7,
        24,
        "'filter', which is not defined",
    );
}

#[test]
fn selector_matching_nothing() {
    check(
        &rule("    sel: {a: 1}\n    condition: sel and not 1 of filter_*\n"),
        ErrorKind::EmptySelector,
        7,
        28,
        "'filter_*' matches no search identifier",
    );
}

#[test]
fn condition_ends_early() {
    check(
        &rule("    sel: {a: 1}\n    condition: sel and\n"),
        ErrorKind::Condition,
        7,
        23,
        "condition ends unexpectedly",
    );
}

#[test]
fn uppercase_operator() {
    check(
        &rule("    sel: {a: 1}\n    f: {b: 1}\n    condition: sel AND f\n"),
        ErrorKind::Condition,
        8,
        20,
        "lowercase",
    );
}

#[test]
fn unbalanced_parenthesis() {
    let e = one_error(&rule("    sel: {a: 1}\n    condition: (sel\n"));
    assert_eq!(e.kind, ErrorKind::Condition);
    assert_eq!(e.location.line, 7);
}

#[test]
fn two_of_is_rejected() {
    let e = one_error(&rule("    sel: {a: 1}\n    condition: 2 of sel*\n"));
    assert_eq!(e.kind, ErrorKind::Condition, "{e}");
    assert_eq!((e.location.line, e.location.column), (7, 16));
}

#[test]
fn invalid_regex() {
    check(
        &rule("    sel:\n        a|re: '[a-'\n    condition: sel\n"),
        ErrorKind::InvalidRegex,
        7,
        15,
        "invalid regular expression '[a-'",
    );
}

#[test]
fn cidr_with_host_bits() {
    check(
        &rule("    sel:\n        ip|cidr: 10.0.0.1/8\n    condition: sel\n"),
        ErrorKind::InvalidCidr,
        7,
        18,
        "host bits",
    );
}

#[test]
fn cidr_not_a_network() {
    check(
        &rule("    sel:\n        ip|cidr: 'ten/8'\n    condition: sel\n"),
        ErrorKind::InvalidCidr,
        7,
        18,
        "not a valid CIDR",
    );
}

#[test]
fn re_must_come_first() {
    check(
        &rule("    sel:\n        a|contains|re: x\n    condition: sel\n"),
        ErrorKind::ModifierChain,
        7,
        9,
        "'re' must come first",
    );
}

#[test]
fn contains_on_a_number() {
    check(
        &rule("    sel:\n        EventID|contains: 4624\n    condition: sel\n"),
        ErrorKind::ModifierChain,
        7,
        27,
        "cannot be applied to a number",
    );
}

#[test]
fn gt_on_a_string() {
    check(
        &rule("    sel:\n        Count|gt: '5'\n    condition: sel\n"),
        ErrorKind::ModifierChain,
        7,
        19,
        "'gt' cannot be applied to a string",
    );
}

#[test]
fn exists_needs_a_boolean() {
    check(
        &rule("    sel:\n        a|exists: 'yes'\n    condition: sel\n"),
        ErrorKind::ModifierChain,
        7,
        19,
        "needs a boolean",
    );
}

#[test]
fn base64_of_a_wildcard() {
    check(
        &rule("    sel:\n        a|base64: 'x*'\n    condition: sel\n"),
        ErrorKind::InvalidValue,
        7,
        19,
        "cannot encode a value with wildcards",
    );
}

#[test]
fn wide_of_non_ascii() {
    check(
        &rule("    sel:\n        a|wide|base64: 'é'\n    condition: sel\n"),
        ErrorKind::InvalidValue,
        7,
        24,
        "only ASCII",
    );
}

#[test]
fn regex_flag_without_re() {
    check(
        &rule("    sel:\n        a|i: x\n    condition: sel\n"),
        ErrorKind::ModifierChain,
        7,
        14,
        "'i' cannot be applied to a string",
    );
}

#[test]
fn invalid_uuid() {
    check(
        &rule("    sel: {a: 1}\n    condition: sel\n")
            .replace("id: 929a690e-bef0-4204-a928-ef5e620d6fcc", "id: not-a-uuid"),
        ErrorKind::InvalidMetadata,
        2,
        5,
        "must be a UUID",
    );
}

#[test]
fn unknown_level() {
    check(
        &format!(
            "{}level: severe\n",
            rule("    sel: {a: 1}\n    condition: sel\n")
        ),
        ErrorKind::InvalidMetadata,
        8,
        8,
        "unknown level 'severe'",
    );
}

#[test]
fn unknown_status() {
    check(
        &format!(
            "{}status: beta\n",
            rule("    sel: {a: 1}\n    condition: sel\n")
        ),
        ErrorKind::InvalidMetadata,
        8,
        9,
        "unknown status 'beta'",
    );
}

#[test]
fn bad_date() {
    check(
        &format!(
            "{}date: 2024-13-45\n",
            rule("    sel: {a: 1}\n    condition: sel\n")
        ),
        ErrorKind::InvalidMetadata,
        8,
        7,
        "must be a date",
    );
}

#[test]
fn tag_without_namespace() {
    check(
        &format!(
            "{}tags:\n    - t1059\n",
            rule("    sel: {a: 1}\n    condition: sel\n")
        ),
        ErrorKind::InvalidMetadata,
        9,
        7,
        "has no namespace",
    );
}

#[test]
fn logsource_with_only_definition() {
    check(
        "title: T\nlogsource:\n    definition: x\ndetection: {sel: {a: 1}, condition: sel}\n",
        ErrorKind::Logsource,
        3,
        5,
        "at least one of category, product or service",
    );
}

#[test]
fn empty_selection() {
    check(
        &rule("    sel: {}\n    condition: sel\n"),
        ErrorKind::Detection,
        6,
        10,
        "detection is empty",
    );
}

#[test]
fn mapping_as_field_value() {
    check(
        &rule("    sel:\n        a:\n            b: c\n    condition: sel\n"),
        ErrorKind::WrongType,
        8,
        13,
        "unsupported value type",
    );
}

#[test]
fn unknown_action() {
    check(
        "action: merge\ntitle: T\n",
        ErrorKind::Collection,
        1,
        9,
        "unknown action 'merge'",
    );
}

#[test]
fn document_is_not_a_mapping() {
    check(
        "- a\n- b\n",
        ErrorKind::WrongType,
        1,
        1,
        "must be a mapping",
    );
}

#[test]
fn fieldref_needs_a_field() {
    check(
        &rule("    sel:\n        '|fieldref': x\n    condition: sel\n"),
        ErrorKind::ModifierChain,
        7,
        9,
        "'fieldref' needs a field",
    );
}

#[test]
fn correlation_with_unknown_type() {
    check(
        "title: C\ncorrelation:\n    type: sometimes\n    rules: [a]\n    timespan: 5m\n    condition: {gte: 2}\n",
        ErrorKind::Correlation,
        3,
        11,
        "unknown correlation type 'sometimes'",
    );
}

#[test]
fn correlation_with_bad_timespan() {
    check(
        "title: C\ncorrelation:\n    type: event_count\n    rules: [a]\n    timespan: 1.5h\n    condition: {gte: 2}\n",
        ErrorKind::Correlation,
        5,
        15,
        "invalid timespan '1.5h'",
    );
}

#[test]
fn deeply_nested_condition_fails_cleanly() {
    let cond = format!("{}sel{}", "(".repeat(5000), ")".repeat(5000));
    let e = one_error(&rule(&format!(
        "    sel: {{a: 1}}\n    condition: '{cond}'\n"
    )));
    assert_eq!(e.kind, ErrorKind::Condition);
    assert!(e.message.contains("nested more than"), "{e}");
    let nots = "not ".repeat(100_000);
    let e = one_error(&rule(&format!(
        "    sel: {{a: 1}}\n    condition: {nots}sel\n"
    )));
    assert!(e.message.contains("nested more than"), "{e}");
}

#[test]
fn alias_bomb_fails_cleanly() {
    let mut s = String::from("title: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..40 {
        let p = i - 1;
        s.push_str(&format!(
            "k{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let e = one_error(&s);
    assert_eq!(e.kind, ErrorKind::Yaml, "{e}");
}

#[test]
fn a_bad_rule_does_not_stop_the_others() {
    let text = format!(
        "{}---\ntitle: Broken\nlogsource: {{product: x}}\ndetection: {{sel: {{a|nope: 1}}, condition: sel}}\n---\n{}",
        rule("    sel: {a: 1}\n    condition: sel\n"),
        rule("    sel: {b: 1}\n    condition: sel\n")
    );
    let set = parse_str(&text, None);
    assert_eq!(set.documents.len(), 2);
    assert_eq!(set.errors.len(), 1);
    assert_eq!(set.errors[0].location.line, 11);
}

/// A rule file over the size limit is refused with an I/O error naming the
/// limit, without being read into a rule; a file at the limit is read.
#[test]
fn oversized_rule_file_is_refused() {
    // Removed when dropped, also when an assertion fails.
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let limit = sigma_core::collection::MAX_RULE_FILE_BYTES as usize;
    let big = dir.join("big.yml");
    // A YAML comment line padded to one byte past the limit.
    let mut text = vec![b'#'; limit + 1];
    text[limit] = b'\n';
    std::fs::write(&big, &text).expect("write");
    let set = sigma_core::load_file(&big);
    assert!(set.documents.is_empty());
    assert_eq!(set.errors.len(), 1, "{:?}", set.errors);
    assert_eq!(set.errors[0].kind, ErrorKind::Io);
    assert!(
        set.errors[0].message.contains("byte limit"),
        "{}",
        set.errors[0].message
    );
    // One byte less is within the limit: read and parsed (an empty
    // document is reported, not the size).
    text.truncate(limit);
    text[limit - 1] = b'\n';
    std::fs::write(&big, &text).expect("write");
    let set = sigma_core::load_file(&big);
    assert!(
        set.errors.iter().all(|e| e.kind != ErrorKind::Io),
        "{:?}",
        set.errors
    );
}

/// `n` values with six `windash` flag positions each (5⁶ = 15,625
/// alternatives apiece), one per line from line 8.
fn windash_values(field: &str, n: usize) -> String {
    let mut det = format!("    sel:\n        {field}:\n");
    for i in 0..n {
        det.push_str(&format!("            - ' -a -b -c -d -e -f{i}'\n"));
    }
    det
}

#[test]
fn windash_expansions_are_capped_per_rule() {
    // Six values expand into 93,750 alternatives: accepted.
    let ok = rule(&format!(
        "{}    condition: sel\n",
        windash_values("CommandLine|windash", 6)
    ));
    let set = parse_str(&ok, None);
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    // A seventh crosses 100,000: refused at that value.
    check(
        &rule(&format!(
            "{}    condition: sel\n",
            windash_values("CommandLine|windash", 7)
        )),
        ErrorKind::InvalidValue,
        14,
        15,
        "more than 100000 values",
    );
    // The limit is per rule: two identifiers of four values share it.
    let two = format!(
        "{}{}    condition: sel or sel2\n",
        windash_values("CommandLine|windash", 4),
        windash_values("CommandLine|windash", 4).replace("sel:", "sel2:")
    );
    check(&rule(&two), ErrorKind::InvalidValue, 16, 15, "windash");
    // Expanding an expansion again is capped inside the value.
    check(
        &rule("    sel:\n        a|windash|windash|windash|base64offset: ' -a -b -c -d -e -f'\n    condition: sel\n"),
        ErrorKind::InvalidValue,
        7,
        49,
        "more than 100000 values",
    );
}
