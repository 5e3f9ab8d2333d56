//! Output formats: wrappers around finished queries, byte-identical to
//! pySigma's (`savedsearches`, `data_model`, `kibana_ndjson`,
//! `dsl_lucene`, `siem_rule`, `siem_rule_ndjson`, `eqlapi`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use serde_json::{json, Value as J};
use sigma_core::{Level, RuleMeta};

use crate::pyjson;
use crate::targets::TargetKind;
use crate::ConvertError;

/// Pipeline state handed over to the output formats.
pub type PipelineState = BTreeMap<String, J>;

/// One converted query in its output format.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// A text query.
    Text(String),
    /// A JSON document.
    Json(J),
}

impl fmt::Display for Output {
    /// Text as is; JSON as Python's `json.dumps` writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Output::Text(s) => f.write_str(s),
            Output::Json(v) => f.write_str(&pyjson::dumps(v)),
        }
    }
}

impl Output {
    /// The output as a JSON value (a string for text queries).
    pub fn to_json(&self) -> J {
        match self {
            Output::Text(s) => J::String(s.clone()),
            Output::Json(v) => v.clone(),
        }
    }
}

const INDEX_NAMES: [&str; 9] = [
    "apm-*-transaction*",
    "auditbeat-*",
    "endgame-*",
    "filebeat-*",
    "logs-*",
    "packetbeat-*",
    "traces-apm*",
    "winlogbeat-*",
    "-*elastic-cloud-logs-*",
];

/// Applies the per-query part of an output format.
pub fn finalize(
    kind: TargetKind,
    format: &str,
    rule: &RuleMeta,
    query: String,
    state: &PipelineState,
    correlation: bool,
) -> Result<Output, ConvertError> {
    // EQL correlations are `sequence`/`sample` queries: no `any where`.
    let eql_query = if correlation {
        query.clone()
    } else {
        format!("any where {query}")
    };
    Ok(match (kind, format) {
        (TargetKind::Splunk, "default") => {
            if rule.fields.is_empty() {
                Output::Text(query)
            } else {
                Output::Text(format!("{query} | table {}", rule.fields.join(",")))
            }
        }
        (TargetKind::Splunk, "savedsearches") => Output::Text(savedsearch(rule, &query)),
        (TargetKind::Splunk, "data_model") => Output::Text(data_model(&query, state)?),
        (TargetKind::Lucene, "dsl_lucene") => Output::Json(dsl(&query)),
        (TargetKind::Lucene, "kibana_ndjson") => Output::Json(kibana_lucene(rule, &query)),
        (TargetKind::Lucene, "siem_rule") => Output::Json(siem_rule(rule, &query, "lucene", state)),
        (TargetKind::Lucene, "siem_rule_ndjson") => {
            Output::Json(siem_ndjson(rule, &query, "lucene", state))
        }
        (TargetKind::Esql, "default") => Output::Text(esql_frame(&query, state)),
        (TargetKind::Esql, "kibana_ndjson") => Output::Json(kibana_esql(rule, &query, state)),
        (TargetKind::Esql, "siem_rule") => Output::Json(esql_siem_rule(rule, &query, state)),
        (TargetKind::Esql, "siem_rule_ndjson") => {
            Output::Json(esql_siem_ndjson(rule, &query, state))
        }
        (TargetKind::Eql, "default") => Output::Text(eql_query),
        (TargetKind::Eql, "eqlapi") => Output::Json(json!({ "query": eql_query })),
        (TargetKind::Eql, "siem_rule") => Output::Json(siem_rule(rule, &eql_query, "eql", state)),
        (TargetKind::Eql, "siem_rule_ndjson") => {
            Output::Json(siem_ndjson(rule, &eql_query, "eql", state))
        }
        _ => Output::Text(query),
    })
}

/// Renders all outputs of a run as sigma-cli prints them: strings joined
/// by an empty line, JSON documents one per line, and the `savedsearches`
/// file with its `[default]` stanza.
pub fn render(kind: TargetKind, format: &str, outputs: &[Output]) -> String {
    if kind == TargetKind::Splunk && format == "savedsearches" {
        let stanzas: Vec<String> = outputs.iter().map(|o| o.to_string()).collect();
        return format!(
            "\n[default]\ndispatch.earliest_time = -30d\ndispatch.latest_time = now\n{}",
            stanzas.join("\n")
        );
    }
    let json = outputs.iter().any(|o| matches!(o, Output::Json(_)));
    let parts: Vec<String> = outputs.iter().map(|o| o.to_string()).collect();
    parts.join(if json { "\n" } else { "\n\n" })
}

