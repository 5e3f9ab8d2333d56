//! Tests of the built-in pipelines: they load, and they act on corpus-like
//! rules the way pySigma's do (the oracle shows the expected text).

use super::tests::{rule, search};
use super::*;

#[test]
fn every_builtin_loads() {
    for name in Pipeline::builtin_names() {
        if let Some(text) = builtin::yaml(name) {
            if let Err(e) = Pipeline::from_yaml_str(text, Some(Path::new(name))) {
                panic!("{e}");
            }
        }
        let p = Pipeline::builtin(name).unwrap_or_else(|| panic!("{name}"));
        assert!(!p.items.is_empty(), "{name}");
        assert!(Pipeline::builtin_description(name).is_some(), "{name}");
    }
    assert!(Pipeline::builtin("nope").is_none());
}

fn apply(names: &[&str], r: &SigmaRule) -> ProcessedRule {
    let ps = names
        .iter()
        .map(|n| Pipeline::builtin(n).unwrap_or_else(|| panic!("{n}")))
        .collect();
    Pipeline::chain(ps)
        .apply(r)
        .unwrap_or_else(|e| panic!("{e}"))
}

const LSASS: &str = r#"
title: lsass access
logsource: {product: windows, service: security}
detection:
    selection:
        EventID: 4656
        ObjectName|endswith: '\lsass.exe'
    filter:
        ProcessName|endswith: '\procmon.exe'
        Initiated: 'true'
    condition: selection and not filter
"#;

const PROC: &str = r#"
title: whoami
logsource: {product: windows, category: process_creation}
detection:
    selection:
        Image|endswith: '\whoami.exe'
        ParentImage|endswith: '\cmd.exe'
        User|contains: 'SYSTEM'
    condition: selection
"#;

#[test]
fn splunk_windows_adds_source_and_maps_event_id() {
    let out = apply(&["splunk_windows"], &rule(LSASS));
    assert_eq!(
        out.rule.detection.conditions[0].text,
        "_cond_1 and (selection and not filter)"
    );
    assert_eq!(
        search(&out.rule, "_cond_1"),
        "source='WinEventLog:Security'"
    );
    assert_eq!(
        search(&out.rule, "selection"),
        "EventCode=4656 AND ObjectName='*\\lsass.exe'"
    );
    assert_eq!(
        out.applied,
        ["windows_logsource_security", "splunk_windows_field_mapping"]
    );
    // Category-only rules get nothing but the (inapplicable) mapping.
    let out = apply(&["splunk_windows"], &rule(PROC));
    assert_eq!(out.rule.detection.conditions[0].text, "selection");
    // PowerShell: a list of sources.
    let ps = rule("title: p\nlogsource: {product: windows, service: powershell}\ndetection:\n    s: {EventID: 4104}\n    condition: s\n");
    let out = apply(&["splunk_windows"], &ps);
    assert_eq!(
        search(&out.rule, "_cond_1"),
        "source='WinEventLog:Microsoft-Windows-PowerShell/Operational'|'WinEventLog:PowerShellCore/Operational'"
    );
}

#[test]
fn sysmon_then_splunk_windows() {
    let out = apply(
        &["splunk_windows", "sysmon", "splunk_sysmon_acceleration"],
        &rule(PROC),
    );
    assert_eq!(out.rule.logsource.service.as_deref(), Some("sysmon"));
    let c = &out.rule.detection.conditions[0].text;
    assert_eq!(c, "_cond_3 and (_cond_2 and (_cond_1 and (selection)))");
    assert_eq!(search(&out.rule, "_cond_1"), "EventCode=1");
    assert_eq!(
        search(&out.rule, "_cond_2"),
        "source='WinEventLog:Microsoft-Windows-Sysmon/Operational'"
    );
    assert_eq!(search(&out.rule, "_cond_3"), "='ParentProcessGuid'");
}

