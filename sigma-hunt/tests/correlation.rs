//! Correlation semantics with hand-written events: windows, group-by,
//! ordered versus unordered temporal, threshold edges, out-of-order input,
//! the specification's examples, and bounded state.

use std::collections::BTreeMap;

use sigma_hunt::incident::correlate::{CorrEvent, CorrelationAlert, CorrelationSet};

const MIN: i64 = 60_000;

fn set(yaml: &str) -> CorrelationSet {
    let rules = sigma_core::parse_str(yaml, None);
    assert!(rules.errors.is_empty(), "{:?}", rules.errors);
    let (set, problems) = CorrelationSet::new(&rules);
    assert!(problems.is_empty(), "{problems:?}");
    set
}

fn ev(rule: &str, minute: i64, fields: &[(&str, &str)], hit: usize) -> CorrEvent {
    CorrEvent {
        rule_id: None,
        rule_name: Some(rule.to_string()),
        time: minute * MIN,
        fields: fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        hits: vec![hit],
    }
}

fn base(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| {
            format!(
                "title: {n}\nname: {n}\nlogsource: {{product: windows}}\ndetection:\n    s: {{EventID: 1}}\n    condition: s\n---\n"
            )
        })
        .collect()
}

fn corr(kind: &str, rules: &[&str], group: &[&str], timespan: &str, condition: &str) -> String {
    format!(
        "{}title: C\nname: c\ncorrelation:\n    type: {kind}\n    rules: [{}]\n    group-by: [{}]\n    timespan: {timespan}\n{condition}level: high\n",
        base(rules),
        rules.join(", "),
        group.join(", ")
    )
}

fn run(s: &CorrelationSet, events: Vec<CorrEvent>) -> Vec<CorrelationAlert> {
    s.run(events).0
}

#[test]
fn event_count_inside_and_outside_the_window() {
    let s = set(&corr(
        "event_count",
        &["a"],
        &["Host"],
        "10m",
        "    condition: {gte: 3}\n",
    ));
    let h = [("Host", "h1")];
    // Three events within 10 minutes: one alert.
    let a = run(
        &s,
        vec![ev("a", 0, &h, 0), ev("a", 4, &h, 1), ev("a", 9, &h, 2)],
    );
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].hits, vec![0, 1, 2]);
    assert_eq!(a[0].value, 3.0);
    assert_eq!(a[0].group.get("Host").map(String::as_str), Some("h1"));
    // Spread over 22 minutes: never three inside one window.
    let a = run(
        &s,
        vec![ev("a", 0, &h, 0), ev("a", 11, &h, 1), ev("a", 22, &h, 2)],
    );
    assert!(a.is_empty());
    // The window slides: 0, 11, 15, 19 → 11..19 has three.
    let a = run(
        &s,
        vec![
            ev("a", 0, &h, 0),
            ev("a", 11, &h, 1),
            ev("a", 15, &h, 2),
            ev("a", 19, &h, 3),
        ],
    );
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].hits, vec![1, 2, 3]);
}

#[test]
fn group_by_separates_groups() {
    let s = set(&corr(
        "event_count",
        &["a"],
        &["Host"],
        "10m",
        "    condition: {gte: 2}\n",
    ));
    let a = run(
        &s,
        vec![
            ev("a", 0, &[("Host", "h1")], 0),
            ev("a", 1, &[("Host", "h2")], 1),
        ],
    );
    assert!(a.is_empty());
    let a = run(
        &s,
        vec![
            ev("a", 0, &[("Host", "h1")], 0),
            ev("a", 1, &[("Host", "h2")], 1),
            ev("a", 2, &[("Host", "h2")], 2),
        ],
    );
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].group.get("Host").map(String::as_str), Some("h2"));
    // An event without the group-by field is not counted.
    let (a, stats) = s.run(vec![ev("a", 0, &[], 0), ev("a", 1, &[], 1)]);
    assert!(a.is_empty());
    assert_eq!(stats.missing_group_field, 2);
}

