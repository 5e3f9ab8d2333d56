//! Unit tests of the pipeline module: loading, errors, every
//! transformation and condition kind.

use super::*;
use crate::condition::ConditionExpr;
use crate::detection::{DetectionEntry, Linking};
use crate::value::{Number, SigmaString, Value};
use crate::{parse_str, Document};

pub(crate) fn rule(text: &str) -> SigmaRule {
    let set = parse_str(text, None);
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    match set.documents.into_iter().next() {
        Some(Document::Rule(r)) => r,
        other => panic!("not a rule: {other:?}"),
    }
}

pub(crate) fn pipe(text: &str) -> Pipeline {
    match Pipeline::from_yaml_str(text, Some(Path::new("test.yml"))) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

fn run(p: &str, r: &str) -> ProcessedRule {
    match pipe(p).apply(&rule(r)) {
        Ok(x) => x,
        Err(e) => panic!("{e}"),
    }
}

/// A value in the canonical text shared with the pySigma differential
/// dumper (`tests_diff.rs`): strings quoted in Sigma notation, regexes as
/// `re:pattern` plus `/i` when case-insensitive.
pub(crate) fn val(v: &Value) -> String {
    match v {
        Value::String { value, .. } => format!("'{value}'"),
        Value::Number { value } => value.to_string(),
        Value::Bool { value } => value.to_string(),
        Value::Null => "null".into(),
        Value::Regex { pattern, flags } => {
            format!("re:{pattern}{}", if flags.ignore_case { "/i" } else { "" })
        }
        Value::FieldRef { field, .. } => format!("ref:{field}"),
        Value::Expansion { values } => {
            format!(
                "exp({})",
                values.iter().map(val).collect::<Vec<_>>().join("|")
            )
        }
        Value::Cidr { network } => format!("cidr:{network}"),
        Value::Exists { value } => format!("exists:{value}"),
        Value::Compare { .. } => "SigmaCompareExpression".into(),
        Value::TimestampPart { .. } => "SigmaTimestampPart".into(),
    }
}

/// A detection as text: `field=v1|v2` items (`&` between the values of an
/// `|all` item), ` AND `/` OR ` between entries, groups in parentheses.
pub(crate) fn shape(d: &crate::Detection) -> String {
    let parts: Vec<String> = d
        .entries
        .iter()
        .map(|e| match e {
            DetectionEntry::Group(g) => format!("({})", shape(g)),
            DetectionEntry::Item(i) => {
                let link = if i.linking == Linking::And { "&" } else { "|" };
                let vals: Vec<String> = i.values.iter().map(|v| val(&v.value)).collect();
                format!(
                    "{}={}",
                    i.field.clone().unwrap_or_default(),
                    vals.join(link)
                )
            }
        })
        .collect();
    parts.join(if d.linking == Linking::And {
        " AND "
    } else {
        " OR "
    })
}

pub(crate) fn search(r: &SigmaRule, name: &str) -> String {
    shape(
        &r.detection
            .get(name)
            .unwrap_or_else(|| panic!("no search {name}"))
            .detection,
    )
}

const PROC: &str = r#"
title: t
logsource: {category: process_creation, product: windows}
detection:
    selection:
        Image|endswith: '\cmd.exe'
        CommandLine|contains: 'whoami'
    filter:
        ParentImage: 'C:\Windows\explorer.exe'
    condition: selection and not filter
fields: [Image, CommandLine]
"#;

#[test]
fn field_name_mapping_one_and_many() {
    let out = run(
        r#"
transformations:
  - id: map
    type: field_name_mapping
    mapping:
      Image: NewProcessName
      ParentImage: [ParentProcessName, ParentImage]
"#,
        PROC,
    );
    assert_eq!(
        search(&out.rule, "selection"),
        "NewProcessName='*\\cmd.exe' AND CommandLine='*whoami*'"
    );
    assert_eq!(search(&out.rule, "filter"), "(ParentProcessName='C:\\Windows\\explorer.exe' OR ParentImage='C:\\Windows\\explorer.exe')");
    assert_eq!(out.rule.meta.fields, ["NewProcessName", "CommandLine"]);
    assert_eq!(out.applied, ["map"]);
}

#[test]
fn prefix_mapping_prefix_suffix() {
    let out = run(
        "transformations:\n  - type: field_name_prefix_mapping\n    mapping:\n      Comm: cmd.\n  - type: field_name_prefix\n    prefix: 'x.'\n  - type: field_name_suffix\n    suffix: '.keyword'\n",
        PROC,
    );
    assert_eq!(
        search(&out.rule, "selection"),
        "x.Image.keyword='*\\cmd.exe' AND x.cmd.andLine.keyword='*whoami*'"
    );
}

#[test]
fn drop_detection_item_with_field_condition() {
    let out = run(
        "transformations:\n  - type: drop_detection_item\n    field_name_conditions:\n      - type: include_fields\n        fields: [CommandLine]\n",
        PROC,
    );
    assert_eq!(search(&out.rule, "selection"), "Image='*\\cmd.exe'");
}

#[test]
fn add_condition_rewrites_condition_tree() {
    let out = run(
        "transformations:\n  - type: add_condition\n    conditions:\n      source: 'WinEventLog:Security'\n      EventID: [1, 2]\n",
        PROC,
    );
    let c = &out.rule.detection.conditions[0];
    assert_eq!(c.text, "_cond_1 and (selection and not filter)");
    match &c.expr {
        ConditionExpr::And(v) => {
            assert_eq!(v[0], ConditionExpr::Identifier("_cond_1".into()));
            assert!(matches!(&v[1], ConditionExpr::And(inner) if inner.len() == 2));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        search(&out.rule, "_cond_1"),
        "source='WinEventLog:Security' AND EventID=1|2"
    );
    // Negated, named, and with a template.
    let out = run(
        "transformations:\n  - type: add_condition\n    name: extra\n    negated: true\n    template: true\n    conditions:\n      cat: '$category-${product}'\n",
        PROC,
    );
    assert_eq!(
        out.rule.detection.conditions[0].text,
        "not extra and (selection and not filter)"
    );
    assert_eq!(search(&out.rule, "extra"), "cat='process_creation-windows'");
}

#[test]
fn add_condition_keyword_and_list() {
    let out = run("transformations:\n  - type: add_condition\n    conditions:\n      null: ParentProcessGuid\n", PROC);
    assert_eq!(search(&out.rule, "_cond_1"), "='ParentProcessGuid'");
    let out = run("transformations:\n  - type: add_condition\n    conditions:\n      - {Channel: A, EventID: 1}\n      - {Channel: B}\n", PROC);
    assert_eq!(
        search(&out.rule, "_cond_1"),
        "(Channel='A' AND EventID=1) OR (Channel='B')"
    );
}

#[test]
fn change_logsource_and_rule_conditions() {
    let p = "transformations:\n  - id: ch\n    type: change_logsource\n    service: sysmon\n    product: windows\n    rule_conditions:\n      - type: logsource\n        category: process_creation\n  - id: after\n    type: set_state\n    key: k\n    val: 1\n    rule_conditions:\n      - type: logsource\n        service: sysmon\n  - id: never\n    type: set_state\n    key: k2\n    val: 1\n    rule_conditions:\n      - type: logsource\n        category: process_creation\n";
    let out = run(p, PROC);
    assert_eq!(out.rule.logsource.service.as_deref(), Some("sysmon"));
    assert_eq!(out.rule.logsource.category, None);
    assert_eq!(out.applied, ["ch", "after"]);
    assert_eq!(out.state.get("k"), Some(&serde_json::json!(1)));
}

#[test]
fn replace_string_and_map_string() {
    let out = run(
        "transformations:\n  - type: replace_string\n    regex: '^\\*\\\\(.*)$'\n    replacement: '*/\\1'\n",
        PROC,
    );
    assert_eq!(
        search(&out.rule, "selection"),
        "Image='*/cmd.exe' AND CommandLine='*whoami*'"
    );
    let out = run(
        "transformations:\n  - type: replace_string\n    regex: 'o'\n    replacement: '0'\n    skip_special: true\n",
        PROC,
    );
    assert_eq!(
        search(&out.rule, "selection"),
        "Image='*\\cmd.exe' AND CommandLine='*wh0ami*'"
    );
    let out = run(
        "transformations:\n  - type: map_string\n    mapping:\n      '*whoami*': ['*a*', '*b*']\n",
        PROC,
    );
    assert_eq!(
        search(&out.rule, "selection"),
        "Image='*\\cmd.exe' AND CommandLine='*a*'|'*b*'"
    );
}

#[test]
fn set_value_convert_type_case_regex() {
    let out = run("transformations:\n  - type: set_value\n    value: 5\n    field_name_conditions:\n      - type: include_fields\n        fields: [Image]\n", PROC);
    assert_eq!(
        search(&out.rule, "selection"),
        "Image=5 AND CommandLine='*whoami*'"
    );
    let out = run("transformations:\n  - type: set_value\n    value: 5\n  - type: convert_type\n    target_type: str\n", PROC);
    assert_eq!(search(&out.rule, "filter"), "ParentImage='5'");
    let out = run("transformations:\n  - type: set_value\n    value: '42'\n  - type: convert_type\n    target_type: num\n", PROC);
    assert!(
        matches!(out.rule.detection.searches[1].detection.entries[0], DetectionEntry::Item(ref i) if i.values[0].value == Value::Number { value: Number::Int(42) })
    );
    let out = run(
        "transformations:\n  - type: case\n    method: upper\n",
        PROC,
    );
    assert_eq!(
        search(&out.rule, "selection"),
        "Image='*\\CMD.EXE' AND CommandLine='*WHOAMI*'"
    );
    let out = run("transformations:\n  - type: regex\n    method: ignore_case_flag\n    field_name_conditions:\n      - type: include_fields\n        fields: [CommandLine]\n", PROC);
    assert_eq!(
        search(&out.rule, "selection"),
        "Image='*\\cmd.exe' AND CommandLine=re:.*whoami.*/i"
    );
    let out = run("transformations:\n  - type: regex\n    field_name_conditions:\n      - type: include_fields\n        fields: [CommandLine]\n", PROC);
    assert_eq!(
        search(&out.rule, "selection"),
        "Image='*\\cmd.exe' AND CommandLine=re:.*[wW][hH][oO][aA][mM][iI].*"
    );
}

#[test]
fn state_custom_attribute_and_fields() {
    let out = run(
        "transformations:\n  - type: set_state\n    key: index\n    val: logs-*\n  - type: set_custom_attribute\n    attribute: team\n    value: blue\n  - type: add_field\n    field: [a, b]\n  - type: remove_field\n    field: CommandLine\n",
        PROC,
    );
    assert_eq!(out.state["index"], serde_json::json!("logs-*"));
    assert_eq!(out.rule.meta.custom["team"], serde_json::json!("blue"));
    assert_eq!(out.rule.meta.fields, ["Image", "a", "b"]);
    let out = run(
        "transformations:\n  - type: set_field\n    fields: [x]\n",
        PROC,
    );
    assert_eq!(out.rule.meta.fields, ["x"]);
}

#[test]
fn failures() {
    let p = pipe("transformations:\n  - type: rule_failure\n    message: not for this backend\n    rule_conditions:\n      - type: logsource\n        product: windows\n");
    let e = p.apply(&rule(PROC)).unwrap_err();
    assert_eq!(e.message, "not for this backend");
    assert_eq!(e.kind, ErrorKind::Pipeline);
    let p = pipe("transformations:\n  - type: detection_item_failure\n    message: no parents\n    field_name_conditions:\n      - type: include_fields\n        fields: [ParentImage]\n");
    let e = p.apply(&rule(PROC)).unwrap_err();
    assert_eq!((e.message.as_str(), e.location.line), ("no parents", 9));
    let p = pipe("transformations:\n  - type: field_name_mapping\n    mapping: {Image: a}\n  - type: strict_field_mapping_failure\n");
    let e = p.apply(&rule(PROC)).unwrap_err();
    assert!(e.message.contains("CommandLine"), "{e}");
}

#[test]
fn placeholders() {
    let r = r#"
title: t
logsource: {product: windows}
detection:
    selection:
        User|expand: '%admins%'
        Host|expand: 'pre-%hosts%-post'
    condition: selection
"#;
    let out = run("vars:\n  admins: [root, admin]\n  hosts: h1\ntransformations:\n  - type: value_placeholders\n    include: [admins]\n  - type: wildcard_placeholders\n", r);
    assert_eq!(
        search(&out.rule, "selection"),
        "User='root'|'admin' AND Host='pre-*-post'"
    );
    let e = pipe("transformations:\n  - type: value_placeholders\n")
        .apply(&rule(r))
        .unwrap_err();
    assert!(e.message.contains("admins"), "{e}");
    // Placeholders multiply (n^k values); the product is bounded per value
    // and per rule.
    let many: Vec<String> = (0..400).map(|i| i.to_string()).collect();
    let vars = format!(
        "vars:\n  n: [{}]\ntransformations:\n  - type: value_placeholders\n",
        many.join(", ")
    );
    let big = |v: &str| {
        format!("title: t\nlogsource: {{product: windows}}\ndetection:\n    selection:\n        User|expand: {v}\n    condition: selection\n")
    };
    let e = pipe(&vars).apply(&rule(&big("'%n%-%n%'"))).err();
    assert!(e.is_some_and(|e| e.message.contains("more than 100000")));
    let values = format!("[{}]", vec!["'%n%'"; 300].join(", "));
    let e = pipe(&vars).apply(&rule(&big(&values))).err();
    assert!(e.is_some_and(|e| e.message.contains("more than 100000") && e.location.line == 5));
    let e = pipe("transformations:\n  - type: query_expression_placeholders\n    expression: '{field} in list'\n").apply(&rule(r)).unwrap_err();
    assert!(e.message.contains("not supported"), "{e}");
}

#[test]
fn hashes_fields() {
    let r = "title: t\nlogsource: {product: windows}\ndetection:\n    selection:\n        Hashes|contains: ['SHA256=AAAA', 'MD5=BBBB', 'IMPHASH=CC']\n    condition: selection\n";
    let out = run("transformations:\n  - type: hashes_fields\n    valid_hash_algos: [MD5, SHA256]\n    field_prefix: File\n", r);
    assert_eq!(
        search(&out.rule, "selection"),
        "(FileSHA256='AAAA' OR FileMD5='BBBB')"
    );
}

#[test]
fn detection_item_and_field_conditions() {
    let p = "transformations:\n  - id: first\n    type: field_name_mapping\n    mapping: {Image: proc}\n  - type: field_name_prefix\n    prefix: 'x.'\n    field_name_conditions:\n      - type: processing_item_applied\n        processing_item_id: first\n    field_name_cond_not: true\n  - type: case\n    detection_item_conditions:\n      - type: match_string\n        cond: any\n        pattern: '\\*who'\n  - type: set_value\n    value: X\n    detection_item_conditions:\n      - type: contains_wildcard\n        cond: any\n    detection_item_cond_not: true\n";
    let out = run(p, PROC);
    assert_eq!(
        search(&out.rule, "selection"),
        "proc='*\\cmd.exe' AND x.CommandLine='*whoami*'"
    );
    assert_eq!(search(&out.rule, "filter"), "x.ParentImage='X'");
    let p = "transformations:\n  - type: field_name_prefix\n    prefix: 'e.'\n    field_name_conditions:\n      - type: include_fields\n        fields: ['^Parent', 'Comm.*']\n        mode: re\n";
    let out = run(p, PROC);
    assert_eq!(
        search(&out.rule, "selection"),
        "Image='*\\cmd.exe' AND e.CommandLine='*whoami*'"
    );
    let p = "transformations:\n  - type: field_name_prefix\n    prefix: 'e.'\n    field_name_conditions:\n      - type: exclude_fields\n        fields: [Image, CommandLine]\n";
    assert_eq!(
        search(&run(p, PROC).rule, "filter"),
        "e.ParentImage='C:\\Windows\\explorer.exe'"
    );
    let r = "title: t\nlogsource: {product: windows}\ndetection:\n    selection:\n        a: null\n        b: 1\n    condition: selection\n";
    let out = run("transformations:\n  - type: set_value\n    value: z\n    detection_item_conditions:\n      - type: is_null\n        cond: all\n", r);
    assert_eq!(search(&out.rule, "selection"), "a='z' AND b=1");
    let out = run("transformations:\n  - type: set_value\n    value: 7\n    detection_item_conditions:\n      - type: match_value\n        cond: any\n        value: 1\n", r);
    assert_eq!(search(&out.rule, "selection"), "a=null AND b=7");
}

#[test]
fn rule_condition_kinds_and_linking() {
    let r = "title: t\nid: 5e4a2a1c-0c1a-4d1e-9a4b-1d2f3e4a5b6c\nstatus: test\nlevel: high\ntags: [attack.t1059]\nlogsource: {category: process_creation, product: windows}\ndetection:\n    selection:\n        Image: x\n    condition: selection\n";
    let check = |conds: &str, expect: bool| {
        let p = format!(
            "transformations:\n  - id: it\n    type: set_state\n    key: k\n    val: v\n{conds}"
        );
        let out = pipe(&p).apply(&rule(r)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.applied.contains(&"it".to_string()), expect, "{conds}");
    };
    check(
        "    rule_conditions:\n      - type: tag\n        tag: attack.t1059\n",
        true,
    );
    check(
        "    rule_conditions:\n      - type: tag\n        tag: attack.t1000\n",
        false,
    );
    check("    rule_conditions:\n      - type: contains_detection_item\n        field: Image\n        value: x\n", true);
    check(
        "    rule_conditions:\n      - type: contains_field\n        field: Other\n",
        false,
    );
    check("    rule_conditions:\n      - type: is_sigma_rule\n", true);
    check(
        "    rule_conditions:\n      - type: is_sigma_correlation_rule\n",
        false,
    );
    check("    rule_conditions:\n      - type: rule_attribute\n        attribute: level\n        value: medium\n        op: gte\n", true);
    check("    rule_conditions:\n      - type: rule_attribute\n        attribute: status\n        value: stable\n", false);
    check("    rule_conditions:\n      - type: tag\n        tag: attack.t1000\n      - type: is_sigma_rule\n    rule_cond_op: or\n", true);
    check(
        "    rule_conditions:\n      - type: is_sigma_rule\n    rule_cond_not: true\n",
        false,
    );
    check("    rule_conditions:\n      a: {type: is_sigma_rule}\n      b: {type: tag, tag: attack.x}\n    rule_cond_expr: a and not b\n", true);
    check("    rule_conditions:\n      a: {type: is_sigma_rule}\n      b: {type: tag, tag: attack.x}\n    rule_cond_expr: (b or not a)\n", false);
    check("    rule_conditions:\n      - type: processing_state\n        key: nothing\n        val: 1\n", false);
}

#[test]
fn processing_state_and_applied_conditions() {
    let p = "transformations:\n  - id: s\n    type: set_state\n    key: n\n    val: 3\n  - id: t\n    type: set_state\n    key: ok\n    val: true\n    rule_conditions:\n      - type: processing_state\n        key: n\n        val: 2\n        op: gt\n  - id: u\n    type: set_state\n    key: ok2\n    val: true\n    rule_conditions:\n      - type: processing_item_applied\n        processing_item_id: t\n";
    let out = run(p, PROC);
    assert_eq!(out.applied, ["s", "t", "u"]);
}

#[test]
fn nest_items() {
    let p = "transformations:\n  - id: outer\n    type: nest\n    items:\n      - id: inner\n        type: field_name_prefix\n        prefix: 'n.'\n    rule_conditions:\n      - type: logsource\n        product: windows\n";
    let out = run(p, PROC);
    assert_eq!(
        search(&out.rule, "filter"),
        "n.ParentImage='C:\\Windows\\explorer.exe'"
    );
    assert_eq!(out.applied, ["inner", "outer"]);
}

#[test]
fn fieldref_values_are_mapped() {
    let r = "title: t\nlogsource: {product: windows}\ndetection:\n    selection:\n        A|fieldref: Image\n    condition: selection\n";
    let out = run(
        "transformations:\n  - type: field_name_mapping\n    mapping: {Image: proc, A: a}\n",
        r,
    );
    assert_eq!(search(&out.rule, "selection"), "a=ref:proc");
}

#[test]
fn chain_orders_by_priority() {
    let a = pipe(
        "name: a\npriority: 30\ntransformations:\n  - type: field_name_prefix\n    prefix: 'a.'\n",
    );
    let b = pipe("name: b\npriority: 10\nvars: {x: 1}\ntransformations:\n  - type: field_name_prefix\n    prefix: 'b.'\n");
    let c = Pipeline::chain(vec![a, b]);
    assert_eq!(c.name, "b+a");
    assert_eq!(c.vars["x"], ["1"]);
    let out = c.apply(&rule(PROC)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        search(&out.rule, "filter"),
        "a.b.ParentImage='C:\\Windows\\explorer.exe'"
    );
    assert_eq!(out.applied, ["b#1", "a#1"]);
}

#[test]
fn postprocessing_and_finalizers_are_kept() {
    let p = pipe("postprocessing:\n  - type: template\n    template: 'x {query}'\n    rule_conditions:\n      - type: logsource\n        product: windows\nfinalizers:\n  - type: concat\n    separator: ' OR '\n");
    assert_eq!(p.postprocessing[0].kind, "template");
    assert_eq!(p.postprocessing[0].params["template"], "x {query}");
    assert_eq!(p.postprocessing[0].rule_conditions.items.len(), 1);
    assert_eq!(p.finalizers[0].kind, "concat");
    assert_eq!(p.finalizers[0].params["separator"], " OR ");
}

fn load_err(text: &str) -> SigmaError {
    match Pipeline::from_yaml_str(text, Some(Path::new("bad.yml"))) {
        Ok(_) => panic!("loaded: {text}"),
        Err(e) => e,
    }
}

#[test]
fn malformed_pipelines_have_file_line_and_reason() {
    let cases: &[(&str, u32, &str)] = &[
        ("transformations:\n  - type: no_such_thing\n", 2, "unknown transformation type 'no_such_thing'"),
        ("transformations:\n  - type: field_name_mapping\n", 2, "needs the parameter 'mapping'"),
        ("transformations:\n  - type: field_name_prefix\n    prefix: x\n    bogus: 1\n", 4, "unknown parameter 'bogus'"),
        ("transformations:\n  - type: add_condition\n    conditions: 5\n", 3, "must be a mapping"),
        ("transformations:\n  - type: replace_string\n    regex: '('\n    replacement: x\n", 3, "invalid regular expression"),
        ("transformations:\n  - type: case\n    rule_conditions:\n      - type: nope\n", 4, "unknown rule condition type 'nope'"),
        ("transformations:\n  - type: case\n    field_name_conditions:\n      - type: include_fields\n        fields: ['(']\n        mode: re\n", 5, "invalid regular expression"),
        ("transformations:\n  - type: case\n    rule_conditions:\n      a: {type: is_sigma_rule}\n    rule_cond_expr: a and b\n", 5, "unknown condition 'b'"),
        ("transformations:\n  - type: case\n    rule_cond_op: xor\n", 3, "must be 'and' or 'or'"),
        ("transformations: {a: 1}\n", 1, "must be a list"),
        ("name: x\nsurprise: 1\n", 2, "unknown key 'surprise'"),
        ("transformations:\n  - type: case\n   bad_indent: [\n", 3, "invalid YAML"),
        ("finalizers:\n  - type: zip\n", 2, "unknown finalizer type 'zip'"),
        ("priority: high\n", 1, "'priority' must be an integer"),
        ("finalizers:\n  - type: json\n    indent: 9000000000000000000\n", 3, "'indent' of finalizer 'json' must be at most 64"),
        ("finalizers:\n  - type: nested\n    finalizers:\n      - type: yaml\n        indent: 65\n", 5, "must be at most 64, found 65"),
        ("transformations:\n  - type: case\n    detection_item_conditions:\n      - type: is_null\n", 4, "needs the parameter 'cond'"),
    ];
    for (text, line, reason) in cases {
        let e = load_err(text);
        assert_eq!(e.file.as_deref(), Some(Path::new("bad.yml")), "{text}");
        assert_eq!(e.kind, ErrorKind::Pipeline);
        assert!(e.message.contains(reason), "{text}: {e}");
        assert_eq!(e.location.line, *line, "{text}: {e}");
        assert!(
            e.to_string().starts_with(&format!("bad.yml:{line}:")),
            "{e}"
        );
    }
}

#[test]
fn file_loading() {
    let dir = std::env::temp_dir().join(format!("sigil-pipeline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let f = dir.join("mine.yml");
    std::fs::write(&f, "transformations:\n  - type: case\n").unwrap_or_else(|e| panic!("{e}"));
    let p = Pipeline::from_file(&f).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.name, "mine");
    let e = Pipeline::from_file(&dir.join("missing.yml")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Io);
    std::fs::write(&f, "transformations:\n  - type: nope\n").unwrap_or_else(|e| panic!("{e}"));
    let e = Pipeline::from_file(&f).unwrap_err();
    assert_eq!(e.file.as_deref(), Some(f.as_path()));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = SigmaString::default();
}

#[test]
fn state_conditions_on_items_and_fields() {
    let p = "transformations:\n  - type: set_state\n    key: mode\n    val: strict\n  - type: field_name_prefix\n    prefix: 's.'\n    field_name_conditions:\n      - type: processing_state\n        key: mode\n        val: strict\n  - type: case\n    method: upper\n    detection_item_conditions:\n      - type: processing_state\n        key: mode\n        val: lax\n";
    let out = run(p, PROC);
    assert_eq!(
        search(&out.rule, "filter"),
        "s.ParentImage='C:\\Windows\\explorer.exe'"
    );
    let p = "transformations:\n  - type: field_name_suffix\n    suffix: '.x'\n    field_name_conditions:\n      a: {type: include_fields, fields: [Image]}\n      b: {type: include_fields, fields: [CommandLine]}\n    field_name_cond_expr: a or b\n  - type: set_value\n    value: 1\n    detection_item_conditions:\n      w: {type: contains_wildcard, cond: any}\n      n: {type: is_null, cond: any}\n    detection_item_cond_expr: not w and not n\n";
    let out = run(p, PROC);
    assert_eq!(
        search(&out.rule, "selection"),
        "Image.x='*\\cmd.exe' AND CommandLine.x='*whoami*'"
    );
    assert_eq!(search(&out.rule, "filter"), "ParentImage=1");
}

#[test]
fn cond_expr_parser() {
    let e = conditions::CondExpr::Ref;
    let parsed = crate::pipeline::cond_parse::parse_cond_expr(
        "a and (b or not c)",
        Default::default(),
        None,
    );
    assert_eq!(
        parsed.ok(),
        Some(CondExpr::And(vec![
            e("a".into()),
            CondExpr::Or(vec![e("b".into()), CondExpr::Not(Box::new(e("c".into())))])
        ]))
    );
    for bad in ["a and", "(a", "a b", "and", ")"] {
        assert!(
            crate::pipeline::cond_parse::parse_cond_expr(bad, Default::default(), None).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn extract_fields() {
    let r = "title: t\nlogsource: {product: windows}\ndetection:\n    s:\n        Account: ['alice@corp', 'bob', 'carol@0042']\n    condition: s\n";
    let p = "transformations:\n  - type: extract_fields\n    regex: '(?P<user>[^@]+)@(?P<domain>.+)'\n    field_prefix: acct\n";
    assert_eq!(search(&run(p, r).rule, "s"), "((acct.user='alice' AND acct.domain='corp') OR (acct.user='carol' AND acct.domain='0042'))");
    let p = "transformations:\n  - type: extract_fields\n    regex: '(?P<user>[^@]+)@(?P<domain>.+)'\n    preserve_unmatched: true\n";
    assert_eq!(
        search(&run(p, r).rule, "s"),
        "((user='alice' AND domain='corp') OR Account='bob' OR (user='carol' AND domain='0042'))"
    );
    let e = load_err("transformations:\n  - type: extract_fields\n    regex: '(a)'\n");
    assert!(e.message.contains("named group"), "{e}");
}

#[test]
fn keywords_mapped_to_fields() {
    // Expected trees from pySigma 1.5.1.
    let r = "title: t\nlogsource: {product: windows}\ndetection:\n    kw:\n        - 'mimikatz'\n        - '*sekurlsa*'\n        - 5\n    sel:\n        Image: x\n    condition: kw and sel\n";
    let out = run("transformations:\n  - type: field_name_mapping\n    mapping:\n      null: message\n      Image: proc\n", r);
    assert_eq!(
        search(&out.rule, "kw"),
        "message='*mimikatz*'|'*sekurlsa*'|5"
    );
    assert_eq!(search(&out.rule, "sel"), "proc='x'");
    let out = run("transformations:\n  - type: field_name_mapping\n    mapping:\n      null: [message, raw]\n", r);
    assert_eq!(
        search(&out.rule, "kw"),
        "(message='*mimikatz*'|'*sekurlsa*'|5 OR raw='*mimikatz*'|'*sekurlsa*'|5)"
    );
}

#[test]
fn postprocessing_and_finalizers_apply_like_pysigma() {
    // Expected output from pySigma 1.5.1 + Splunk (whose query was `EventID=1`).
    let r = "title: T\nid: 5e4a2a1c-0c1a-4d1e-9a4b-1d2f3e4a5b6c\nstatus: test\nlevel: high\ndate: 2024-01-02\nauthor: me\ndescription: \"d é\"\nlogsource: {product: windows, service: security}\ndetection:\n    sel: {EventID: 1}\n    condition: sel\n";
    let p = pipe(concat!(
        "postprocessing:\n",
        "  - type: simple_template\n",
        "    template: \"{{x}} {query} | {rule.title} {rule.id} {rule.level} {rule.status} {rule.date} {rule.author} {rule.description}\"\n",
        "  - type: embed\n    prefix: '<'\n    suffix: '>'\n",
        "  - type: replace\n    pattern: 'Event(\\w+)'\n    replacement: 'E_\\1'\n",
        "  - type: json\n    json_template: '{\"q\": \"%QUERY%\", \"n\": [1, 2.5, true, null, \"é\"]}'\n",
        "finalizers:\n  - type: concat\n    separator: ' ;; '\n    prefix: '['\n    suffix: ']'\n",
    ));
    let processed = p.apply(&rule(r)).unwrap_or_else(|e| panic!("{e}"));
    let q = p
        .postprocess(&processed, "EventID=1")
        .unwrap_or_else(|e| panic!("{e}"));
    let expected = r#"{"q": "<{x} E_ID=1 | T 5e4a2a1c-0c1a-4d1e-9a4b-1d2f3e4a5b6c high test 2024-01-02 me d \u00e9>", "n": [1, 2.5, true, null, "\u00e9"]}"#;
    assert_eq!(q, expected);
    let all = p
        .finalize(&[q.clone(), q.clone()])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all, Some(format!("[{expected} ;; {expected}]")));
    let j = pipe("finalizers:\n  - type: json\n    indent: 2\n");
    assert_eq!(
        j.finalize(&[q]).unwrap_or_else(|e| panic!("{e}")).as_deref(),
        Some("[\n  \"{\\\"q\\\": \\\"<{x} E_ID=1 | T 5e4a2a1c-0c1a-4d1e-9a4b-1d2f3e4a5b6c high test 2024-01-02 me d \\\\u00e9>\\\", \\\"n\\\": [1, 2.5, true, null, \\\"\\\\u00e9\\\"]}\"\n]")
    );
    // The largest indent works; a larger one set in code is refused, not
    // allocated (the parser refuses it in files).
    let mut big = pipe("finalizers:\n  - type: json\n    indent: 64\n");
    assert!(big.finalize(&["a".into()]).is_ok());
    big.finalizers[0].params["indent"] = 9_000_000_000_000_000_000u64.into();
    let e = big.finalize(&["a".into()]).err();
    assert!(e.is_some_and(|e| e.message.contains("at most 64")));
    // A negative indent prints as `json.dumps(..., indent=-2)` does:
    // newlines, no indentation.
    let neg = pipe("finalizers:\n  - type: json\n    indent: -2\n");
    assert_eq!(
        neg.finalize(&["a".into(), "b".into()])
            .ok()
            .flatten()
            .as_deref(),
        Some("[\n\"a\",\n\"b\"\n]")
    );
    assert_eq!(pipe("name: x\n").finalize(&["a".into()]).ok(), Some(None));
    // Conditions, nesting and refusals.
    let p = pipe("postprocessing:\n  - type: nest\n    items:\n      - type: embed\n        prefix: 'L '\n        rule_conditions:\n          - type: logsource\n            product: linux\n      - type: embed\n        suffix: ' W'\n        rule_conditions:\n          - type: logsource\n            product: windows\n  - type: template\n    template: '{{ query }}'\n    rule_conditions:\n      - type: tag\n        tag: x.y\n");
    let processed = p.apply(&rule(r)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.postprocess(&processed, "q").ok().as_deref(), Some("q W"));
    let p = pipe("postprocessing:\n  - type: template\n    template: '{{ query }}'\n");
    assert!(p.postprocess(&processed, "q").is_err());
    let e = load_err("postprocessing:\n  - type: json\n    json_template: '{'\n");
    assert!(e.message.contains("not valid JSON"), "{e}");
    let e = load_err("postprocessing:\n  - type: embed\n    prefx: a\n");
    assert!(e.message.contains("unknown parameter 'prefx'"), "{e}");
}
