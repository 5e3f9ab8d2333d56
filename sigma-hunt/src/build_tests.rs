//! Tests of the parallel build: predicted EventIDs, the fallback plan and
//! the load report of rules that do not compile.

use super::*;

const RULES: &str = r#"
title: Whoami
id: 00000000-0000-0000-0000-000000000001
logsource: {product: windows, category: process_creation}
detection:
    sel:
        Image|endswith: ['\whoami.exe', '\hostname.exe']
        CommandLine|contains: ' /all'
    condition: sel
---
title: Network logon
id: 00000000-0000-0000-0000-000000000002
logsource: {product: windows, service: security}
detection:
    sel:
        EventID: [4625, 4624, 4624]
        LogonType: 3
    filter:
        TargetUserName|endswith: '$'
    condition: sel and not filter
---
title: One of
id: 00000000-0000-0000-0000-000000000003
logsource: {product: windows, service: security}
detection:
    sel1:
        EventID: 4720
    sel2:
        - EventID: 4726
          TargetUserName: 'admin'
        - EventID: 4738
    condition: 1 of sel*
---
title: Never
id: 00000000-0000-0000-0000-000000000004
logsource: {product: windows, category: process_creation}
detection:
    sel:
        EventID: 4624
        Image|endswith: '\x.exe'
    condition: sel
---
title: Keywords
id: 00000000-0000-0000-0000-000000000005
logsource: {product: windows, service: system}
detection:
    keywords:
        - 'disk full'
        - 'quota'
    condition: keywords
---
title: Placeholder
id: 00000000-0000-0000-0000-000000000006
logsource: {product: windows, service: security}
detection:
    sel:
        EventID: 4624
        WorkstationName|expand: '%Workstations%'
    condition: sel
---
title: Bad regex
id: 00000000-0000-0000-0000-000000000007
logsource: {product: windows, category: process_creation}
detection:
    sel:
        CommandLine|re: 'a\(b'
    condition: sel
---
title: Numbers and strings
id: 00000000-0000-0000-0000-000000000008
logsource: {product: windows, service: security}
detection:
    sel:
        EventID: ['4624', 4625]
    condition: sel or not sel
"#;

fn parsed() -> RuleSet {
    let set = sigma_core::parse_str(RULES, None);
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    set
}

/// [`parsed`] with an invalid regex in the "Bad regex" rule.
fn set() -> RuleSet {
    let mut set = parsed();
    // The parser rejects invalid regexes; a pipeline or a program can
    // still make one.
    for d in &mut set.documents {
        if let sigma_core::Document::Rule(r) = d {
            for s in &mut r.detection.searches {
                for e in &mut s.detection.entries {
                    if let sigma_core::DetectionEntry::Item(i) = e {
                        for v in &mut i.values {
                            if let sigma_core::Value::Regex { pattern, .. } = &mut v.value {
                                *pattern = "a(b".to_string();
                            }
                        }
                    }
                }
            }
        }
    }
    set
}

/// The plan, in a form that can be compared.
fn plan_view(e: &Engine) -> String {
    match &e.plan {
        Some(p) => format!(
            "{:?} {} {:?} {:?} {:?} {:?}",
            p.stats, p.needles, p.patterns, p.trigger, p.checks, p.always
        ),
        None => String::new(),
    }
}

#[test]
fn predicted_ids_hold() {
    let (e, held) = Engine::build_checked(&parsed(), EngineOptions::default(), false);
    assert!(held);
    assert_eq!(e.report.loaded, 7);
    assert_eq!(e.report.unsupported.len(), 1);
    // A rule failing for a reason the prediction does not see: the plan
    // is rebuilt.
    let (e, held) = Engine::build_checked(&set(), EngineOptions::default(), false);
    assert!(!held);
    assert_eq!(e.report.loaded, 6);
}

#[test]
fn fallback_plan_is_the_same() {
    let (a, _) = Engine::build_checked(&set(), EngineOptions::default(), false);
    let (b, _) = Engine::build_checked(&set(), EngineOptions::default(), true);
    assert!(!plan_view(&a).is_empty());
    assert_eq!(plan_view(&a), plan_view(&b));
}

#[test]
fn rules_that_do_not_compile_are_reported_as_before() {
    let e = Engine::build(&set(), EngineOptions::default());
    let msgs: Vec<&str> = e
        .report
        .unsupported
        .iter()
        .map(|(_, m)| m.as_str())
        .collect();
    assert_eq!(msgs.len(), 2);
    assert!(
        msgs[0].contains("unresolved placeholder '%Workstations%'"),
        "{msgs:?}"
    );
    // The message of the `regex` crate, as when rule regexes were
    // compiled at load time.
    let err = regex::RegexSetBuilder::new(["a(b"])
        .build()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert_eq!(
        msgs[1],
        format!("in search 'sel': regular expression not supported: {err}")
    );
}

#[test]
fn field_ids_follow_rule_order() {
    let e = Engine::build(&set(), EngineOptions::default());
    let names: Vec<&str> = (0..e.fields().len())
        .map(|i| e.fields().name(FieldId(i as u32)))
        .collect();
    // Channel and EventID first, then in the order rules read them
    // (Sysmon names, then the Security 4688 renames).
    assert_eq!(names[..2], ["Channel", "EventID"]);
    let image = names.iter().position(|n| *n == "Image");
    let new_process = names.iter().position(|n| *n == "NewProcessName");
    let logon_type = names.iter().position(|n| *n == "LogonType");
    assert!(image < new_process && new_process < logon_type);
    // The placeholder rule failed on its value, before its field was
    // interned.
    assert!(!names.contains(&"WorkstationName"));
}
