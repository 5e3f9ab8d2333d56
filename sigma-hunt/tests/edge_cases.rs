//! The matching edge cases of the specification notes
//! (`spec-features.md` §3), one test per case, numbered as there.

use serde_json::{json, Value};
use sigma_hunt::{Engine, EngineOptions, Scratch};

/// Builds a rule from a `detection:` body (indented YAML) and tells
/// whether it matches the event (flat layout, Security channel added).
fn matches(detection: &str, mut event: Value) -> bool {
    let yaml = format!(
        "title: t\nid: 11111111-1111-1111-1111-111111111111\nlogsource: {{product: windows, service: security}}\ndetection:\n{detection}\nlevel: low\n"
    );
    let set = sigma_core::parse_str(&yaml, None);
    assert!(set.errors.is_empty(), "rule errors: {:?}", set.errors);
    let engine = Engine::build(&set, EngineOptions::default());
    assert_eq!(
        engine.report.loaded, 1,
        "not loaded: {:?} {:?}",
        engine.report.unsupported, engine.report.unrouted
    );
    if let Some(o) = event.as_object_mut() {
        o.entry("Channel").or_insert(json!("Security"));
    }
    let mut hits = Vec::new();
    let root = event.as_object().expect("object");
    engine.evaluate(root, &mut Scratch::default(), &mut hits);
    !hits.is_empty()
}

fn unsupported(detection: &str) -> String {
    let yaml = format!(
        "title: t\nlogsource: {{product: windows, service: security}}\ndetection:\n{detection}\n"
    );
    let set = sigma_core::parse_str(&yaml, None);
    let engine = Engine::build(&set, EngineOptions::default());
    engine
        .report
        .unsupported
        .first()
        .map(|(_, why)| why.clone())
        .unwrap_or_default()
}

#[test]
fn e01_plain_value_is_whole_value_case_insensitive() {
    let d = "  s:\n    Image: 'C:\\Windows\\System32\\whoami.exe'\n  condition: s";
    assert!(matches(
        d,
        json!({"Image": "c:\\windows\\system32\\WHOAMI.EXE"})
    ));
    assert!(!matches(
        d,
        json!({"Image": "C:\\Windows\\System32\\whoami.exe.bak"})
    ));
    assert!(!matches(
        d,
        json!({"Image": "X:\\C:\\Windows\\System32\\whoami.exe"})
    ));
}

#[test]
fn e02_inner_wildcards_survive_modifiers() {
    let d = "  s:\n    CommandLine|contains: '/etc/*.conf'\n  condition: s";
    assert!(matches(d, json!({"CommandLine": "cat /etc/ssh/sshd.conf"})));
    let d = "  s:\n    OldUacValue|endswith: '8???'\n  condition: s";
    assert!(matches(d, json!({"OldUacValue": "0x8010"})));
    assert!(!matches(d, json!({"OldUacValue": "0x801"})));
}

#[test]
fn e03_backslash_before_normal_char_is_literal() {
    let d = "  s:\n    Path|startswith: 'C:\\Windows\\'\n  condition: s";
    assert!(matches(d, json!({"Path": "C:\\Windows\\x"})));
    let d = "  s:\n    Share: '\\\\\\\\127.0.0.1\\\\'\n  condition: s";
    assert!(matches(d, json!({"Share": "\\\\127.0.0.1\\"})));
}

#[test]
fn e04_escaped_star_is_literal() {
    let d = "  s:\n    Path|contains: 'C:\\Users\\*\\AppData'\n  condition: s";
    assert!(matches(d, json!({"Path": "x C:\\Users*\\AppData y"})));
    assert!(!matches(d, json!({"Path": "C:\\Users\\bob\\AppData"})));
    let d = "  s:\n    Description: '\\?'\n  condition: s";
    assert!(matches(d, json!({"Description": "?"})));
    assert!(!matches(d, json!({"Description": "a"})));
}

#[test]
fn e05_backslash_then_wildcard() {
    let d = "  s:\n    Path|contains: '\\\\WindowsPowerShell\\\\Modules\\\\*\\.ps'\n  condition: s";
    assert!(matches(
        d,
        json!({"Path": "C:\\WindowsPowerShell\\Modules\\x\\y\\.psm1"})
    ));
    assert!(!matches(
        d,
        json!({"Path": "C:\\WindowsPowerShell\\Modules\\x.psm1"})
    ));
}