fn settings(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        out.push_str(&format!("\n{k} = "));
        out.push_str(&v.split('\n').collect::<Vec<_>>().join(" \\\n"));
    }
    out
}

fn savedsearch(rule: &RuleMeta, query: &str) -> String {
    let title: String = rule
        .title
        .chars()
        .filter(|c| *c != '[' && *c != ']')
        .collect();
    let description = rule.description.as_deref().unwrap_or("").trim();
    let mut search = query.to_string();
    if !rule.fields.is_empty() {
        search.push_str("\n| table ");
        search.push_str(&rule.fields.join(","));
    }
    format!(
        "\n[{title}]{}",
        settings(&[("description", description), ("search", &search)])
    )
}

fn data_model(query: &str, state: &PipelineState) -> Result<String, ConvertError> {
    let Some(set) = state.get("data_model_set").and_then(J::as_str) else {
        return Err(ConvertError::new(
            "No data model specified by processing pipeline",
        ));
    };
    if set.is_empty() {
        return Err(ConvertError::new(
            "No data set specified by processing pipeline",
        ));
    }
    let mut data_set = "";
    if set.contains('.') {
        let parts: Vec<&str> = set.split('.').collect();
        if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
            return Err(ConvertError::new(format!(
                "Expected format 'data_model.data_set', but got: {set}"
            )));
        }
        data_set = parts[1];
    }
    let Some(fields) = state.get("fields").and_then(J::as_array) else {
        return Err(ConvertError::new(
            "No fields specified by processing pipeline",
        ));
    };
    let fields: Vec<String> = fields
        .iter()
        .map(|f| f.as_str().map_or_else(|| f.to_string(), String::from))
        .collect();
    // Deferred pipe commands go after the `by` clause.
    let (main, deferred) = match query.find("\n| ") {
        Some(i) => (&query[..i], &query[i..]),
        None => (query, ""),
    };
    let text = format!(
        "| tstats summariesonly=false allow_old_summaries=true fillnull_value=\"null\" count min(_time) as firstTime max(_time) as lastTime from datamodel={set} where {main} by {}{deferred}\n| `drop_dm_object_name({data_set})`\n| convert timeformat=\"%Y-%m-%dT%H:%M:%S\" ctime(firstTime)\n| convert timeformat=\"%Y-%m-%dT%H:%M:%S\" ctime(lastTime)\n",
        fields.join(" ")
    );
    Ok(text.replace('\n', " "))
}

fn dsl(query: &str) -> J {
    json!({"query": {"bool": {"must": [{"query_string": {"query": query, "analyze_wildcard": true}}]}}})
}

fn rule_id(rule: &RuleMeta) -> String {
    rule.id.clone().unwrap_or_else(|| "None".to_string())
}

fn description(rule: &RuleMeta) -> String {
    rule.description
        .clone()
        .unwrap_or_else(|| "No description".to_string())
}

fn kibana_lucene(rule: &RuleMeta, query: &str) -> J {
    let source = json!({
        "index": "beats-*",
        "filter": [],
        "highlight": {
            "pre_tags": ["@kibana-highlighted-field@"],
            "post_tags": ["@/kibana-highlighted-field@"],
            "fields": {"*": {}},
            "require_field_match": false,
            "fragment_size": 2147483647_i64,
        },
        "query": {"query_string": {"query": query, "analyze_wildcard": true}},
    });
    json!({
        "id": rule_id(rule),
        "type": "search",
        "attributes": {
            "title": format!("SIGMA - {}", rule.title),
            "description": rule.description,
            "hits": 0,
            "columns": [],
            "sort": ["@timestamp", "desc"],
            "version": 1,
            "kibanaSavedObjectMeta": {"searchSourceJSON": pyjson::dumps(&source)},
        },
        "references": [{
            "id": "beats-*",
            "name": "kibanaSavedObjectMeta.searchSourceJSON.index",
            "type": "index-pattern",
        }],
    })
}

fn level_name(rule: &RuleMeta) -> Option<&'static str> {
    rule.level.map(Level::name)
}