#[test]
fn ecs_windows_maps_prefixes_and_stringifies() {
    let out = apply(&["ecs_windows"], &rule(LSASS));
    assert_eq!(search(&out.rule, "_cond_1"), "winlog.channel='Security'");
    assert_eq!(
        search(&out.rule, "selection"),
        "event.code='4656' AND winlog.event_data.ObjectName='*\\lsass.exe'"
    );
    assert_eq!(
        search(&out.rule, "filter"),
        "process.executable.caseless='*\\procmon.exe' AND winlog.event_data.Initiated='true'"
    );
    let out = apply(&["ecs_windows"], &rule(PROC));
    assert_eq!(
        search(&out.rule, "selection"),
        "process.executable.caseless='*\\whoami.exe' AND process.parent.executable.caseless='*\\cmd.exe' AND user.name='*SYSTEM*'"
    );
    let net = "title: n\nlogsource: {product: windows, category: network_connection}\ndetection:\n    s:\n        Initiated: true\n        DestinationPort: 445\n    condition: s\n";
    let out = apply(&["ecs_windows"], &rule(net));
    assert_eq!(
        search(&out.rule, "s"),
        "network.direction='egress' AND destination.port=445"
    );
    // A quoted 'true' is a string: pySigma's match_value does not compare it with a boolean.
    let out = apply(&["ecs_windows"], &rule(&net.replace("true", "'true'")));
    assert_eq!(
        search(&out.rule, "s"),
        "network.direction='true' AND destination.port=445"
    );
}

#[test]
fn ecs_windows_old_and_windows_audit() {
    let out = apply(&["ecs_windows_old"], &rule(LSASS));
    assert_eq!(
        search(&out.rule, "selection"),
        "event_id=4656 AND event_data.ObjectName='*\\lsass.exe'"
    );
    let out = apply(&["windows-audit"], &rule(PROC));
    assert_eq!(out.rule.logsource.service.as_deref(), Some("security"));
    assert_eq!(search(&out.rule, "_cond_1"), "EventID=4688");
    assert!(search(&out.rule, "selection")
        .starts_with("NewProcessName='*\\whoami.exe' AND ParentProcessName="));
    let out = apply(&["windows-logsources"], &rule(LSASS));
    assert_eq!(search(&out.rule, "_cond_1"), "Channel='Security'");
}

#[test]
fn splunk_cim_sets_state_and_refuses() {
    let out = apply(&["splunk_cim"], &rule(PROC));
    assert_eq!(
        out.state.get("data_model_set"),
        Some(&serde_json::json!("Endpoint.Processes"))
    );
    assert!(search(&out.rule, "selection").starts_with("Processes.process_path="));
    let e = Pipeline::builtin("splunk_cim").map(|p| p.apply(&rule(LSASS)));
    assert!(matches!(e, Some(Err(_))));
}

#[test]
fn windows_hunt_routes_categories_and_services() {
    let out = apply(&["windows-hunt"], &rule(PROC));
    assert_eq!(
        search(&out.rule, "_cond_1"),
        "(Channel='Microsoft-Windows-Sysmon/Operational' AND EventID=1) OR (Channel='Security' AND EventID=4688)"
    );
    assert_eq!(
        out.rule.detection.conditions[0].text,
        "_cond_1 and (selection)"
    );
    assert!(search(&out.rule, "selection").starts_with(
        "(Image='*\\whoami.exe' OR NewProcessName='*\\whoami.exe') AND (ParentImage="
    ));
    let out = apply(&["windows-hunt"], &rule(LSASS));
    assert_eq!(search(&out.rule, "_cond_1"), "Channel='Security'");
    let reg = rule("title: r\nlogsource: {product: windows, category: registry_set}\ndetection:\n    s: {TargetObject|contains: 'Run'}\n    condition: s\n");
    let out = apply(&["windows-hunt"], &reg);
    assert_eq!(
        search(&out.rule, "_cond_1"),
        "(Channel='Microsoft-Windows-Sysmon/Operational' AND EventID=13) OR (Channel='Security' AND EventID=4657 AND OperationType='Existing registry value modified')"
    );
}

