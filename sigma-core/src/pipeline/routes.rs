//! The Windows logsource routing table, as data for matchers and as the
//! `windows-hunt` pipeline.
//!
//! The table lives in `rules/pipelines/windows-routes.yml` (embedded): the
//! channel of every Windows `service`, and for every `category` the
//! alternative event sources (Sysmon EventID, Security audit event with its
//! own field names, PowerShell channels and EventIDs), translated from the
//! data of pySigma's `sysmon`, `windows-logsources` and `windows-audit`
//! pipelines.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::conditions::{CondLogic, Conditions, RuleCondition};
use super::transform::{FieldTarget, Transformation};
use super::{Pipeline, ProcessingItem};
use crate::rule::LogSource;
use crate::yaml::{parse_documents, Location, YamlNode, YamlValue};

const ROUTES_YAML: &str = include_str!("../../../rules/pipelines/windows-routes.yml");

/// One way an event can belong to a log source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteAlternative {
    /// A short name (`sysmon`, `security`, `powershell`, or the service).
    pub name: String,
    /// The event's channel must be one of these (empty: no constraint).
    pub channel: Vec<String>,
    /// The event's provider must be one of these (empty: no constraint).
    pub provider: Vec<String>,
    /// The event's EventID must be one of these (empty: no constraint).
    pub event_ids: Vec<u32>,
    /// Other field constraints: field → any of the values.
    pub conditions: BTreeMap<String, Vec<String>>,
    /// Sigma field name of the rule → field name in these events.
    pub field_renames: BTreeMap<String, String>,
    /// Rule fields these events do not have: a rule using one cannot
    /// match through this alternative.
    pub unsupported_fields: Vec<String>,
}

/// The alternatives of one log source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogsourceRoute {
    /// `category`, when the route is for a category.
    pub category: Option<String>,
    /// Always `windows` in this table.
    pub product: Option<String>,
    /// `service`, when the route is for a service.
    pub service: Option<String>,
    /// An event belongs to the log source when it matches any alternative.
    pub alternatives: Vec<RouteAlternative>,
}

fn texts(n: Option<&YamlNode>) -> Vec<String> {
    match n.map(|n| &n.value) {
        Some(YamlValue::Seq(items)) => items.iter().filter_map(YamlNode::scalar_text).collect(),
        Some(_) => n.and_then(YamlNode::scalar_text).into_iter().collect(),
        None => Vec::new(),
    }
}

fn text_map(n: Option<&YamlNode>) -> BTreeMap<String, Vec<String>> {
    n.and_then(YamlNode::as_map)
        .unwrap_or_default()
        .iter()
        .filter_map(|(k, v)| Some((k.scalar_text()?, texts(Some(v)))))
        .collect()
}

fn alternative(n: &YamlNode) -> RouteAlternative {
    RouteAlternative {
        name: n
            .get("name")
            .and_then(YamlNode::scalar_text)
            .unwrap_or_default(),
        channel: texts(n.get("channel")),
        provider: texts(n.get("provider")),
        event_ids: texts(n.get("event_id"))
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect(),
        conditions: text_map(n.get("conditions")),
        field_renames: text_map(n.get("field_renames"))
            .into_iter()
            .filter_map(|(k, v)| Some((k, v.into_iter().next()?)))
            .collect(),
        unsupported_fields: texts(n.get("unsupported_fields")),
    }
}

fn load() -> Vec<LogsourceRoute> {
    // The embedded file is checked by the tests; a broken file yields an
    // empty table rather than a panic.
    let Ok(docs) = parse_documents(ROUTES_YAML) else {
        return Vec::new();
    };
    let Some(doc) = docs.first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, v) in doc
        .get("categories")
        .and_then(YamlNode::as_map)
        .unwrap_or_default()
    {
        let alternatives = match &v.value {
            YamlValue::Seq(items) => items.iter().map(alternative).collect(),
            _ => vec![alternative(v)],
        };
        out.push(LogsourceRoute {
            category: k.scalar_text(),
            product: Some("windows".into()),
            service: None,
            alternatives,
        });
    }
    for (k, v) in doc
        .get("services")
        .and_then(YamlNode::as_map)
        .unwrap_or_default()
    {
        let mut alt = alternative(v);
        let name = k.scalar_text();
        if alt.name.is_empty() {
            alt.name = name.clone().unwrap_or_default();
        }
        out.push(LogsourceRoute {
            category: None,
            product: Some("windows".into()),
            service: name,
            alternatives: vec![alt],
        });
    }
    out
}

/// The routing table: one entry per Windows category and per Windows
/// service (category entries first).
pub fn windows_logsource_routes() -> &'static [LogsourceRoute] {
    static ROUTES: OnceLock<Vec<LogsourceRoute>> = OnceLock::new();
    ROUTES.get_or_init(load)
}

