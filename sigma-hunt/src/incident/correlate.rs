//! Correlation rules evaluated over hits, in event-time order.
//!
//! The scanner reads files in parallel and out of time order, so the hunt
//! hands this module one small record per hit of a referenced rule (its
//! time, the few fields the correlations group or aggregate by, and the
//! hit's index). Records are sorted by time once, then every correlation
//! runs over them with per-group windows:
//!
//! * **Eager** conditions (only `gt`/`gte` bounds on event_count,
//!   value_count, temporal and temporal_ordered) can only become true as
//!   events are added, so they are checked after each event on the sliding
//!   window `[t - timespan, t]`; an alert consumes its events.
//! * **Window** conditions (`lt`, `lte`, `eq`, `neq`, ranges, the value_*
//!   aggregates, temporal boolean expressions) need the whole window, so
//!   each group's window opens at its first event and is judged when an
//!   event falls past its end, or at the end of the input.
//!
//! Correlations of correlations run in dependency order: an inner alert is
//! an event of the outer one, with the inner alert's group values as its
//! fields. State is bounded: windows expire, and a per-correlation cap on
//! buffered events drops the excess and reports it.
//!
//! Events missing a group-by field are not counted, as a SIEM's
//! `stats … by` drops them; the number is reported.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use serde::Serialize;
use sigma_core::{
    ConditionExpr, CorrelationCondition, CorrelationOp, CorrelationRule, CorrelationType, Level,
    RuleSet,
};

/// The most events one correlation keeps in its open windows.
pub const DEFAULT_STATE_CAP: usize = 100_000;

/// One hit (or inner alert) as seen by the correlations.
#[derive(Debug, Clone, Serialize)]
pub struct CorrEvent {
    /// The id of the rule that fired.
    pub rule_id: Option<String>,
    /// The name of the rule that fired.
    pub rule_name: Option<String>,
    /// Event time, milliseconds since the epoch.
    pub time: i64,
    /// Values of the fields the correlations need (see
    /// [`CorrelationSet::fields_for`]).
    pub fields: BTreeMap<String, String>,
    /// Indices of the base hits behind this event.
    pub hits: Vec<usize>,
}

/// An alert produced by a correlation rule.
#[derive(Debug, Clone, Serialize)]
pub struct CorrelationAlert {
    /// The correlation's id.
    pub id: Option<String>,
    /// The correlation's name.
    pub name: Option<String>,
    /// Its title.
    pub title: String,
    /// Its level.
    pub level: Option<Level>,
    /// Its tags.
    pub tags: Vec<String>,
    /// The correlation type.
    pub kind: CorrelationType,
    /// The group-by values of the alert.
    pub group: BTreeMap<String, String>,
    /// Time of the first event that formed it.
    pub first: i64,
    /// Time of the last event that formed it.
    pub last: i64,
    /// The measured value (count, distinct count, sum, …).
    pub value: f64,
    /// The base hits that formed it, in time order.
    pub hits: Vec<usize>,
}

/// Counters of a correlation run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CorrelationStats {
    /// Alerts produced.
    pub alerts: usize,
    /// Events ignored because a group-by field was missing.
    pub missing_group_field: u64,
    /// Per correlation title: events dropped because the state cap was hit.
    pub overflow: BTreeMap<String, u64>,
}

struct Compiled {
    rule: CorrelationRule,
    timespan_ms: i64,
    eager: bool,
    depth: usize,
}

/// The correlation rules of a rule set, ready to run.
pub struct CorrelationSet {
    items: Vec<Compiled>,
    state_cap: usize,
}

fn refers(reference: &str, id: Option<&str>, name: Option<&str>) -> bool {
    Some(reference) == id || Some(reference) == name
}

