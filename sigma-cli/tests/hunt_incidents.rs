//! `sigil hunt` with correlation rules, `--incidents` and `--report`.

use serde_json::Value;

mod common;
use common::{shared, sigil};

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

#[test]
fn correlations_across_two_files_out_of_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let incidents = dir.path().join("incidents.jsonl");
    let report = dir.path().join("report.html");
    let out = sigil(&[
        "hunt",
        "-r",
        "fixtures/hunt-correlation/brute_force.yml",
        "--format",
        "jsonl",
        "--incidents",
        incidents.to_str().unwrap_or_default(),
        "--report",
        report.to_str().unwrap_or_default(),
        // b.jsonl (later events) first: event time decides, not file order.
        "fixtures/hunt-correlation/logs/b.jsonl",
        "fixtures/hunt-correlation/logs/a.jsonl",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let hits = lines(&String::from_utf8_lossy(&out.stdout));
    let alerts: Vec<&Value> = hits.iter().filter(|h| h["correlation"] == true).collect();
    let titles: Vec<&str> = alerts.iter().filter_map(|a| a["title"].as_str()).collect();
    assert!(
        titles.contains(&"Repeated failed logons for one user (fixture)"),
        "{titles:?}"
    );
    assert!(
        titles.contains(&"Brute force then success (fixture)"),
        "{titles:?}"
    );
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
    let outer = alerts
        .iter()
        .find(|a| a["title"] == "Brute force then success (fixture)")
        .expect("outer alert");
    assert_eq!(outer["group"]["TargetUserName"], "alice");
    assert_eq!(outer["hit_count"], 4);
    // Failed logons are hidden (their correlation has generate: false);
    // successful logons are shown (generate: true on the outer one).
    let base: Vec<&Value> = hits.iter().filter(|h| h["correlation"] != true).collect();
    assert_eq!(base.len(), 2);
    assert!(base
        .iter()
        .all(|h| h["title"] == "Successful logon (fixture)"));
    assert!(stderr.contains("6 hidden"), "{stderr}");
    // Incidents: every reported hit is in exactly one incident.
    let inc = lines(&std::fs::read_to_string(&incidents).expect("incidents file"));
    let total: u64 = inc
        .iter()
        .map(|i| i["hit_count"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(total as usize, hits.len());
    assert!(inc
        .iter()
        .any(|i| i["correlation_hits"].as_u64() == Some(2)));
    let html = std::fs::read_to_string(&report).expect("report");
    for i in &inc {
        assert!(html.contains(i["id"].as_str().unwrap_or("?")));
    }
}

#[test]
fn bench_incidents_add_up_to_reported_hits() {
    let Some(shared) = shared("bench/windows-sample.jsonl") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let incidents = dir.path().join("incidents.jsonl");
    let hits_file = dir.path().join("hits.jsonl");
    let rules = shared.join("corpus/sigma/rules/windows");
    let log = shared.join("bench/windows-sample.jsonl");
    let out = sigil(&[
        "hunt",
        "-r",
        rules.to_str().unwrap_or_default(),
        "--format",
        "jsonl",
        "-o",
        hits_file.to_str().unwrap_or_default(),
        "--incidents",
        incidents.to_str().unwrap_or_default(),
        log.to_str().unwrap_or_default(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let hits = lines(&std::fs::read_to_string(&hits_file).expect("hits"));
    assert!(hits.len() > 1000, "{}", hits.len());
    let inc = lines(&std::fs::read_to_string(&incidents).expect("incidents"));
    let total: u64 = inc
        .iter()
        .map(|i| i["hit_count"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(total as usize, hits.len(), "no hit lost or counted twice");
    // Each hit appears in exactly one incident timeline.
    let mut seen = std::collections::HashMap::new();
    for i in &inc {
        for t in i["timeline"].as_array().into_iter().flatten() {
            let key = format!("{}|{}", t["source"], t["rule_id"]);
            *seen.entry(key).or_insert(0) += 1;
        }
    }
    let mut expected = std::collections::HashMap::new();
    for h in &hits {
        let key = format!(
            "\"{}:{}\"|{}",
            h["file"].as_str().unwrap_or_default(),
            h["line"],
            h["rule_id"]
        );
        *expected.entry(key).or_insert(0) += 1;
    }
    assert_eq!(seen, expected);
    assert!(stderr.contains("incidents:"), "{stderr}");
}
