//! The routing table against real events: for each regression case of
//! `../shared/corpus/regression/cases.jsonl`, at least one of its events
//! satisfies one alternative of the rule's route (channel, EventID, extra
//! conditions), so routing never hides a true detection.

use serde_json::Value as J;

use super::*;
use crate::{load_file, Document};

fn text(v: Option<&J>) -> Option<String> {
    match v? {
        J::String(s) => Some(s.clone()),
        J::Number(n) => Some(n.to_string()),
        J::Object(o) => text(o.get("#text")),
        _ => None,
    }
}

fn event_fits(event: &J, alt: &RouteAlternative) -> bool {
    let system = &event["Event"]["System"];
    let data = &event["Event"]["EventData"];
    let channel = text(system.get("Channel")).unwrap_or_default();
    let id: Option<u32> = text(system.get("EventID")).and_then(|s| s.parse().ok());
    let provider = system["Provider"]["#attributes"]["Name"]
        .as_str()
        .unwrap_or_default();
    (alt.channel.is_empty() || alt.channel.iter().any(|c| c.eq_ignore_ascii_case(&channel)))
        && (alt.provider.is_empty() || alt.provider.iter().any(|p| p == provider))
        && (alt.event_ids.is_empty() || id.is_some_and(|i| alt.event_ids.contains(&i)))
        && alt
            .conditions
            .iter()
            .all(|(f, vals)| text(data.get(f)).is_some_and(|v| vals.contains(&v)))
}

#[test]
fn regression_events_fit_their_routes() {
    let root = std::env::var("SIGIL_SHARED")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared"))
        });
    let Ok(cases) = std::fs::read_to_string(root.join("corpus/regression/cases.jsonl")) else {
        eprintln!("skipping: ../shared/corpus/regression (or $SIGIL_SHARED) not found");
        return;
    };
    let mut checked = 0;
    for line in cases.lines() {
        let case: J = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}"));
        let rule_path = case["rule_path"].as_str().unwrap_or_default();
        let set = load_file(&root.join("corpus/sigma").join(rule_path));
        let Some(Document::Rule(rule)) = set.documents.first() else {
            panic!("{rule_path}")
        };
        let ls = &rule.logsource;
        let alts = routes_for(
            windows_logsource_routes(),
            ls.category.as_deref(),
            ls.product.as_deref(),
            ls.service.as_deref(),
        )
        .unwrap_or_else(|| panic!("{rule_path}: unrouted {ls:?}"));
        let events = std::fs::read_to_string(
            root.join("corpus/regression")
                .join(case["event_file"].as_str().unwrap_or_default()),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let fits = events
            .lines()
            .filter_map(|l| serde_json::from_str::<J>(l).ok())
            .any(|e| alts.iter().any(|a| event_fits(&e, a)));
        assert!(fits, "{rule_path}: no event fits {alts:?}");
        checked += 1;
    }
    assert_eq!(checked, 202);
}