impl CorrelationSet {
    /// Compiles every correlation of `set`. Problems (a cycle, a missing
    /// timespan) are returned as messages naming the rule; those
    /// correlations are left out.
    pub fn new(set: &RuleSet) -> (CorrelationSet, Vec<String>) {
        let all: Vec<&CorrelationRule> = set.correlations().collect();
        let mut problems = Vec::new();
        // Depth: 0 when every reference is a detection rule.
        let mut depth: Vec<Option<usize>> = vec![None; all.len()];
        for _ in 0..=all.len() {
            for i in 0..all.len() {
                if depth[i].is_some() {
                    continue;
                }
                let mut d = 0;
                let mut ready = true;
                for r in &all[i].correlation.rules {
                    if let Some(j) = all
                        .iter()
                        .position(|c| refers(r, c.meta.id.as_deref(), c.meta.name.as_deref()))
                    {
                        match depth[j] {
                            Some(dj) => d = d.max(dj + 1),
                            None => ready = false,
                        }
                    }
                }
                if ready {
                    depth[i] = Some(d);
                }
            }
        }
        let mut items = Vec::new();
        for (i, c) in all.into_iter().enumerate() {
            let Some(d) = depth[i] else {
                problems.push(format!(
                    "correlation '{}' is part of a reference cycle; skipped",
                    c.meta.title
                ));
                continue;
            };
            let Some(ts) = &c.correlation.timespan else {
                problems.push(format!(
                    "correlation '{}' has no timespan; skipped",
                    c.meta.title
                ));
                continue;
            };
            let eager = match &c.correlation.condition {
                CorrelationCondition::Threshold { bounds, .. } => {
                    bounds
                        .iter()
                        .all(|(op, _)| matches!(op, CorrelationOp::Gt | CorrelationOp::Gte))
                        && matches!(
                            c.correlation.kind,
                            CorrelationType::EventCount
                                | CorrelationType::ValueCount
                                | CorrelationType::Temporal
                                | CorrelationType::TemporalOrdered
                        )
                }
                CorrelationCondition::Expression { .. } => false,
            };
            items.push(Compiled {
                rule: c.clone(),
                timespan_ms: i64::try_from(ts.seconds)
                    .unwrap_or(i64::MAX / 2)
                    .saturating_mul(1000),
                eager,
                depth: d,
            });
        }
        items.sort_by_key(|c| c.depth);
        (
            CorrelationSet {
                items,
                state_cap: DEFAULT_STATE_CAP,
            },
            problems,
        )
    }

    /// Sets the per-correlation cap on buffered events.
    pub fn with_state_cap(mut self, cap: usize) -> Self {
        self.state_cap = cap.max(1);
        self
    }

    /// Number of correlations.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there is no correlation.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether any correlation refers to this rule.
    pub fn references(&self, id: Option<&str>, name: Option<&str>) -> bool {
        self.items
            .iter()
            .any(|c| c.rule.correlation.rules.iter().any(|r| refers(r, id, name)))
    }

    /// Whether the rule's own hits should be suppressed: every correlation
    /// that refers to it has `generate: false` (the specification's
    /// default).
    pub fn suppresses(&self, id: Option<&str>, name: Option<&str>) -> bool {
        let mut any = false;
        for c in &self.items {
            if c.rule.correlation.rules.iter().any(|r| refers(r, id, name)) {
                if c.rule.correlation.generate {
                    return false;
                }
                any = true;
            }
        }
        any
    }