fn risk(level: Option<&str>, informational: i64) -> i64 {
    match level {
        Some("informational") => informational,
        Some("low") => 21,
        Some("medium") => 47,
        Some("high") => 73,
        Some("critical") => 99,
        _ => 21,
    }
}

fn author(rule: &RuleMeta) -> J {
    match &rule.author {
        Some(a) => json!([a]),
        None => json!([]),
    }
}

/// The EQL SIEM formats use the pipeline state `index` when set.
fn siem_index(state: &PipelineState, language: &str) -> J {
    if language == "eql" {
        if let Some(i) = state.get("index").filter(|i| !i.is_null()) {
            return match i {
                J::Array(_) => i.clone(),
                other => json!([other]),
            };
        }
    }
    json!(INDEX_NAMES)
}

fn siem_type(language: &str) -> &'static str {
    if language == "eql" {
        "eql"
    } else {
        "query"
    }
}

fn siem_rule(rule: &RuleMeta, query: &str, language: &str, state: &PipelineState) -> J {
    let level = level_name(rule);
    let (threat, tags) = threat_and_tags(rule);
    let mut params = json!({
        "author": author(rule),
        "description": description(rule),
        "ruleId": rule_id(rule),
        "falsePositives": rule.falsepositives,
        "from": "now-5m",
        "immutable": false,
        "license": "DRL",
        "outputIndex": "",
        "meta": {"from": "1m"},
        "maxSignals": 100,
        "riskScore": risk(level, 0),
        "riskScoreMapping": [],
        "severity": match level { None | Some("informational") => "low", Some(l) => l },
        "severityMapping": [],
        "threat": threat,
        "to": "now",
        "references": rule.references,
        "version": 1,
        "exceptionsList": [],
        "relatedIntegrations": [],
        "requiredFields": [],
        "setup": "",
        "type": siem_type(language),
        "language": language,
        "index": siem_index(state, language),
        "query": query,
        "filters": [],
    });
    if language == "eql" {
        if let Some(p) = params.as_object_mut() {
            p.insert("riskScore".into(), json!(risk(level, 1)));
            p.insert("severity".into(), json!(level.unwrap_or("low")));
        }
    }
    let mut out = json!({
        "name": format!("SIGMA - {}", rule.title),
        "consumer": "siem",
        "enabled": true,
        "throttle": null,
        "schedule": {"interval": "5m"},
        "params": params,
        "rule_type_id": "siem.queryRule",
    });
    if let Some(o) = out.as_object_mut() {
        if language == "eql" {
            o.insert("notify_when".into(), json!("onActiveAlert"));
            o.insert("tags".into(), json!(tags));
        } else {
            o.insert("tags".into(), json!(tags));
            o.insert("notify_when".into(), json!("onActiveAlert"));
        }
        o.insert("actions".into(), json!([]));
    }
    out
}

fn siem_ndjson(rule: &RuleMeta, query: &str, language: &str, state: &PipelineState) -> J {
    let level = level_name(rule);
    let (threat, tags) = threat_and_tags(rule);
    json!({
        "id": rule_id(rule),
        "name": format!("SIGMA - {}", rule.title),
        "enabled": true,
        "throttle": "no_actions",
        "interval": "5m",
        "author": author(rule),
        "description": description(rule),
        "rule_id": rule_id(rule),
        "false_positives": rule.falsepositives,
        "from": "now-5m",
        "immutable": false,
        "license": "DRL",
        "output_index": "",
        "meta": {"from": "1m"},
        "max_signals": 100,
        "risk_score": risk(level, 1),
        "risk_score_mapping": [],
        "severity": level.unwrap_or("low"),
        "severity_mapping": [],
        "threat": threat,
        "tags": tags,
        "to": "now",
        "references": rule.references,
        "version": 1,
        "exceptions_list": [],
        "related_integrations": [],
        "required_fields": [],
        "setup": "",
        "type": siem_type(language),
        "language": language,
        "index": siem_index(state, language),
        "query": query,
        "filters": [],
        "actions": [],
    })
}

fn all_tags(rule: &RuleMeta) -> Vec<String> {
    rule.tags
        .iter()
        .map(|t| format!("{}-{}", t.namespace, t.name))
        .collect()
}

fn esql_license(rule: &RuleMeta) -> String {
    rule.license.clone().unwrap_or_else(|| "DRL".to_string())
}

