//! insta snapshots: every modifier, condition form and escape case for each
//! target (one snapshot per case, all four targets in it), every output
//! format, and the correlation fixtures under `fixtures/correlation/`.
//!
//! Review changes with `cargo insta review` (or `INSTA_UPDATE=always`).

use sigma_backends::Backend;

const TARGETS: [&str; 4] = ["splunk", "lucene", "esql", "eql"];

fn rule(detection: &str) -> String {
    format!(
        "title: Snapshot probe\nid: 5f1b0a2e-0000-4000-8000-000000000001\nlogsource:\n    category: process_creation\n    product: windows\ndetection:\n{detection}\n"
    )
}

fn convert_all(text: &str, pipelines: &[&str]) -> String {
    let set = sigma_core::parse_str(text, None);
    let mut out = String::new();
    if let Some(e) = set.errors.first() {
        return format!("parse error: {e}");
    }
    let pipelines: Vec<String> = pipelines.iter().map(|s| s.to_string()).collect();
    for t in TARGETS {
        let backend = Backend::new(t, "default")
            .and_then(|b| b.with_pipelines(&pipelines))
            .expect("backend");
        let line = match backend.convert_set(&set) {
            Ok(o) => backend
                .render(&o)
                .unwrap_or_else(|e| format!("REFUSED: {e}")),
            Err(e) => format!("REFUSED: {}", e.message),
        };
        out.push_str(&format!("{t}: {line}\n"));
    }
    out
}

macro_rules! cases {
    ($($name:ident => $det:expr;)*) => {
        $(
            #[test]
            fn $name() {
                insta::assert_snapshot!(convert_all(&rule($det), &[]));
            }
        )*
    };
}

cases! {
    // Modifiers.
    modifier_contains => "    sel:\n        CommandLine|contains: 'evil'\n    condition: sel";
    modifier_startswith => "    sel:\n        Image|startswith: 'C:\\Users\\'\n    condition: sel";
    modifier_endswith => "    sel:\n        Image|endswith: '\\cmd.exe'\n    condition: sel";
    modifier_all => "    sel:\n        CommandLine|contains|all: ['a', 'b']\n    condition: sel";
    modifier_base64 => "    sel:\n        CommandLine|base64: 'evil'\n    condition: sel";
    modifier_base64offset => "    sel:\n        CommandLine|base64offset|contains: 'evil'\n    condition: sel";
    modifier_utf16le => "    sel:\n        CommandLine|utf16le|base64offset|contains: 'ab'\n    condition: sel";
    modifier_utf16be => "    sel:\n        CommandLine|utf16be|base64offset|contains: 'ab'\n    condition: sel";
    modifier_utf16 => "    sel:\n        CommandLine|utf16|base64offset|contains: 'ab'\n    condition: sel";
    modifier_wide => "    sel:\n        CommandLine|wide|base64offset|contains: 'ab'\n    condition: sel";
    modifier_windash => "    sel:\n        CommandLine|windash|contains: '-enc'\n    condition: sel";
    modifier_re => "    sel:\n        CommandLine|re: '^.*\\\\cmd\\.exe /c \"(a|b)\"/x$'\n    condition: sel";
    modifier_re_flags => "    sel:\n        CommandLine|re|i|m|s: 'a.b'\n    condition: sel";
    modifier_re_in_or => "    sel:\n        CommandLine|re: 'a.*b'\n    other:\n        Image|endswith: '\\x.exe'\n    condition: sel or other";
    modifier_cidr => "    sel:\n        DestinationIp|cidr: ['10.0.0.0/8', '2001:db8::/32']\n    condition: sel";
    modifier_cidr_not => "    sel:\n        Image: x\n    filter:\n        DestinationIp|cidr: '10.0.0.0/8'\n    condition: sel and not filter";
    modifier_exists => "    sel:\n        Image|exists: true\n        User|exists: false\n    condition: sel";
    modifier_fieldref => "    sel:\n        ParentUser|fieldref: User\n    condition: sel";
    modifier_fieldref_or => "    sel:\n        - ParentUser|fieldref: User\n        - Image: x\n    condition: sel";
    modifier_compare => "    sel:\n        Count|gt: 10\n        Size|gte: 1.5\n        Neg|lt: -3\n        Low|lte: 5\n    condition: sel";
    modifier_cased => "    sel:\n        CommandLine|cased: MiXeD\n    condition: sel";
    modifier_cased_list => "    sel:\n        CommandLine|cased: [MiXeD, '*Foo.EXE']\n    condition: sel";
    modifier_expand => "    sel:\n        Workstation|expand: '%admin_hosts%'\n    condition: sel";
    modifier_neq => "    sel:\n        Image: x\n        User|neq: SYSTEM\n    condition: sel";
    modifier_minute => "    sel:\n        Time|minute: 5\n    condition: sel";
    value_null => "    sel:\n        Image: x\n        User: null\n    filter:\n        Parent: null\n    condition: sel and not filter";
    value_empty_and_bool => "    sel:\n        A: ''\n        B: true\n        C: 42\n        D: '42'\n    condition: sel";
    value_ip => "    sel:\n        SourceIp: '10.1.2.3'\n    condition: sel";
    keywords => "    keywords:\n        - mimikatz\n        - 'sekurlsa::logonpasswords'\n        - 'two words'\n        - 42\n    condition: keywords";
    keywords_and_field => "    kw:\n        - bad\n    sel:\n        Image: x.exe\n    condition: kw and sel";
    // Condition forms.
    cond_and_or_not => "    a:\n        Image|endswith: ['\\a.exe', '\\b.exe']\n    b:\n        User: x\n    condition: a and not b";
    cond_parentheses => "    a:\n        A: 1\n    b:\n        B: 2\n    c:\n        C: 3\n    condition: (a or b) and c";
    cond_nested_or_and => "    a:\n        A: 1\n        B: 2\n    c:\n        C: 3\n    condition: a or c";
    cond_one_of => "    sel_a:\n        A: 1\n    sel_b:\n        B: 2\n    filter_x:\n        U: [SYSTEM, 'LOCAL SERVICE']\n    condition: 1 of sel_* and not 1 of filter_*";
    cond_all_of => "    sel_a:\n        A: 1\n    sel_b:\n        B: 2\n    condition: all of sel_*";
    cond_them => "    a:\n        A: 1\n    b:\n        B: 2\n    condition: 1 of them";
    cond_all_of_them => "    a:\n        A: 1\n    b:\n        B: 2\n    condition: all of them";
    cond_double_not => "    a:\n        A: 1\n    condition: not (not a)";
    cond_list => "    a:\n        A: 1\n    b:\n        B: 2\n    condition:\n        - a\n        - b";
    cond_list_of_maps => "    sel:\n        - A: 1\n          B: 2\n        - C: 3\n    condition: sel";
    cond_negated_list => "    sel:\n        Image: x\n    filter:\n        ParentImage|endswith: ['\\a.exe', '\\b.exe']\n    condition: sel and not filter";
    // Escaping.
    escape_values => "    sel:\n        CommandLine:\n            - 'say \"hi\" now'\n            - 'C:\\Windows\\System32\\cmd.exe'\n            - 'a:b/c(d)[e]{f}<g>=h+i-j&k|l!m^n~o'\n            - 'it''s'\n            - 'esc\\*star and esc\\?q'\n            - 'trail\\'\n    condition: sel";
    escape_wildcards => "    sel:\n        Image: 'abc*def?ghi'\n    condition: sel";
    escape_unicode_and_controls => "    sel:\n        CommandLine|contains:\n            - 'ünïcödé ✓'\n            - \"tab\\there\"\n            - \"new\\nline\"\n    condition: sel";
    escape_field_names => "    sel:\n        'Field With Space': a\n        field-dash: b\n        1stfield: c\n        dotted.field.name: d\n    condition: sel";
    injection_quotes => "    sel:\n        CommandLine: 'x\" OR 1=1 OR a=\"'\n    condition: sel";
    injection_pipes => "    sel:\n        CommandLine: 'x | delete'\n        Image|re: 'a\" | delete | regex b=\"'\n    condition: sel";
    injection_backslash_quote => "    sel:\n        CommandLine: 'x\\\" OR evil'\n    condition: sel";
    injection_lucene_specials => "    sel:\n        CommandLine: 'a) OR (b:c'\n    condition: sel";
    injection_field_name => "    sel:\n        'a\" OR b=\"': x\n    condition: sel";
}