    /// The event fields the correlations need from this rule's hits: the
    /// group-by fields (through aliases) and the aggregated fields.
    pub fn fields_for(&self, id: Option<&str>, name: Option<&str>) -> Vec<String> {
        let mut out = Vec::new();
        for c in &self.items {
            let corr = &c.rule.correlation;
            if !corr.rules.iter().any(|r| refers(r, id, name)) {
                continue;
            }
            for g in &corr.group_by {
                out.push(resolve_alias(corr, g, id, name));
            }
            if let CorrelationCondition::Threshold { field, .. } = &corr.condition {
                out.extend(field.iter().cloned());
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Runs every correlation over the events (any order; they are sorted
    /// by time here).
    pub fn run(&self, mut events: Vec<CorrEvent>) -> (Vec<CorrelationAlert>, CorrelationStats) {
        events.sort_by_key(|e| e.time);
        let mut stats = CorrelationStats::default();
        let mut alerts: Vec<CorrelationAlert> = Vec::new();
        // Alerts of lower-depth correlations become events of later ones.
        let mut derived: Vec<CorrEvent> = Vec::new();
        for c in &self.items {
            let corr = &c.rule.correlation;
            let mut input: Vec<&CorrEvent> = events
                .iter()
                .chain(derived.iter())
                .filter(|e| {
                    corr.rules
                        .iter()
                        .any(|r| refers(r, e.rule_id.as_deref(), e.rule_name.as_deref()))
                })
                .collect();
            input.sort_by_key(|e| e.time);
            let produced = self.run_one(c, &input, &mut stats);
            for a in &produced {
                derived.push(CorrEvent {
                    rule_id: a.id.clone(),
                    rule_name: a.name.clone(),
                    time: a.last,
                    fields: a.group.clone(),
                    hits: a.hits.clone(),
                });
            }
            alerts.extend(produced);
        }
        alerts.sort_by_key(|a| (a.last, a.first));
        stats.alerts = alerts.len();
        (alerts, stats)
    }

    fn run_one(
        &self,
        c: &Compiled,
        input: &[&CorrEvent],
        stats: &mut CorrelationStats,
    ) -> Vec<CorrelationAlert> {
        let corr = &c.rule.correlation;
        let mut groups: HashMap<Vec<String>, Group> = HashMap::new();
        let mut buffered = 0usize;
        let mut out = Vec::new();
        for e in input {
            let mut key = Vec::with_capacity(corr.group_by.len());
            let mut missing = false;
            for g in &corr.group_by {
                let field = resolve_alias(corr, g, e.rule_id.as_deref(), e.rule_name.as_deref());
                match e.fields.get(&field).or_else(|| e.fields.get(g)) {
                    Some(v) => key.push(v.clone()),
                    None => missing = true,
                }
            }
            if missing {
                stats.missing_group_field += 1;
                continue;
            }
            if buffered >= self.state_cap {
                // Expire every group's old events before giving up.
                let horizon = e.time.saturating_sub(c.timespan_ms);
                for g in groups.values_mut() {
                    while g.events.front().is_some_and(|x| x.time < horizon) {
                        g.events.pop_front();
                        buffered -= 1;
                    }
                }
                groups.retain(|_, g| !g.events.is_empty());
                if buffered >= self.state_cap {
                    *stats.overflow.entry(c.rule.meta.title.clone()).or_default() += 1;
                    continue;
                }
            }
            let group = groups.entry(key.clone()).or_insert_with(|| Group {
                events: VecDeque::new(),
                start: e.time,
            });
            if c.eager {
                let before = group.events.len();
                while group
                    .events
                    .front()
                    .is_some_and(|x| x.time < e.time.saturating_sub(c.timespan_ms))
                {
                    group.events.pop_front();
                }
                buffered -= before - group.events.len();
                group.events.push_back((*e).clone());
                buffered += 1;
                if let Some(value) = evaluate(c, &group.events) {
                    buffered -= group.events.len();
                    out.push(alert(c, &key, std::mem::take(&mut group.events), value));
                }
            } else {
                if !group.events.is_empty() && e.time > group.start.saturating_add(c.timespan_ms) {
                    buffered -= group.events.len();
                    let events = std::mem::take(&mut group.events);
                    if let Some(value) = evaluate(c, &events) {
                        out.push(alert(c, &key, events, value));
                    }
                }
                if group.events.is_empty() {
                    group.start = e.time;
                }
                group.events.push_back((*e).clone());
                buffered += 1;
            }
        }
        if !c.eager {
            let mut rest: Vec<(Vec<String>, Group)> = groups.into_iter().collect();
            rest.sort_by(|a, b| a.0.cmp(&b.0));
            for (key, g) in rest {
                if let Some(value) = evaluate(c, &g.events) {
                    out.push(alert(c, &key, g.events, value));
                }
            }
        }
        out
    }
}

struct Group {
    events: VecDeque<CorrEvent>,
    start: i64,
}

/// The field a group-by name stands for in a given rule's events.
fn resolve_alias(
    corr: &sigma_core::Correlation,
    group_field: &str,
    id: Option<&str>,
    name: Option<&str>,
) -> String {
    corr.aliases
        .iter()
        .find(|a| a.name == group_field)
        .and_then(|a| a.fields.iter().find(|(r, _)| refers(r, id, name)))
        .map_or_else(|| group_field.to_string(), |(_, f)| f.clone())
}

fn alert(
    c: &Compiled,
    key: &[String],
    events: VecDeque<CorrEvent>,
    value: f64,
) -> CorrelationAlert {
    let meta = &c.rule.meta;
    let group = c
        .rule
        .correlation
        .group_by
        .iter()
        .cloned()
        .zip(key.iter().cloned())
        .collect();
    let first = events.front().map_or(0, |e| e.time);
    let last = events.back().map_or(0, |e| e.time);
    let mut hits: Vec<usize> = events.iter().flat_map(|e| e.hits.iter().copied()).collect();
    hits.dedup();
    CorrelationAlert {
        id: meta.id.clone(),
        name: meta.name.clone(),
        title: meta.title.clone(),
        level: meta.level,
        tags: meta.tags.iter().map(|t| t.to_string()).collect(),
        kind: c.rule.correlation.kind,
        group,
        first,
        last,
        value,
        hits,
    }
}

/// The measured value when the condition holds.
fn evaluate(c: &Compiled, events: &VecDeque<CorrEvent>) -> Option<f64> {
    if events.is_empty() {
        return None;
    }
    let corr = &c.rule.correlation;
    match &corr.condition {
        CorrelationCondition::Expression { expr, .. } => {
            let names = expr_names(expr);
            let seen: HashSet<&str> = corr
                .rules
                .iter()
                .chain(names.iter())
                .filter(|r| {
                    events
                        .iter()
                        .any(|e| refers(r, e.rule_id.as_deref(), e.rule_name.as_deref()))
                })
                .map(String::as_str)
                .collect();
            eval_expr(expr, &seen).then_some(seen.len() as f64)
        }
        CorrelationCondition::Threshold {
            field,
            bounds,
            percentile,
        } => {
            let value = match corr.kind {
                CorrelationType::EventCount => events.len() as f64,
                CorrelationType::ValueCount => {
                    let distinct: HashSet<Vec<&str>> = events
                        .iter()
                        .filter_map(|e| {
                            field
                                .iter()
                                .map(|f| e.fields.get(f).map(String::as_str))
                                .collect()
                        })
                        .collect();
                    distinct.len() as f64
                }
                CorrelationType::Temporal => corr
                    .rules
                    .iter()
                    .filter(|r| {
                        events
                            .iter()
                            .any(|e| refers(r, e.rule_id.as_deref(), e.rule_name.as_deref()))
                    })
                    .count() as f64,
                CorrelationType::TemporalOrdered => {
                    let mut next = 0;
                    for e in events {
                        if next < corr.rules.len()
                            && refers(
                                &corr.rules[next],
                                e.rule_id.as_deref(),
                                e.rule_name.as_deref(),
                            )
                        {
                            next += 1;
                        }
                    }
                    next as f64
                }
                CorrelationType::ValueSum
                | CorrelationType::ValueAvg
                | CorrelationType::ValuePercentile
                | CorrelationType::ValueMedian => {
                    let mut nums: Vec<f64> = events
                        .iter()
                        .filter_map(|e| field.first().and_then(|f| e.fields.get(f)))
                        .filter_map(|v| v.trim().parse::<f64>().ok())
                        .collect();
                    if nums.is_empty() {
                        return None;
                    }
                    nums.sort_by(f64::total_cmp);
                    match corr.kind {
                        CorrelationType::ValueSum => nums.iter().sum(),
                        CorrelationType::ValueAvg => nums.iter().sum::<f64>() / nums.len() as f64,
                        CorrelationType::ValueMedian => percentile_of(&nums, 50.0),
                        _ => percentile_of(&nums, percentile.map_or(50.0, |p| p.as_f64())),
                    }
                }
            };
            bounds
                .iter()
                .all(|(op, bound)| op.holds(value, bound.as_f64()))
                .then_some(value)
        }
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile_of(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn expr_names(expr: &ConditionExpr) -> Vec<String> {
    let mut names = Vec::new();
    expr.for_each_identifier(&mut |n| names.push(n.to_string()));
    names
}

fn eval_expr(expr: &ConditionExpr, seen: &HashSet<&str>) -> bool {
    match expr {
        ConditionExpr::Identifier(n) => seen.contains(n.as_str()),
        ConditionExpr::Selector {
            quantifier,
            matched,
            ..
        } => match quantifier {
            sigma_core::Quantifier::Any => matched.iter().any(|m| seen.contains(m.as_str())),
            sigma_core::Quantifier::All => matched.iter().all(|m| seen.contains(m.as_str())),
        },
        ConditionExpr::Not(e) => !eval_expr(e, seen),
        ConditionExpr::And(es) => es.iter().all(|e| eval_expr(e, seen)),
        ConditionExpr::Or(es) => es.iter().any(|e| eval_expr(e, seen)),
    }
}