#[test]
fn e06_whitespace_is_significant() {
    let d = "  s:\n    CommandLine|contains: ' -enc '\n  condition: s";
    assert!(matches(d, json!({"CommandLine": "powershell -enc AAA"})));
    assert!(!matches(
        d,
        json!({"CommandLine": "powershell -encodedcommand"})
    ));
}

#[test]
fn e07_percent_without_expand_is_literal() {
    let d = "  s:\n    cs-uri-query|contains: '%2e%2e%2f'\n  condition: s";
    assert!(matches(d, json!({"cs-uri-query": "/a?x=%2E%2e%2f"})));
    let d = "  s:\n    User|expand: '%Admins%'\n  condition: s";
    assert!(unsupported(d).contains("placeholder"));
}

#[test]
fn e08_double_quoted_yaml() {
    let d = "  s:\n    Image: \"C:\\\\Temp\\\\a.exe\"\n  condition: s";
    assert!(matches(d, json!({"Image": "C:\\Temp\\a.exe"})));
}

#[test]
fn e09_number_vs_numeric_string() {
    let n = "  s:\n    EventID: 4624\n  condition: s";
    let s = "  s:\n    EventID: '4624'\n  condition: s";
    for d in [n, s] {
        assert!(matches(d, json!({"EventID": 4624})));
        assert!(matches(d, json!({"EventID": "4624"})));
    }
    let hex = "  s:\n    Code: '0x17'\n  condition: s";
    assert!(!matches(hex, json!({"Code": 23})));
    assert!(matches(hex, json!({"Code": "0x17"})));
}

#[test]
fn e10_boolean_vs_string() {
    let d = "  s:\n    Signed: true\n  condition: s";
    assert!(matches(d, json!({"Signed": true})));
    assert!(matches(d, json!({"Signed": "TRUE"})));
    assert!(!matches(d, json!({"Signed": false})));
    let d = "  s:\n    blocked: 'false'\n  condition: s";
    assert!(matches(d, json!({"blocked": "false"})));
    assert!(matches(d, json!({"blocked": false})));
}

#[test]
fn e11_null_missing_empty() {
    let d = "  s:\n    PasswordLastSet: null\n  condition: s";
    assert!(matches(d, json!({})));
    assert!(matches(d, json!({"PasswordLastSet": null})));
    assert!(!matches(d, json!({"PasswordLastSet": ""})));
    let d = "  s:\n    Field: ''\n  condition: s";
    assert!(matches(d, json!({"Field": ""})));
    assert!(!matches(d, json!({})));
    assert!(!matches(d, json!({"Field": "x"})));
    let d = "  s:\n    Field|exists: true\n  condition: s";
    assert!(matches(d, json!({"Field": null})));
    assert!(matches(d, json!({"Field": ""})));
    assert!(!matches(d, json!({})));
    let d = "  s:\n    Field|exists: false\n  condition: s";
    assert!(matches(d, json!({})));
    assert!(!matches(d, json!({"Field": null})));
}

#[test]
fn e12_empty_list_is_null() {
    let d = "  s:\n    Field: []\n  condition: s";
    assert!(matches(d, json!({})));
    assert!(!matches(d, json!({"Field": "x"})));
}

#[test]
fn e13_value_or_null() {
    let d = "  s:\n    Field: ['x', null]\n  condition: s";
    assert!(matches(d, json!({"Field": "X"})));
    assert!(matches(d, json!({})));
    assert!(!matches(d, json!({"Field": "y"})));
}

#[test]
fn e14_list_of_maps_is_or_map_is_and() {
    let d = "  s:\n    - Image|endswith: '\\rundll32.exe'\n    - OriginalFileName: 'RUNDLL32.EXE'\n  condition: s";
    assert!(matches(d, json!({"Image": "C:\\x\\rundll32.exe"})));
    assert!(matches(d, json!({"OriginalFileName": "rundll32.exe"})));
    assert!(!matches(d, json!({"Image": "C:\\x\\cmd.exe"})));
    let d = "  s:\n    Image|contains: 'temp'\n    Image|endswith: '.exe'\n  condition: s";
    assert!(matches(d, json!({"Image": "C:\\Temp\\a.exe"})));
    assert!(!matches(d, json!({"Image": "C:\\Temp\\a.dll"})));
}

#[test]
fn e15_value_list_is_or() {
    let d = "  s:\n    EventID: [4624, 4625]\n  condition: s";
    assert!(matches(d, json!({"EventID": 4625})));
    assert!(!matches(d, json!({"EventID": 4626})));
}

