//! Every modifier and the chaining rules, through the rule parser.

use sigma_core::{
    parse_str, CompareOp, DetectionEntry, DetectionItem, Document, ErrorKind, Linking, Number,
    RegexFlags, SigmaString, TimePart, Value,
};

/// Parses a one-item selection `key: value` and returns the item, or the
/// error kind.
fn item(key: &str, value: &str) -> Result<DetectionItem, ErrorKind> {
    let text = format!(
        "title: T\nlogsource: {{product: x}}\ndetection:\n    sel:\n        '{key}': {value}\n    condition: sel\n"
    );
    let mut set = parse_str(&text, None);
    if let Some(e) = set.errors.pop() {
        return Err(e.kind);
    }
    let Some(Document::Rule(r)) = set.documents.pop() else {
        panic!("no rule")
    };
    let entry = r.detection.searches[0].detection.entries[0].clone();
    match entry {
        DetectionEntry::Item(i) => Ok(i),
        DetectionEntry::Group(_) => panic!("group"),
    }
}

fn values(key: &str, value: &str) -> Vec<Value> {
    item(key, value)
        .unwrap()
        .values
        .into_iter()
        .map(|v| v.value)
        .collect()
}

fn s(text: &str) -> Value {
    Value::string(SigmaString::parse(text))
}