#[test]
fn threshold_edges() {
    let events = |n: usize| {
        (0..n)
            .map(|i| ev("a", i as i64, &[("H", "x")], i))
            .collect::<Vec<_>>()
    };
    let fires = |cond: &str, n: usize| {
        let s = set(&corr(
            "event_count",
            &["a"],
            &["H"],
            "1h",
            &format!("    condition: {cond}\n"),
        ));
        !run(&s, events(n)).is_empty()
    };
    assert!(!fires("{gt: 3}", 3));
    assert!(fires("{gt: 3}", 4));
    assert!(fires("{gte: 3}", 3));
    assert!(!fires("{gte: 3}", 2));
    assert!(fires("{lt: 3}", 2));
    assert!(!fires("{lt: 3}", 3));
    assert!(fires("{lte: 3}", 3));
    assert!(!fires("{lte: 3}", 4));
    assert!(fires("{eq: 3}", 3));
    assert!(!fires("{eq: 3}", 4));
    assert!(fires("{neq: 3}", 4));
    assert!(!fires("{neq: 3}", 3));
    // A range (allowed by the specification) is an AND of its bounds.
    assert!(fires("{gt: 2, lte: 4}", 4));
    assert!(!fires("{gt: 2, lte: 4}", 5));
    assert!(!fires("{gt: 2, lte: 4}", 2));
}

#[test]
fn value_count_counts_distinct_values() {
    let s = set(&corr(
        "value_count",
        &["a"],
        &["H"],
        "1h",
        "    condition: {gte: 3, field: User}\n",
    ));
    let a = run(
        &s,
        vec![
            ev("a", 0, &[("H", "x"), ("User", "u1")], 0),
            ev("a", 1, &[("H", "x"), ("User", "u1")], 1),
            ev("a", 2, &[("H", "x"), ("User", "u2")], 2),
        ],
    );
    assert!(a.is_empty());
    let a = run(
        &s,
        vec![
            ev("a", 0, &[("H", "x"), ("User", "u1")], 0),
            ev("a", 1, &[("H", "x"), ("User", "u2")], 1),
            ev("a", 2, &[("H", "x"), ("User", "u3")], 2),
        ],
    );
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].value, 3.0);
}

#[test]
fn temporal_is_unordered_and_temporal_ordered_is_not() {
    let unordered = set(&corr("temporal", &["a", "b"], &["H"], "10m", ""));
    let ordered = set(&corr("temporal_ordered", &["a", "b"], &["H"], "10m", ""));
    let h = [("H", "x")];
    let b_then_a = vec![ev("b", 0, &h, 0), ev("a", 1, &h, 1)];
    let a_then_b = vec![ev("a", 0, &h, 0), ev("b", 1, &h, 1)];
    assert_eq!(run(&unordered, b_then_a.clone()).len(), 1);
    assert_eq!(run(&unordered, a_then_b.clone()).len(), 1);
    assert!(run(&ordered, b_then_a).is_empty());
    assert_eq!(run(&ordered, a_then_b).len(), 1);
    // Outside the window: nothing.
    assert!(run(&unordered, vec![ev("a", 0, &h, 0), ev("b", 11, &h, 1)]).is_empty());
}

#[test]
fn temporal_expression_condition() {
    let s = set(&format!(
        "{}title: C\ncorrelation:\n    type: temporal\n    rules: [a, b]\n    group-by: [H]\n    timespan: 10m\n    condition: a and not b\n",
        base(&["a", "b"])
    ));
    let h = [("H", "x")];
    assert_eq!(run(&s, vec![ev("a", 0, &h, 0)]).len(), 1);
    assert!(run(&s, vec![ev("a", 0, &h, 0), ev("b", 1, &h, 1)]).is_empty());
}