fn kibana_esql(rule: &RuleMeta, query: &str, state: &PipelineState) -> J {
    let index = esql_index(state);
    let source = json!({
        "query": {"esql": esql_frame(query, state)},
        "index": {
            "title": index,
            "timeFieldName": "@timestamp",
            "sourceFilters": [],
            "type": "esql",
            "fieldFormats": {},
            "runtimeFieldMap": {},
            "allowNoIndex": false,
            "name": index,
            "allowHidden": false,
        },
        "filter": [],
    });
    json!({
        "attributes": {
            "columns": [],
            "description": description(rule),
            "grid": {},
            "hideChart": false,
            "isTextBasedQuery": true,
            "kibanaSavedObjectMeta": {"searchSourceJSON": pyjson::dumps(&source)},
            "sort": [["@timestamp", "desc"]],
            "timeRestore": false,
            "title": format!("SIGMA - {}", rule.title),
            "usesAdHocDataView": false,
        },
        "id": rule_id(rule),
        "managed": false,
        "references": [],
        "type": "search",
        "typeMigrationVersion": "10.2.0",
    })
}

fn esql_siem_rule(rule: &RuleMeta, query: &str, state: &PipelineState) -> J {
    let level = level_name(rule);
    let tags = all_tags(rule);
    let (threat, _) = threat_and_tags(rule);
    json!({
        "name": format!("SIGMA - {}", rule.title),
        "tags": tags,
        "enabled": true,
        "consumer": "siem",
        "throttle": null,
        "schedule": {"interval": "5m"},
        "params": {
            "author": author(rule),
            "description": description(rule),
            "ruleId": rule_id(rule),
            "falsePositives": rule.falsepositives,
            "from": "now-5m",
            "immutable": false,
            "license": esql_license(rule),
            "outputIndex": "",
            "meta": {"from": "1m"},
            "maxSignals": 100,
            "relatedIntegrations": [],
            "requiredFields": [],
            "riskScore": risk(level, 1),
            "riskScoreMapping": [],
            "setup": "",
            "severity": level.unwrap_or("low"),
            "severityMapping": [],
            "threat": threat,
            "to": "now",
            "references": rule.references,
            "version": 1,
            "exceptionsList": [],
            "type": "esql",
            "language": "esql",
            "query": esql_frame(query, state),
        },
        "rule_type_id": "siem.esqlRule",
        "notify_when": "onActiveAlert",
        "actions": [],
    })
}

fn esql_siem_ndjson(rule: &RuleMeta, query: &str, state: &PipelineState) -> J {
    let level = level_name(rule);
    let tags = all_tags(rule);
    let (threat, _) = threat_and_tags(rule);
    json!({
        "id": rule_id(rule),
        "name": format!("SIGMA - {}", rule.title),
        "tags": tags,
        "interval": "5m",
        "enabled": true,
        "description": description(rule),
        "risk_score": risk(level, 0),
        "severity": match level { None | Some("informational") => "low", Some(l) => l },
        "note": "",
        "license": esql_license(rule),
        "output_index": "",
        "meta": {"from": "1m"},
        "author": author(rule),
        "false_positives": rule.falsepositives,
        "from": "now-5m",
        "rule_id": rule_id(rule),
        "max_signals": 100,
        "risk_score_mapping": [],
        "severity_mapping": [],
        "threat": threat,
        "to": "now",
        "references": rule.references,
        "version": 1,
        "exceptions_list": [],
        "immutable": false,
        "related_integrations": [],
        "required_fields": [],
        "setup": "",
        "type": "esql",
        "language": "esql",
        "query": esql_frame(query, state),
        "actions": [],
    })
}

/// ATT&CK tactics (id → short name) and techniques (id → name), from the
/// table bundled with sigma-core.
struct Attack {
    tactics: Vec<(String, String)>,
    techniques: BTreeMap<String, String>,
}

fn attack() -> &'static Attack {
    static DATA: OnceLock<Attack> = OnceLock::new();
    DATA.get_or_init(|| {
        let mut a = Attack {
            tactics: Vec::new(),
            techniques: BTreeMap::new(),
        };
        for line in include_str!("../../sigma-core/data/attack.tsv").lines() {
            let cols: Vec<&str> = line.split('\t').collect();
            match cols.as_slice() {
                ["tactic", id, _, short, ..] => a.tactics.push((id.to_string(), short.to_string())),
                ["technique", id, name, ..] => {
                    a.techniques.insert(id.to_string(), name.to_string());
                }
                _ => {}
            }
        }
        a
    })
}

