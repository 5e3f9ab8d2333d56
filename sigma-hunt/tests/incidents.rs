//! Incident grouping, entities, ATT&CK context, severity, and the HTML
//! report rendered in headless Chromium.

use std::collections::BTreeMap;
use std::sync::Arc;

use sigma_core::Level;
use sigma_hunt::incident::report::render_html;
use sigma_hunt::incident::time::parse_timestamp;
use sigma_hunt::incident::{
    build_incidents, extract_entities, severity, HitRule, IncidentHit, IncidentOptions, Interner,
};

fn hit(
    rule: &str,
    level: Level,
    tags: &[&str],
    time: Option<&str>,
    host: Option<&str>,
    fields: &[(&str, &str)],
) -> IncidentHit {
    let map: BTreeMap<String, String> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut interner = Interner::default();
    let (_, entities) = extract_entities(|f| map.get(f).cloned(), &mut interner);
    IncidentHit {
        rule: Arc::new(HitRule {
            id: Some(format!("id-{rule}")),
            title: rule.to_string(),
            level: Some(level),
            tags: tags.iter().map(|t| t.to_string()).collect(),
        }),
        time: time.and_then(parse_timestamp),
        source: Arc::from(format!("events.jsonl:{}", rule.len())),
        host: host.map(Arc::from),
        entities,
        correlation: false,
    }
}

fn sample() -> Vec<IncidentHit> {
    vec![
        hit(
            "Whoami",
            Level::Medium,
            &["attack.discovery", "attack.t1033"],
            Some("2024-05-01T10:00:00Z"),
            Some("PC1"),
            &[
                ("User", "CORP\\eve"),
                ("Image", "C:\\Windows\\System32\\whoami.exe"),
                ("ParentImage", "C:\\Windows\\System32\\cmd.exe"),
                ("CommandLine", "whoami /all"),
            ],
        ),
        hit(
            "Encoded PowerShell",
            Level::High,
            &["attack.execution", "attack.t1059.001"],
            Some("2024-05-01T10:05:00Z"),
            Some("PC1"),
            &[
                ("User", "CORP\\eve"),
                ("Hashes", "SHA1=AA,MD5=BB"),
                ("CommandLine", "powershell -enc <script>"),
            ],
        ),
        hit(
            "Net user",
            Level::Medium,
            &["attack.discovery"],
            Some("2024-05-01T10:20:00Z"),
            Some("PC1"),
            &[("DestinationIp", "10.0.0.5")],
        ),
        // More than 30 minutes later: a new incident on the same host.
        hit(
            "Whoami",
            Level::Medium,
            &["attack.discovery"],
            Some("2024-05-01T12:00:00Z"),
            Some("PC1"),
            &[],
        ),
        // Another host, same time.
        hit(
            "Whoami",
            Level::Low,
            &[],
            Some("2024-05-01T10:00:00Z"),
            Some("PC2"),
            &[],
        ),
        // Undated hits of PC2 form their own incident.
        hit("Whoami", Level::Low, &[], None, Some("PC2"), &[]),
        hit("Whoami", Level::Low, &[], None, Some("PC2"), &[]),
        // No host at all.
        hit(
            "Whoami",
            Level::Low,
            &[],
            Some("2024-05-01T10:00:00Z"),
            None,
            &[],
        ),
    ]
}

#[test]
fn every_hit_lands_in_exactly_one_incident() {
    let hits = sample();
    let incidents = build_incidents(&hits, IncidentOptions::default());
    let total: usize = incidents.iter().map(|i| i.hit_count).sum();
    assert_eq!(total, hits.len());
    let timeline_total: usize = incidents.iter().map(|i| i.timeline.len()).sum();
    assert_eq!(timeline_total, hits.len());
    assert_eq!(incidents.len(), 5, "{incidents:#?}");
}