#[test]
fn value_aggregates() {
    let mk = |kind: &str, cond: &str| {
        set(&corr(
            kind,
            &["a"],
            &["H"],
            "1h",
            &format!("    condition: {cond}\n"),
        ))
    };
    let evs = || {
        vec![
            ev("a", 0, &[("H", "x"), ("Bytes", "10")], 0),
            ev("a", 1, &[("H", "x"), ("Bytes", "20")], 1),
            ev("a", 2, &[("H", "x"), ("Bytes", "90")], 2),
        ]
    };
    assert_eq!(
        run(&mk("value_sum", "{gte: 120, field: Bytes}"), evs())[0].value,
        120.0
    );
    assert!(run(&mk("value_sum", "{gt: 120, field: Bytes}"), evs()).is_empty());
    assert_eq!(
        run(&mk("value_avg", "{eq: 40, field: Bytes}"), evs())[0].value,
        40.0
    );
    assert_eq!(
        run(&mk("value_median", "{eq: 20, field: Bytes}"), evs())[0].value,
        20.0
    );
    assert_eq!(
        run(
            &mk(
                "value_percentile",
                "{gte: 90, field: Bytes, percentile: 95}"
            ),
            evs()
        )[0]
        .value,
        90.0
    );
}

#[test]
fn events_from_two_files_out_of_order() {
    let s = set(&corr("temporal_ordered", &["a", "b"], &["H"], "10m", ""));
    let h = [("H", "x")];
    // File 2 is read first, but event time decides.
    let file2 = vec![ev("b", 5, &h, 10)];
    let file1 = vec![ev("a", 1, &h, 0)];
    let mut all = file2;
    all.extend(file1);
    let a = run(&s, all);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].hits, vec![0, 10]);
}

#[test]
fn aliases_map_group_fields_per_rule() {
    let yaml = format!(
        "{}title: C\ncorrelation:\n    type: temporal\n    rules: [err, conn]\n    group-by: [ip]\n    timespan: 5m\n    aliases:\n        ip:\n            err: destination.ip\n            conn: source.ip\n",
        base(&["err", "conn"])
    );
    let s = set(&yaml);
    let a = run(
        &s,
        vec![
            ev("err", 0, &[("destination.ip", "10.0.0.5")], 0),
            ev("conn", 1, &[("source.ip", "10.0.0.5")], 1),
        ],
    );
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].group.get("ip").map(String::as_str), Some("10.0.0.5"));
    assert!(run(
        &s,
        vec![
            ev("err", 0, &[("destination.ip", "10.0.0.5")], 0),
            ev("conn", 1, &[("source.ip", "10.0.0.6")], 1),
        ],
    )
    .is_empty());
    assert_eq!(
        s.fields_for(None, Some("err")),
        vec!["destination.ip".to_string()]
    );
}

#[test]
fn generate_flag_controls_base_rule_output() {
    let s = set(&corr(
        "event_count",
        &["a"],
        &["H"],
        "1h",
        "    condition: {gte: 2}\n",
    ));
    assert!(s.suppresses(None, Some("a")));
    let s = set(&corr(
        "event_count",
        &["a"],
        &["H"],
        "1h",
        "    condition: {gte: 2}\n    generate: true\n",
    ));
    assert!(!s.suppresses(None, Some("a")));
    assert!(!s.suppresses(None, Some("other")));
}

#[test]
fn state_is_bounded_and_overflow_reported() {
    let s = set(&corr(
        "event_count",
        &["a"],
        &["H"],
        "1d",
        "    condition: {gte: 1000000}\n",
    ))
    .with_state_cap(100);
    let events: Vec<CorrEvent> = (0..1000)
        .map(|i| ev("a", i, &[("H", "x")], i as usize))
        .collect();
    let (alerts, stats) = s.run(events);
    assert!(alerts.is_empty());
    assert_eq!(stats.overflow.get("C").copied(), Some(900));
}