#[test]
fn e16_all_is_and_on_the_same_field() {
    let d = "  s:\n    CommandLine|contains|all: [' -nop', ' -w hidden']\n  condition: s";
    assert!(matches(d, json!({"CommandLine": "ps -W HIDDEN -NOP"})));
    assert!(!matches(d, json!({"CommandLine": "ps -nop"})));
    let d = "  s:\n    Image|all: ['a', 'b']\n  condition: s";
    assert!(!matches(d, json!({"Image": "a"})));
}

#[test]
fn e17_all_with_a_single_value() {
    let d = "  s:\n    CommandLine|contains|all: 'x'\n  condition: s";
    assert!(matches(d, json!({"CommandLine": "axb"})));
}

#[test]
fn e18_keywords_are_or_and_substrings() {
    let d = "  keywords:\n    - 'event::clear'\n    - 'event::drop'\n  condition: keywords";
    assert!(matches(d, json!({"Message": "mimikatz EVENT::Drop run"})));
    assert!(matches(
        d,
        json!({"Nested": {"Deep": ["x", "event::clear"]}})
    ));
    assert!(!matches(d, json!({"Message": "event::other"})));
}

#[test]
fn e19_all_keywords_in_different_fields() {
    let d = "  keywords:\n    '|all':\n      - 'FileNotFoundException'\n      - '/../../..'\n  condition: keywords";
    assert!(matches(
        d,
        json!({"A": "java.io.FileNotFoundException", "B": "GET /../../../etc"})
    ));
    assert!(!matches(d, json!({"A": "java.io.FileNotFoundException"})));
}

#[test]
fn e20_numeric_keywords_match_whole_values() {
    let d = "  keywords:\n    - 6\n  condition: keywords";
    assert!(matches(d, json!({"Code": 6})));
    assert!(matches(d, json!({"Code": "6"})));
    assert!(!matches(d, json!({"Code": 16, "Text": "a6b"})));
}

#[test]
fn e21_windash_expansions() {
    let d = "  s:\n    CommandLine|windash|contains: ' -enc '\n  condition: s";
    for v in [
        " -enc ",
        " /enc ",
        " \u{2013}enc ",
        " \u{2014}enc ",
        " \u{2015}enc ",
    ] {
        assert!(
            matches(d, json!({ "CommandLine": format!("ps{v}AAA") })),
            "{v}"
        );
    }
    let d = "  s:\n    CommandLine|windash|contains: 'x-y'\n  condition: s";
    assert!(!matches(d, json!({"CommandLine": "x/y"})));
}

#[test]
fn e22_windash_with_all() {
    let d = "  s:\n    CommandLine|windash|contains|all: [' -a', ' -b']\n  condition: s";
    assert!(matches(d, json!({"CommandLine": "x /a /b"})));
    assert!(matches(d, json!({"CommandLine": "x -a \u{2013}b"})));
    assert!(!matches(d, json!({"CommandLine": "x -a"})));
}

#[test]
fn e23_base64offset_contains() {
    let d = "  s:\n    CommandLine|base64offset|contains: 'http'\n  condition: s";
    // base64("xhttps://") and base64("xxhttp") and base64("http://")
    for enc in ["eGh0dHBzOi8v", "eHhodHRw", "aHR0cDovLw=="] {
        assert!(
            matches(d, json!({ "CommandLine": format!("-e {enc}") })),
            "{enc}"
        );
    }
    let d = "  s:\n    CommandLine|base64|contains: 'spinstall0.aspx'\n  condition: s";
    assert!(matches(d, json!({"CommandLine": "c3BpbnN0YWxsMC5hc3B4"})));
}

#[test]
fn e24_wide_base64offset() {
    let d = "  s:\n    CommandLine|wide|base64offset|contains: 'ping'\n  condition: s";
    assert!(matches(d, json!({"CommandLine": "x cABpAG4AZw y"})));
}

#[test]
fn e25_utf16_variants_load() {
    let d = "  s:\n    CommandLine|utf16le|base64offset|contains: 'cmd'\n  condition: s";
    assert!(matches(d, json!({"CommandLine": "YwBtAGQA"})));
}

