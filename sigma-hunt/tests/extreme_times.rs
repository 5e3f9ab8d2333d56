//! Extreme timestamps and durations never overflow: the parser keeps
//! timestamps within the years 1601 to 9999, and the correlation, incident
//! and report arithmetic saturates for values built by hand (run in a debug
//! build, where overflow panics: `cargo test -p sigma-hunt --test
//! extreme_times`).

use std::collections::BTreeMap;
use std::sync::Arc;

use sigma_core::Level;
use sigma_hunt::incident::correlate::{CorrEvent, CorrelationSet};
use sigma_hunt::incident::report::render_html;
use sigma_hunt::incident::time::{parse_timestamp, MAX_MS, MIN_MS};
use sigma_hunt::incident::{build_incidents, HitRule, IncidentHit, IncidentOptions};

const EXTREMES: [i64; 6] = [i64::MIN, i64::MIN + 1, MIN_MS, 0, MAX_MS, i64::MAX];

fn ev(time: i64, hit: usize) -> CorrEvent {
    CorrEvent {
        rule_id: None,
        rule_name: Some("a".to_string()),
        time,
        fields: BTreeMap::from([("H".to_string(), "x".to_string())]),
        hits: vec![hit],
    }
}

fn correlation(timespan: &str, condition: &str) -> CorrelationSet {
    let yaml = format!(
        "title: a\nname: a\nlogsource: {{product: windows}}\ndetection:\n    s: {{EventID: 1}}\n    condition: s\n---\n\
         title: C\nname: c\ncorrelation:\n    type: event_count\n    rules: [a]\n    group-by: [H]\n    timespan: {timespan}\n    condition: {condition}\nlevel: high\n"
    );
    let rules = sigma_core::parse_str(&yaml, None);
    assert!(rules.errors.is_empty(), "{:?}", rules.errors);
    let (set, problems) = CorrelationSet::new(&rules);
    assert!(problems.is_empty(), "{problems:?}");
    set
}

#[test]
fn timestamps_outside_1601_to_9999_are_not_timestamps() {
    assert_eq!(parse_timestamp("9223372036854775807"), None);
    assert_eq!(parse_timestamp("9999999999999999"), None);
    assert_eq!(parse_timestamp("1600-12-31T23:59:59Z"), None);
    assert_eq!(parse_timestamp("10000-01-01"), None);
    assert_eq!(parse_timestamp("9999-12-31T23:59:59.999Z"), Some(MAX_MS));
    assert_eq!(parse_timestamp("1601-01-01T00:00:00Z"), Some(MIN_MS));
}

#[test]
fn correlations_saturate_with_extreme_times_and_timespans() {
    // Eager (gte) and windowed (lt) evaluation, with the largest timespan
    // a rule can hold and with a small one.
    for timespan in ["1s", "10m", "292471208y", "18446744073709551615s"] {
        for condition in ["{gte: 2}", "{lt: 2}"] {
            let set = correlation(timespan, condition);
            let mut events: Vec<CorrEvent> = EXTREMES
                .iter()
                .enumerate()
                .map(|(i, &t)| ev(t, i))
                .collect();
            events.extend(EXTREMES.iter().enumerate().map(|(i, &t)| ev(t, i + 10)));
            let (alerts, _) = set.run(events);
            // Every alert's events lie in its window.
            for a in &alerts {
                assert!(a.first <= a.last, "{timespan} {condition}: {a:?}");
            }
            if condition == "{gte: 2}" {
                // Each time appears twice, so pairs at the same instant
                // always make an alert, whatever the timespan.
                assert!(alerts.len() >= EXTREMES.len() / 2, "{timespan}");
            }
        }
    }
    // With the state cap hit, expiry computes `time - timespan` too.
    let set = correlation("292471208y", "{gte: 1000}").with_state_cap(2);
    let (alerts, stats) = set.run(EXTREMES.iter().map(|&t| ev(t, 0)).collect());
    assert!(alerts.is_empty());
    // The window is i64::MAX ms wide: the two oldest events (near
    // i64::MIN) fall out of it as later ones arrive, two others are
    // dropped at the cap.
    assert_eq!(stats.overflow.get("C").copied(), Some(2));
}

fn hit(time: Option<i64>) -> IncidentHit {
    IncidentHit {
        rule: Arc::new(HitRule {
            id: Some("r".into()),
            title: "r".into(),
            level: Some(Level::High),
            tags: vec!["attack.execution".into()],
        }),
        time,
        source: Arc::from("f.jsonl:1"),
        host: Some(Arc::from("PC1")),
        entities: Default::default(),
        correlation: false,
    }
}

#[test]
fn incidents_and_report_saturate_with_extreme_times() {
    let hits: Vec<IncidentHit> = EXTREMES
        .iter()
        .map(|&t| hit(Some(t)))
        .chain([hit(None)])
        .collect();
    for gap_ms in [0, 1, 30 * 60_000, i64::MAX, i64::MIN] {
        let incidents = build_incidents(&hits, IncidentOptions { gap_ms });
        let total: usize = incidents.iter().map(|i| i.hit_count).sum();
        assert_eq!(total, hits.len(), "gap {gap_ms}");
        let html = render_html(&incidents, "extremes");
        assert!(html.contains("<svg id=\"timeline\""), "gap {gap_ms}");
    }
    // With the widest gap, the dated hits are one incident, the undated
    // hit another.
    let incidents = build_incidents(&hits, IncidentOptions { gap_ms: i64::MAX });
    assert_eq!(incidents.len(), 2);
}