#[test]
fn specification_examples() {
    let rules = sigma_core::load_file(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/hunt-correlation/spec_examples.yml"
    )));
    assert!(rules.errors.is_empty(), "{:?}", rules.errors);
    let (s, problems) = CorrelationSet::new(&rules);
    assert!(problems.is_empty());
    assert_eq!(s.len(), 4);
    let mut events = Vec::new();
    // 100 failed logons on DC1 within 50 minutes from 100 distinct accounts
    // as seen by workstation WS1.
    for i in 0..100 {
        let user = format!("user{i}");
        events.push(ev(
            "failed_logon",
            i / 2,
            &[
                ("ComputerName", "DC1"),
                ("WorkstationName", "WS1"),
                ("User", &user),
            ],
            i as usize,
        ));
    }
    // Only 99 on DC2, all by bob: no alert for it.
    for i in 0..99 {
        events.push(ev(
            "failed_logon",
            i / 2,
            &[
                ("ComputerName", "DC2"),
                ("WorkstationName", "WS2"),
                ("User", "bob"),
            ],
            200 + i as usize,
        ));
    }
    // Recon: three commands within five minutes by one user on one host;
    // a second host only ran two of them.
    let who = [("ComputerName", "PC1"), ("User", "eve")];
    events.push(ev("recon_cmd_a", 10, &who, 400));
    events.push(ev("recon_cmd_c", 11, &who, 401));
    events.push(ev("recon_cmd_b", 13, &who, 402));
    let who2 = [("ComputerName", "PC2"), ("User", "eve")];
    events.push(ev("recon_cmd_a", 10, &who2, 403));
    events.push(ev("recon_cmd_b", 12, &who2, 404));
    let (alerts, _) = s.run(events);
    let titles: Vec<&str> = alerts.iter().map(|a| a.title.as_str()).collect();
    assert_eq!(
        titles
            .iter()
            .filter(|t| **t == "Many failed logins")
            .count(),
        1,
        "{titles:?}"
    );
    let many = alerts
        .iter()
        .find(|a| a.title == "Many failed logins")
        .unwrap();
    assert_eq!(
        many.group.get("ComputerName").map(String::as_str),
        Some("DC1")
    );
    assert!(titles.contains(
        &"Failed logon attempts with more than 100 different user accounts per source and destination"
    ));
    let recon: Vec<_> = alerts
        .iter()
        .filter(|a| a.title.starts_with("Reconnaissance"))
        .collect();
    assert_eq!(recon.len(), 1);
    assert_eq!(
        recon[0].group.get("ComputerName").map(String::as_str),
        Some("PC1")
    );
    assert_eq!(recon[0].hits, vec![400, 401, 402]);
}

#[test]
fn correlation_of_correlations() {
    let yaml = format!(
        "{}title: Many failed\nname: many\ncorrelation:\n    type: event_count\n    rules: [failed]\n    group-by: [User]\n    timespan: 1h\n    condition: {{gte: 3}}\n---\ntitle: Then success\ncorrelation:\n    type: temporal_ordered\n    rules: [many, ok]\n    group-by: [User]\n    timespan: 1h\n",
        base(&["failed", "ok"])
    );
    let s = set(&yaml);
    let u = [("User", "alice")];
    let a = run(
        &s,
        vec![
            ev("failed", 0, &u, 0),
            ev("failed", 1, &u, 1),
            ev("failed", 2, &u, 2),
            ev("ok", 3, &u, 3),
        ],
    );
    let outer: Vec<_> = a.iter().filter(|x| x.title == "Then success").collect();
    assert_eq!(outer.len(), 1);
    assert_eq!(outer[0].hits, vec![0, 1, 2, 3]);
    // Success before the failures: no outer alert.
    let a = run(
        &s,
        vec![
            ev("ok", 0, &u, 3),
            ev("failed", 1, &u, 0),
            ev("failed", 2, &u, 1),
            ev("failed", 3, &u, 2),
        ],
    );
    assert!(a.iter().all(|x| x.title != "Then success"));
}