/// Python's `str.title()`.
fn py_title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_cased = false;
    for c in s.chars() {
        if c.is_alphabetic() {
            if prev_cased {
                out.extend(c.to_lowercase());
            } else {
                out.extend(c.to_uppercase());
            }
            prev_cased = true;
        } else {
            out.push(c);
            prev_cased = false;
        }
    }
    out
}

fn is_technique(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('t' | 'T'))
        && chars.take(4).filter(char::is_ascii_digit).count() == 4
}

/// pySigma's `finalize_output_threat_model`: pairs tactic and technique
/// tags in order; with two or more ATT&CK tags those tags are removed from
/// the rule's `tags` afterwards (the second value).
fn threat_and_tags(rule: &RuleMeta) -> (Vec<J>, Vec<String>) {
    let attack_tags: Vec<&sigma_core::Tag> = rule
        .tags
        .iter()
        .filter(|t| t.namespace == "attack")
        .collect();
    if attack_tags.len() < 2 {
        return (Vec::new(), all_tags(rule));
    }
    let techniques: Vec<String> = attack_tags
        .iter()
        .filter(|t| is_technique(&t.name))
        .map(|t| t.name.to_uppercase())
        .collect();
    let tactics: Vec<String> = attack_tags
        .iter()
        .filter(|t| !is_technique(&t.name))
        .map(|t| t.name.to_lowercase())
        .collect();
    let data = attack();
    let mut threat = Vec::new();
    for (tactic, technique) in tactics.iter().zip(techniques.iter()) {
        if tactic.is_empty() || technique.is_empty() {
            continue;
        }
        let mut technique = technique.clone();
        let mut subs = Vec::new();
        if technique.contains('.') {
            let sub = technique.clone();
            technique = technique.chars().take(5).collect();
            let Some(name) = data.techniques.get(&sub) else {
                continue;
            };
            subs.push(json!({
                "id": sub,
                "reference": format!("https://attack.mitre.org/techniques/{}", sub.replace('.', "/")),
                "name": name,
            }));
        }
        let wanted = tactic.replace('_', "-");
        let Some((tactic_id, _)) = data.tactics.iter().find(|(_, s)| *s == wanted) else {
            continue;
        };
        let Some(technique_name) = data.techniques.get(&technique) else {
            continue;
        };
        threat.push(json!({
            "tactic": {
                "id": tactic_id,
                "reference": format!("https://attack.mitre.org/tactics/{tactic_id}"),
                "name": py_title(tactic).replace('_', " "),
            },
            "framework": "MITRE ATT&CK",
            "technique": [{
                "id": technique,
                "reference": format!("https://attack.mitre.org/techniques/{technique}"),
                "name": technique_name,
                "subtechnique": subs,
            }],
        }));
    }
    let tags = rule
        .tags
        .iter()
        .filter(|t| t.namespace != "attack")
        .map(|t| format!("{}-{}", t.namespace, t.name))
        .collect();
    (threat, tags)
}

/// ES|QL's `from <index> metadata <metadata> | where <query>`.
pub fn esql_frame(query: &str, state: &PipelineState) -> String {
    let metadata = state
        .get("metadata")
        .and_then(|m| m.as_str())
        .unwrap_or("_id, _index, _version");
    format!(
        "from {} metadata {metadata} | where {query}",
        esql_index(state)
    )
}

/// The index of ES|QL queries: pipeline state `index` (a list is flattened,
/// de-duplicated, sorted and joined by `,`; `*` wins), else `*`.
pub fn esql_index(state: &PipelineState) -> String {
    match state.get("index") {
        None | Some(J::Null) => "*".to_string(),
        Some(J::String(s)) => s.clone(),
        Some(J::Array(items)) => {
            let mut flat = Vec::new();
            flatten(items, &mut flat);
            if flat.is_empty() || items.iter().any(|i| i.as_str() == Some("*")) {
                return "*".to_string();
            }
            if flat.len() == 1 {
                return flat.remove(0);
            }
            flat.sort();
            flat.dedup();
            flat.join(",")
        }
        Some(other) => other.to_string(),
    }
}

fn flatten(items: &[J], out: &mut Vec<String>) {
    for i in items {
        match i {
            J::Array(a) => flatten(a, out),
            J::String(s) => out.push(s.clone()),
            other => out.push(other.to_string()),
        }
    }
}