#[test]
fn routing_table_as_data() {
    let routes = windows_logsource_routes();
    assert!(routes.len() > 70, "{}", routes.len());
    let alts = routes_for(routes, Some("ps_script"), Some("windows"), None).unwrap_or_default();
    assert_eq!(alts.len(), 1);
    assert_eq!(
        alts[0].channel,
        [
            "Microsoft-Windows-PowerShell/Operational",
            "PowerShellCore/Operational"
        ]
    );
    assert_eq!(alts[0].event_ids, [4104]);
    let alts = routes_for(routes, None, Some("windows"), Some("sysmon")).unwrap_or_default();
    assert_eq!(alts[0].channel, ["Microsoft-Windows-Sysmon/Operational"]);
    assert!(alts[0].event_ids.is_empty());
    let alts = routes_for(
        routes,
        Some("process_creation"),
        Some("windows"),
        Some("sysmon"),
    )
    .unwrap_or_default();
    assert_eq!(alts.len(), 1);
    assert_eq!(alts[0].event_ids, [1]);
    let reg = routes_for(routes, Some("registry_event"), Some("windows"), None).unwrap_or_default();
    assert_eq!(reg[0].event_ids, [12, 13, 14]);
    assert_eq!(reg[1].unsupported_fields, ["EventType", "NewName", "User"]);
    assert!(routes_for(routes, Some("webserver"), None, None).is_none());
    assert!(routes_for(routes, Some("antivirus"), Some("windows"), None).is_none());
    assert!(routes_for(routes, None, Some("windows"), Some("unknown")).is_none());
    assert!(routes_for(routes, None, Some("linux"), Some("auditd")).is_none());
}

fn shared() -> Option<std::path::PathBuf> {
    let p = std::env::var("SIGIL_SHARED")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared"))
        });
    if p.join("oracle").is_dir() {
        Some(p)
    } else {
        eprintln!("skipping: ../shared (or $SIGIL_SHARED) not found");
        None
    }
}

fn fields(d: &crate::Detection, out: &mut Vec<String>) {
    for e in &d.entries {
        match e {
            crate::DetectionEntry::Item(i) => out.extend(i.field.clone()),
            crate::DetectionEntry::Group(g) => fields(g, out),
        }
    }
}

/// Applies a built-in pipeline to corpus rules and checks that every field
/// name of the transformed rule appears in pySigma's query for that rule
/// (oracle), and that the rule's own field names were renamed away.
#[test]
fn corpus_rules_match_the_oracle_field_names() {
    let Some(shared) = shared() else { return };
    let rules = [
        "rules/windows/builtin/security/win_security_susp_lsass_dump_generic.yml",
        "rules/windows/process_creation/proc_creation_win_renamed_whoami.yml",
        "rules/windows/network_connection/net_connection_win_susp_binary_no_cmdline.yml",
        "rules/windows/powershell/powershell_script/posh_ps_mailboxexport_share.yml",
        "rules/windows/registry/registry_set/registry_set_disable_defender_firewall.yml",
    ];
    for (pipeline, oracle, channel) in [
        (
            "splunk_windows",
            "splunk_default_splunk_windows.jsonl",
            "source",
        ),
        (
            "ecs_windows",
            "lucene_default_ecs_windows.jsonl",
            "winlog.channel",
        ),
    ] {
        let text = std::fs::read_to_string(shared.join("oracle").join(oracle)).unwrap_or_default();
        let p = Pipeline::builtin(pipeline).unwrap_or_else(|| panic!("{pipeline}"));
        for rel in rules {
            let path = shared.join("corpus/sigma").join(rel);
            let Some(line) = text
                .lines()
                .find(|l| l.contains(&format!("\"path\": \"{rel}\"")))
            else {
                panic!("{rel} not in {oracle}");
            };
            let entry: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
            let query = entry["queries"][0].as_str().unwrap_or_default();
            let set = crate::load_file(&path);
            let Some(crate::Document::Rule(r)) = set.documents.first() else {
                panic!("{rel}")
            };
            let out = p.apply(r).unwrap_or_else(|e| panic!("{e}"));
            let mut names = Vec::new();
            out.rule
                .detection
                .searches
                .iter()
                .for_each(|s| fields(&s.detection, &mut names));
            for n in &names {
                assert!(
                    query.contains(n.as_str()),
                    "{pipeline} {rel}: field {n} not in {query}"
                );
            }
            let service = r.logsource.service.is_some();
            assert_eq!(
                names.iter().any(|n| n == channel),
                service,
                "{pipeline} {rel}"
            );
            assert_eq!(query.contains(channel), service, "{pipeline} {rel}");
        }
    }
}