fn lit(text: &str) -> Value {
    Value::string(SigmaString::literal(text))
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Expansion { values } => values
            .iter()
            .map(|v| match v {
                Value::String { value, .. } => value.to_string(),
                other => panic!("{other:?}"),
            })
            .collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn plain_values_and_types() {
    assert_eq!(values("a", "'x*y'"), vec![s("x*y")]);
    assert_eq!(
        values("a", "4624"),
        vec![Value::Number {
            value: Number::Int(4624)
        }]
    );
    assert_eq!(values("a", "'4624'"), vec![s("4624")]);
    assert_eq!(values("a", "true"), vec![Value::Bool { value: true }]);
    assert_eq!(values("a", "null"), vec![Value::Null]);
    assert_eq!(values("a", "[]"), vec![Value::Null]);
    assert_eq!(values("a", "''"), vec![s("")]);
    assert_eq!(
        values("a", "1.5"),
        vec![Value::Number {
            value: Number::Float(1.5)
        }]
    );
    let i = item("a", "[x, null]").unwrap();
    assert_eq!(i.linking, Linking::Or);
    assert_eq!(i.values.len(), 2);
}

#[test]
fn contains_startswith_endswith() {
    assert_eq!(values("a|contains", "x"), vec![s("*x*")]);
    assert_eq!(values("a|startswith", "x"), vec![s("x*")]);
    assert_eq!(values("a|endswith", "x"), vec![s("*x")]);
    assert_eq!(values("a|contains", "'*x'"), vec![s("*x*")]);
    assert_eq!(values("a|endswith", "'8???'"), vec![s("*8???")]);
    assert_eq!(item("a|contains", "5"), Err(ErrorKind::ModifierChain));
}

#[test]
fn all_links_values_with_and() {
    let i = item("a|contains|all", "[x, y]").unwrap();
    assert_eq!(i.linking, Linking::And);
    let i = item("|all", "[x, y]").unwrap();
    assert_eq!(i.field, None);
    assert_eq!(i.linking, Linking::And);
}

#[test]
fn base64_variants() {
    assert_eq!(
        values("a|base64", "'spinstall0.aspx'"),
        vec![lit("c3BpbnN0YWxsMC5hc3B4")]
    );
    assert_eq!(
        values("a|base64|contains", "'spinstall0.aspx'"),
        vec![s("*c3BpbnN0YWxsMC5hc3B4*")]
    );
    assert_eq!(
        strings(&values("a|base64offset|contains", "http")[0]),
        vec!["*aHR0c*", "*h0dH*", "*odHRw*"]
    );
    assert_eq!(
        strings(&values("a|wide|base64offset|contains", "ping")[0]),
        vec!["*cABpAG4AZw*", "*AAaQBuAGcA*", "*wAGkAbgBnA*"]
    );
    assert_eq!(item("a|contains|base64", "x"), Err(ErrorKind::InvalidValue));
}

#[test]
fn utf16_family() {
    assert_eq!(values("a|wide", "ab"), vec![lit("a\0b\0")]);
    assert_eq!(values("a|utf16le", "ab"), vec![lit("a\0b\0")]);
    assert_eq!(values("a|utf16be", "ab"), vec![lit("\0a\0b")]);
    assert_eq!(values("a|utf16|base64", "cmd"), vec![lit("//5jAG0AZAA=")]);
    assert_eq!(values("a|contains|wide", "ab"), vec![s("*a\0b\0*")]);
}

#[test]
fn windash_expands_flags() {
    let v = values("a|contains|windash", "' -enc '");
    assert_eq!(
        strings(&v[0]),
        vec!["* -enc *", "* /enc *", "* –enc *", "* —enc *", "* ―enc *"]
    );
    let v = values("a|windash|contains", "' /x'");
    assert_eq!(strings(&v[0])[0], "* -x*");
    assert_eq!(strings(&values("a|windash", "'x-y'")[0]), vec!["x-y"]);
    let i = item("a|windash|contains|all", "[' -a', ' -b']").unwrap();
    assert_eq!(i.linking, Linking::And);
    assert_eq!(i.values.len(), 2);
}

#[test]
fn regex_and_flags() {
    assert_eq!(
        values("a|re", "'\\\\[a-z]{8}\\.tmp$'"),
        vec![Value::Regex {
            pattern: r"\\[a-z]{8}\.tmp$".into(),
            flags: RegexFlags::default()
        }]
    );
    let v = values("a|re|i|m|s", "'x*'");
    assert_eq!(
        v,
        vec![Value::Regex {
            pattern: "x*".into(),
            flags: RegexFlags {
                ignore_case: true,
                multi_line: true,
                dot_all: true
            }
        }]
    );
    assert_eq!(values("a|re|ignorecase", "x"), values("a|re|i", "x"));
    assert_eq!(
        values("a|re|contains", "x"),
        vec![Value::Regex {
            pattern: ".*x.*".into(),
            flags: RegexFlags::default()
        }]
    );
    assert_eq!(item("a|all|re", "x"), Err(ErrorKind::ModifierChain));
    assert_eq!(item("a|cased|re", "x"), Err(ErrorKind::ModifierChain));
    assert_eq!(item("a|re", "'('"), Err(ErrorKind::InvalidRegex));
}

#[test]
fn cased() {
    assert_eq!(
        values("a|cased", "X"),
        vec![Value::String {
            value: SigmaString::parse("X"),
            cased: true
        }]
    );
    assert_eq!(
        values("a|cased|endswith", "X"),
        vec![Value::String {
            value: SigmaString::parse("*X"),
            cased: true
        }]
    );
    assert_eq!(
        values("a|endswith|cased", "X"),
        values("a|cased|endswith", "X")
    );
}

#[test]
fn cidr() {
    assert_eq!(
        values("a|cidr", "10.0.0.0/8"),
        vec![Value::Cidr {
            network: "10.0.0.0/8".into()
        }]
    );
    assert_eq!(
        values("a|cidr", "'fe80::/10'"),
        vec![Value::Cidr {
            network: "fe80::/10".into()
        }]
    );
    assert_eq!(item("a|cidr", "10.0.0.1/8"), Err(ErrorKind::InvalidCidr));
    assert_eq!(
        item("a|contains|cidr", "10.0.0.0/8"),
        Err(ErrorKind::ModifierChain)
    );
}

#[test]
fn exists() {
    assert_eq!(
        values("a|exists", "true"),
        vec![Value::Exists { value: true }]
    );
    assert_eq!(
        values("a|exists", "false"),
        vec![Value::Exists { value: false }]
    );
    assert_eq!(item("a|exists", "'yes'"), Err(ErrorKind::ModifierChain));
    assert_eq!(item("|exists", "true"), Err(ErrorKind::ModifierChain));
}

#[test]
fn expand_placeholders() {
    let v = values("a|expand", "'%Admins%'");
    let Value::String { value, .. } = &v[0] else {
        panic!()
    };
    assert!(value.has_placeholders());
    let v = values("a", "'%2e%2e'");
    let Value::String { value, .. } = &v[0] else {
        panic!()
    };
    assert!(!value.has_placeholders());
}

#[test]
fn fieldref() {
    assert_eq!(
        values("a|fieldref", "b"),
        vec![Value::FieldRef {
            field: "b".into(),
            starts_with: false,
            ends_with: false
        }]
    );
    assert_eq!(
        values("a|fieldref|endswith", "b"),
        vec![Value::FieldRef {
            field: "b".into(),
            starts_with: false,
            ends_with: true
        }]
    );
    assert_eq!(
        values("a|fieldref|contains", "b"),
        vec![Value::FieldRef {
            field: "b".into(),
            starts_with: true,
            ends_with: true
        }]
    );
    assert_eq!(
        item("a|contains|fieldref", "b"),
        Err(ErrorKind::InvalidValue)
    );
}

#[test]
fn comparisons_and_time_parts() {
    let cmp = |op, n| Value::Compare {
        op,
        value: Number::Int(n),
        part: None,
    };
    assert_eq!(values("a|gt", "5"), vec![cmp(CompareOp::Gt, 5)]);
    assert_eq!(values("a|gte", "5"), vec![cmp(CompareOp::Gte, 5)]);
    assert_eq!(values("a|lt", "5"), vec![cmp(CompareOp::Lt, 5)]);
    assert_eq!(values("a|lte", "5"), vec![cmp(CompareOp::Lte, 5)]);
    assert_eq!(item("a|gt", "'5'"), Err(ErrorKind::ModifierChain));
    assert_eq!(item("a|gt", "true"), Err(ErrorKind::ModifierChain));
    for (name, part) in [
        ("minute", TimePart::Minute),
        ("hour", TimePart::Hour),
        ("day", TimePart::Day),
        ("week", TimePart::Week),
        ("month", TimePart::Month),
        ("year", TimePart::Year),
    ] {
        assert_eq!(
            values(&format!("t|{name}"), "9"),
            vec![Value::TimestampPart {
                part,
                value: Number::Int(9)
            }]
        );
    }
    assert_eq!(
        values("t|hour|gte", "9"),
        vec![Value::Compare {
            op: CompareOp::Gte,
            value: Number::Int(9),
            part: Some(TimePart::Hour)
        }]
    );
    assert_eq!(item("t|gte|hour", "9"), Err(ErrorKind::ModifierChain));
}

#[test]
fn neq_negates_the_item() {
    let i = item("a|neq", "[x, y]").unwrap();
    assert!(i.negated);
    assert_eq!(i.linking, Linking::Or);
}

#[test]
fn detection_shapes() {
    let set = parse_str(
        "title: T\nlogsource: {product: x}\ndetection:\n    map: {a: 1, b: 2}\n    list_of_maps:\n        - a: 1\n        - b: 2\n    keywords:\n        - x\n        - y\n    condition: all of them\n",
        None,
    );
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    let Document::Rule(r) = &set.documents[0] else {
        panic!()
    };
    let d = &r.detection;
    assert_eq!(d.get("map").unwrap().detection.linking, Linking::And);
    assert_eq!(d.get("map").unwrap().detection.entries.len(), 2);
    let lom = &d.get("list_of_maps").unwrap().detection;
    assert_eq!(lom.linking, Linking::Or);
    assert!(matches!(lom.entries[0], DetectionEntry::Group(_)));
    let kw = &d.get("keywords").unwrap().detection;
    let DetectionEntry::Item(i) = &kw.entries[0] else {
        panic!()
    };
    assert_eq!(i.field, None);
    assert_eq!(i.values.len(), 2);
}