/// The alternatives for a rule's log source, or `None` when it cannot be
/// routed (not Windows, or an unknown category/service).
///
/// A known category decides; when the rule also names a known service, only
/// the category's alternatives on that service's channels are kept (if none
/// is left, the service's route is used). Without a category, the service
/// decides.
pub fn routes_for<'a>(
    routes: &'a [LogsourceRoute],
    category: Option<&str>,
    product: Option<&str>,
    service: Option<&str>,
) -> Option<Vec<&'a RouteAlternative>> {
    if product != Some("windows") {
        return None;
    }
    let by_cat = category.and_then(|c| routes.iter().find(|r| r.category.as_deref() == Some(c)));
    let by_svc = service.and_then(|s| routes.iter().find(|r| r.service.as_deref() == Some(s)));
    match (by_cat, by_svc) {
        (Some(c), None) => Some(c.alternatives.iter().collect()),
        (Some(c), Some(s)) => {
            let channels: Vec<&String> = s.alternatives.iter().flat_map(|a| &a.channel).collect();
            let kept: Vec<&RouteAlternative> = c
                .alternatives
                .iter()
                .filter(|a| a.channel.iter().any(|ch| channels.contains(&ch)))
                .collect();
            Some(if kept.is_empty() {
                s.alternatives.iter().collect()
            } else {
                kept
            })
        }
        (None, Some(s)) if category.is_none() => Some(s.alternatives.iter().collect()),
        _ => None,
    }
}

fn scalar(s: &str) -> YamlNode<'static> {
    match s.parse::<i64>() {
        Ok(i) => YamlNode::new(YamlValue::Int(i), Location::default()),
        Err(_) => YamlNode::new(YamlValue::String(s.to_string().into()), Location::default()),
    }
}

fn values(v: &[String]) -> YamlNode<'static> {
    match v {
        [one] => scalar(one),
        many => YamlNode::new(
            YamlValue::Seq(many.iter().map(|s| scalar(s)).collect()),
            Location::default(),
        ),
    }
}

fn alt_map(a: &RouteAlternative) -> YamlNode<'static> {
    let mut m = Vec::new();
    let key = |k: &str| YamlNode::new(YamlValue::String(k.to_string().into()), Location::default());
    if !a.channel.is_empty() {
        m.push((key("Channel"), values(&a.channel)));
    }
    if !a.provider.is_empty() {
        m.push((key("Provider_Name"), values(&a.provider)));
    }
    if !a.event_ids.is_empty() {
        let ids: Vec<String> = a.event_ids.iter().map(u32::to_string).collect();
        m.push((key("EventID"), values(&ids)));
    }
    for (f, v) in &a.conditions {
        m.push((key(f), values(v)));
    }
    YamlNode::new(YamlValue::Map(m), Location::default())
}

fn item(id: String, t: Transformation, cond: RuleCondition) -> ProcessingItem {
    ProcessingItem {
        id: Some(id),
        transformation: t,
        rule_conditions: Conditions {
            items: vec![(None, cond)],
            logic: CondLogic::All,
            negated: false,
        },
        detection_item_conditions: Conditions::default(),
        field_name_conditions: Conditions::default(),
        location: Location::default(),
    }
}

/// The `windows-hunt` pipeline, built from the routing table: per category
/// an `add_condition` with an OR of its alternatives (`Channel`, `EventID`,
/// extra conditions; a list of mappings, a sigil extension of
/// `add_condition`), then field mappings that make a renamed field match in
/// either layout (`Image` → `[Image, NewProcessName]`); per service an
/// `add_condition` on `Channel`. Field names are the Windows event names
/// (`Channel`, `EventID`, `Provider_Name`, EventData names).
pub(crate) fn windows_hunt_pipeline() -> Pipeline {
    let mut p = Pipeline::empty("windows-hunt");
    p.priority = 10;
    for r in windows_logsource_routes() {
        let cond = RuleCondition::Logsource(LogSource {
            category: r.category.clone(),
            product: r.product.clone(),
            service: r.service.clone(),
            ..LogSource::default()
        });
        let key = r
            .category
            .clone()
            .or_else(|| r.service.clone())
            .unwrap_or_default();
        let kind = if r.category.is_some() {
            "category"
        } else {
            "service"
        };
        let conditions = match r.alternatives.as_slice() {
            [one] => alt_map(one),
            many => YamlNode::new(
                YamlValue::Seq(many.iter().map(alt_map).collect()),
                Location::default(),
            ),
        };
        p.items.push(item(
            format!("windows_hunt_{kind}_{key}"),
            Transformation::AddCondition {
                conditions,
                name: None,
                template: false,
                negated: false,
            },
            cond.clone(),
        ));
        let mut renames: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for a in &r.alternatives {
            for (from, to) in &a.field_renames {
                renames
                    .entry(from.clone())
                    .or_insert_with(|| vec![from.clone()])
                    .push(to.clone());
            }
        }
        if !renames.is_empty() {
            let mapping = renames
                .into_iter()
                .map(|(k, v)| (k, FieldTarget::Many(v)))
                .collect();
            p.items.push(item(
                format!("windows_hunt_{kind}_{key}_fields"),
                Transformation::FieldNameMapping {
                    mapping,
                    keywords: None,
                },
                cond,
            ));
        }
    }
    p
}