const CORRELATION: &str = r#"title: Failed logon
name: failed_logon
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4625
    condition: selection
---
title: Many failed logons
correlation:
    type: value_count
    rules:
        - failed_logon
    group-by:
        - TargetUserName
        - src
    aliases:
        src:
            failed_logon: IpAddress
    timespan: 5m
    condition:
        gte: 10
        field: EventID
fields: [TargetUserName, Image]
"#;

/// Expected values produced by pySigma 1.5.1 on the same input.
#[test]
fn correlation_rules_get_field_mappings() {
    let set = crate::parse_str(CORRELATION, None);
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    let base = set.documents.iter().find_map(|d| match d {
        crate::Document::Rule(r) => Some(r),
        _ => None,
    });
    let corr = set.documents.iter().find_map(|d| match d {
        crate::Document::Correlation(c) => Some(c),
        _ => None,
    });
    let (Some(base), Some(corr)) = (base, corr) else {
        panic!("documents")
    };
    let ecs = Pipeline::builtin("ecs_windows").unwrap_or_else(|| panic!("ecs"));
    let out = ecs
        .apply_correlation(corr, &[base])
        .unwrap_or_else(|e| panic!("{e}"));
    let c = &out.rule.correlation;
    assert_eq!(c.group_by, ["winlog.event_data.TargetUserName", "src"]);
    assert_eq!(
        c.aliases[0].fields,
        [("failed_logon".to_string(), "source.ip".to_string())]
    );
    assert!(
        matches!(&c.condition, crate::CorrelationCondition::Threshold { field, .. } if field == &["event.code"])
    );
    assert_eq!(
        out.rule.meta.fields,
        [
            "winlog.event_data.TargetUserName",
            "process.executable.caseless"
        ]
    );
    let mut applied = out.applied.clone();
    applied.sort();
    assert_eq!(
        applied,
        [
            "ecs_windows_field_mapping",
            "ecs_windows_winlog_eventdata_prefix",
            "elasticsearch_windows-CommandLine-service-security",
            "elasticsearch_windows-ServiceName-service-security",
            "elasticsearch_windows-SubjectDomainName-service-security",
            "elasticsearch_windows-SubjectLogonId-service-security",
            "elasticsearch_windows-SubjectUserName-service-security",
            "elasticsearch_windows-SubjectUserSid-service-security",
            "elasticsearch_windows-TargetLogonId-service-security",
            "network_direction_egress",
            "network_direction_ingress",
            "values_to_str",
            "windows_logsource_security",
        ]
    );
    let splunk = Pipeline::builtin("splunk_windows").unwrap_or_else(|| panic!("splunk"));
    let out = splunk
        .apply_correlation(corr, &[base])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.rule.correlation.group_by, ["TargetUserName", "src"]);
    assert!(
        matches!(&out.rule.correlation.condition, crate::CorrelationCondition::Threshold { field, .. } if field == &["EventCode"])
    );
    assert_eq!(
        out.applied,
        ["windows_logsource_security", "splunk_windows_field_mapping"]
    );
    // Without referenced rules, logsource conditions do not hold.
    let out = splunk
        .apply_correlation(corr, &[])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.applied, ["splunk_windows_field_mapping"]);
}