#[test]
fn e26_re_is_case_sensitive_search() {
    let d = "  s:\n    CommandLine|re: 'Invoke-Expression'\n  condition: s";
    assert!(matches(d, json!({"CommandLine": "x Invoke-Expression y"})));
    assert!(!matches(d, json!({"CommandLine": "invoke-expression"})));
    let d = "  s:\n    CommandLine|re|i: 'Invoke-Expression'\n  condition: s";
    assert!(matches(d, json!({"CommandLine": "invoke-expression"})));
    let d = "  s:\n    CommandLine|re: '(?i)Invoke-Expression'\n  condition: s";
    assert!(matches(d, json!({"CommandLine": "INVOKE-EXPRESSION"})));
}

#[test]
fn e27_re_is_raw() {
    let d = "  s:\n    TargetFilename|re: '\\\\[a-zA-Z]{8}\\.tmp$'\n  condition: s";
    assert!(matches(d, json!({"TargetFilename": "C:\\x\\abcdefgh.tmp"})));
    assert!(!matches(
        d,
        json!({"TargetFilename": "C:\\x\\abcdefgh_tmp"})
    ));
}

#[test]
fn e28_re_contains_is_a_no_op() {
    let d = "  s:\n    CommandLine|re|contains: 'abc'\n  condition: s";
    assert!(matches(d, json!({"CommandLine": "xxabcxx"})));
}

#[test]
fn e29_cased() {
    let d = "  s:\n    Image|cased|endswith: '\\PowerShell.exe'\n  condition: s";
    assert!(matches(d, json!({"Image": "C:\\PowerShell.exe"})));
    assert!(!matches(d, json!({"Image": "C:\\powershell.exe"})));
}

#[test]
fn e30_fieldref() {
    let d = "  s:\n    TargetFilename|fieldref: Image\n  condition: s";
    assert!(matches(
        d,
        json!({"TargetFilename": "C:\\A.exe", "Image": "c:\\a.exe"})
    ));
    assert!(!matches(d, json!({"TargetFilename": "C:\\A.exe"})));
    let d = "  s:\n    Image|fieldref|endswith: ParentImage\n  condition: s";
    assert!(matches(
        d,
        json!({"Image": "C:\\x\\p.exe", "ParentImage": "p.exe"})
    ));
    assert!(!matches(
        d,
        json!({"Image": "C:\\x\\q.exe", "ParentImage": "p.exe"})
    ));
}

#[test]
fn e31_cidr() {
    let d = "  s:\n    DestinationIp|cidr: '10.0.0.0/8'\n  condition: s";
    assert!(matches(d, json!({"DestinationIp": "10.1.2.3"})));
    assert!(!matches(d, json!({"DestinationIp": "11.0.0.1"})));
    assert!(!matches(d, json!({"DestinationIp": "not an ip"})));
    let d = "  s:\n    DestinationIp|cidr: 'fe80::/10'\n  condition: s";
    assert!(matches(d, json!({"DestinationIp": "fe80::1"})));
    assert!(!matches(d, json!({"DestinationIp": "2001:db8::1"})));
}

#[test]
fn e32_compare_and_time_parts() {
    let d = "  s:\n    Count|gte: 10\n  condition: s";
    assert!(matches(d, json!({"Count": 10})));
    assert!(matches(d, json!({"Count": "12"})));
    assert!(!matches(d, json!({"Count": 9})));
    let d = "  s:\n    Time|hour|gte: 9\n  condition: s";
    assert!(matches(d, json!({"Time": "2024-01-01T10:00:00Z"})));
    assert!(!matches(d, json!({"Time": "2024-01-01T08:59:00Z"})));
    let d = "  s:\n    Time|minute: 30\n  condition: s";
    assert!(matches(d, json!({"Time": "2024-01-01 10:30:00"})));
}

#[test]
fn e33_neq_on_missing_field_matches() {
    let d = "  s:\n    User|neq: ['SYSTEM', 'LOCAL SERVICE']\n  condition: s";
    assert!(matches(d, json!({"User": "bob"})));
    assert!(matches(d, json!({})));
    assert!(!matches(d, json!({"User": "system"})));
}

#[test]
fn e34_not_filter_on_missing_field() {
    let d = "  sel:\n    A: x\n  filter:\n    B: y\n  condition: sel and not filter";
    assert!(matches(d, json!({"A": "x"})));
    assert!(!matches(d, json!({"A": "x", "B": "y"})));
}

#[test]
fn e35_not_one_of_filters() {
    let d = "  sel:\n    A: x\n  filter_1:\n    B: y\n  filter_2:\n    C: z\n  condition: sel and not 1 of filter_*";
    assert!(matches(d, json!({"A": "x"})));
    assert!(!matches(d, json!({"A": "x", "C": "z"})));
    let d = "  sel:\n    A: x\n  filter_1:\n    B: y\n  filter_2:\n    C: z\n  condition: sel and not all of filter_*";
    assert!(matches(d, json!({"A": "x", "C": "z"})));
    assert!(!matches(d, json!({"A": "x", "B": "y", "C": "z"})));
}