#[test]
fn legacy_aggregation_is_refused() {
    insta::assert_snapshot!(convert_all(
        &rule("    sel:\n        A: 1\n    condition: sel | count() by B > 5"),
        &[]
    ));
}

#[test]
fn pipelines_ecs_and_splunk_windows() {
    let text = rule(
        "    sel:\n        EventID: 4688\n        Image|endswith: '\\cmd.exe'\n        CommandLine|contains: whoami\n    condition: sel",
    );
    insta::assert_snapshot!(
        "pipeline_splunk_windows",
        convert_all(&text, &["splunk_windows"])
    );
    insta::assert_snapshot!("pipeline_ecs_windows", convert_all(&text, &["ecs_windows"]));
}

const BASIC: &str = r#"
title: Suspicious Whoami
id: 11111111-2222-3333-4444-555555555555
description: Detects whoami execution
author: Example
tags: [attack.discovery, attack.t1033]
logsource: {category: process_creation, product: windows}
detection:
    selection:
        Image|endswith: '\whoami.exe'
        CommandLine|contains: ['/all', '/priv']
    filter:
        User: 'NT AUTHORITY\SYSTEM'
    condition: selection and not filter
fields: [CommandLine, User]
falsepositives: [Admin]
level: medium
"#;

#[test]
fn output_formats() {
    let set = sigma_core::parse_str(BASIC, None);
    for t in ["splunk", "lucene", "esql", "eql"] {
        for f in Backend::formats(t).unwrap_or_default() {
            let pipeline = match (t, *f) {
                (_, "data_model") => "splunk_cim",
                ("splunk", _) => "splunk_windows",
                _ => "ecs_windows",
            };
            let backend = Backend::new(t, f)
                .and_then(|b| b.with_pipelines(&[pipeline.to_string()]))
                .expect("backend");
            let text = match backend.convert_set(&set) {
                Ok(o) => backend
                    .render(&o)
                    .unwrap_or_else(|e| format!("REFUSED: {e}")),
                Err(e) => format!("REFUSED: {}", e.message),
            };
            insta::assert_snapshot!(format!("format_{t}_{f}"), text);
        }
    }
}

#[test]
fn correlation_fixtures() {
    let dir = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/correlation"
    ));
    let files = sigma_core::rule_files(dir).expect("fixtures/correlation");
    assert!(!files.is_empty());
    for file in files {
        let set = sigma_core::load_file(&file);
        assert!(set.errors.is_empty(), "{:?}", set.errors);
        let mut text = String::new();
        for t in ["splunk", "esql", "eql", "lucene"] {
            let backend = Backend::new(t, "default").expect("backend");
            let out = match backend.convert_set(&set) {
                Ok(o) => backend
                    .render(&o)
                    .unwrap_or_else(|e| format!("REFUSED: {e}")),
                Err(e) => format!("REFUSED: {}", e.message),
            };
            text.push_str(&format!("--- {t}\n{out}\n"));
        }
        let name = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        insta::assert_snapshot!(format!("correlation_{name}"), text);
    }
}