#[test]
fn grouping_by_host_and_time_gap() {
    let incidents = build_incidents(&sample(), IncidentOptions::default());
    let first = incidents
        .iter()
        .find(|i| i.hosts == ["PC1"] && i.hit_count == 3)
        .expect("PC1 burst");
    assert_eq!(
        first.first_seen.as_deref(),
        Some("2024-05-01T10:00:00.000Z")
    );
    assert_eq!(first.last_seen.as_deref(), Some("2024-05-01T10:20:00.000Z"));
    assert_eq!(first.rules.len(), 3);
    // A one-hour gap setting merges the two PC1 incidents.
    let merged = build_incidents(
        &sample(),
        IncidentOptions {
            gap_ms: 2 * 3_600_000,
        },
    );
    assert!(merged
        .iter()
        .any(|i| i.hosts == ["PC1"] && i.hit_count == 4));
}

#[test]
fn entities_and_attack_context() {
    let incidents = build_incidents(&sample(), IncidentOptions::default());
    let i = incidents
        .iter()
        .find(|i| i.hosts == ["PC1"] && i.hit_count == 3)
        .unwrap();
    assert!(i.entities.users.contains("CORP\\eve"));
    assert!(i
        .entities
        .processes
        .contains("C:\\Windows\\System32\\whoami.exe"));
    assert!(i
        .entities
        .parent_processes
        .contains("C:\\Windows\\System32\\cmd.exe"));
    assert!(i.entities.command_lines.contains("whoami /all"));
    assert!(i.entities.hashes.contains("SHA1=AA") && i.entities.hashes.contains("MD5=BB"));
    assert!(i.entities.ips.contains("10.0.0.5"));
    let tactics: Vec<&str> = i.tactics.iter().map(|t| t.name.as_str()).collect();
    assert!(
        tactics.contains(&"Discovery") && tactics.contains(&"Execution"),
        "{tactics:?}"
    );
    let techniques: Vec<&str> = i.techniques.iter().map(|t| t.id.as_str()).collect();
    assert!(
        techniques.contains(&"T1059.001") && techniques.contains(&"T1033"),
        "{techniques:?}"
    );
    assert!(i.techniques.iter().any(|t| t.name == "PowerShell"));
}

#[test]
fn ids_are_stable_and_severity_escalates() {
    let a = build_incidents(&sample(), IncidentOptions::default());
    let b = build_incidents(&sample(), IncidentOptions::default());
    let ids =
        |v: &[sigma_hunt::incident::Incident]| v.iter().map(|i| i.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&a), ids(&b));
    let burst = a
        .iter()
        .find(|i| i.hosts == ["PC1"] && i.hit_count == 3)
        .unwrap();
    // High is the top level; three distinct rules of medium or more raise it.
    assert_eq!(burst.severity, Level::Critical);
    let hits = sample();
    let one: Vec<&IncidentHit> = hits.iter().take(1).collect();
    assert_eq!(severity(&one).0, Level::Medium);
}

#[test]
fn report_is_self_contained_and_escaped() {
    let mut hits = sample();
    hits[0].rule = Arc::new(HitRule {
        title: "<script>alert(1)</script>".into(),
        ..(*hits[0].rule).clone()
    });
    let incidents = build_incidents(&hits, IncidentOptions::default());
    let html = render_html(&incidents, "sigil report");
    assert!(!html.contains("<script>alert(1)"));
    assert!(html.contains("&lt;script&gt;alert(1)"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external assets"
    );
    for i in &incidents {
        assert!(html.contains(&i.id));
    }
}

/// Opens the report in headless Chromium (installed by `.ci/run`) and
/// checks that the script ran without errors and the incidents rendered.
#[test]
fn report_renders_in_headless_chromium() {
    let Some(browser) = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    else {
        eprintln!("skipping: chromium is not installed (apt-get install chromium)");
        return;
    };
    let incidents = build_incidents(&sample(), IncidentOptions::default());
    let dir = tempfile::tempdir().expect("tempdir");
    let page = dir.path().join("report.html");
    std::fs::write(&page, render_html(&incidents, "sigil report")).expect("write");
    let profile = dir.path().join("profile");
    let out = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=2000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&out.stdout);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        dom.contains("data-ready=\"ok\""),
        "the report script did not finish; stderr:\n{log}"
    );
    assert!(!log.contains("Uncaught"), "script error:\n{log}");
    for i in &incidents {
        assert!(dom.contains(&i.id), "incident {} not rendered", i.id);
    }
    assert!(dom.contains("<svg id=\"timeline\""));
}