#[test]
fn e36_precedence() {
    let d = "  selection_img_1:\n    A: a\n  selection_kali_1:\n    K: k\n  filter_main_1:\n    F: f\n  condition: 1 of selection_img_* or all of selection_kali_* and not 1 of filter_main_*";
    assert!(matches(d, json!({"A": "a", "F": "f"})));
    assert!(!matches(d, json!({"K": "k", "F": "f"})));
    assert!(matches(d, json!({"K": "k"})));
}

#[test]
fn e37_selector_scope() {
    let d = "  selection:\n    A: a\n  selection_2:\n    B: b\n  _selection:\n    C: c\n  condition: 1 of selection*";
    assert!(matches(d, json!({"B": "b"})));
    assert!(!matches(d, json!({"C": "c"})));
    let d = "  a:\n    A: a\n  _b:\n    B: b\n  condition: 1 of them";
    assert!(!matches(d, json!({"B": "b"})));
}

#[test]
fn e39_keywords_are_whole_words() {
    let d = "  notepad:\n    A: a\n  condition: notepad";
    assert!(matches(d, json!({"A": "a"})));
}

#[test]
fn e40_identifiers_reachable_through_patterns() {
    let d = "  sel:\n    A: a\n  filter_main_mdadm.conf:\n    B: b\n  condition: sel and not 1 of filter_main_*";
    assert!(matches(d, json!({"A": "a"})));
    assert!(!matches(d, json!({"A": "a", "B": "b"})));
}

#[test]
fn e41_legacy_aggregation_is_unsupported() {
    let d = "  sel:\n    A: a\n  condition: sel | count(B) by C > 10";
    assert!(unsupported(d).contains("correlation"));
}

#[test]
fn e45_filters_are_anded() {
    let text = "title: r\nid: 22222222-2222-2222-2222-222222222222\nlogsource: {product: windows, service: security}\ndetection:\n  sel:\n    A: a\n  condition: sel\n---\ntitle: f\nlogsource: {product: windows, service: security}\nfilter:\n  rules: [22222222-2222-2222-2222-222222222222]\n  selection:\n    B: b\n  condition: not selection\n";
    let set = sigma_core::parse_str(text, None);
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    let engine = Engine::build(&set, EngineOptions::default());
    let run = |ev: Value| {
        let mut hits = Vec::new();
        engine.evaluate(
            ev.as_object().expect("obj"),
            &mut Scratch::default(),
            &mut hits,
        );
        !hits.is_empty()
    };
    assert!(run(json!({"Channel": "Security", "A": "a"})));
    assert!(!run(json!({"Channel": "Security", "A": "a", "B": "b"})));
}

#[test]
fn e46_huge_lists() {
    let values: Vec<String> = (0..5000).map(|i| format!("      - 'HASH{i:05}'")).collect();
    let d = format!("  s:\n    Hash:\n{}\n  condition: s", values.join("\n"));
    assert!(matches(&d, json!({"Hash": "hash04431"})));
    assert!(!matches(&d, json!({"Hash": "hash05000"})));
    let values: Vec<String> = (0..500)
        .map(|i| format!("      - '\\tool{i}.exe'"))
        .collect();
    let d = format!(
        "  s:\n    Image|endswith:\n{}\n  condition: s",
        values.join("\n")
    );
    assert!(matches(&d, json!({"Image": "C:\\X\\TOOL499.EXE"})));
    assert!(!matches(&d, json!({"Image": "C:\\X\\TOOL500.EXE"})));
}

#[test]
fn arrays_match_any_element() {
    let d = "  s:\n    Tags|contains: 'evil'\n  condition: s";
    assert!(matches(d, json!({"Tags": ["good", "EVIL one"]})));
}

#[test]
fn dotted_field_names_are_paths() {
    let d = "  s:\n    userIdentity.arn|endswith: ':root'\n  condition: s";
    assert!(matches(
        d,
        json!({"userIdentity": {"arn": "arn:aws:iam::1:root"}})
    ));
}

#[test]
fn routing_is_applied() {
    let d = "  s:\n    A: a\n  condition: s";
    assert!(!matches(d, json!({"Channel": "System", "A": "a"})));
}
