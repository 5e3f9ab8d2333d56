//! The bridge between a scan and the incident machinery: a [`Sink`] that
//! passes hits on to another sink and keeps what correlations and incidents
//! need.
//!
//! For every hit it records an [`IncidentHit`] (rule, time, source, host,
//! entities) and, when a correlation references the rule, a [`CorrEvent`]
//! with the group-by and aggregated fields. Field values are read from the
//! hit's event with the same layout resolution the matcher uses, so the
//! scan must attach events to hits (`ScanOptions::full`); the collector
//! strips them again before passing hits on unless the user asked for them.
//! Hits of rules whose correlations have `generate: false` are kept for the
//! correlations but not passed on (and counted).
//!
//! Memory: one small record per hit, capped at [`DEFAULT_HIT_CAP`] records
//! (the excess is counted and reported, never silently dropped).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};
use sigma_core::{Document, Level, RuleSet};

use super::correlate::{CorrEvent, CorrelationAlert, CorrelationSet, CorrelationStats};
use super::{
    entity_fields, extract_entities, time, HitEntities, HitRule, IncidentHit, Interner, HOST_FIELDS,
};
use crate::layout::{timestamp, FieldId, Fields, Layout};
use crate::scan::{Hit, InputError, Sink};
use crate::Engine;

/// The most hit records kept for incidents and correlations.
pub const DEFAULT_HIT_CAP: usize = 2_000_000;

/// Counters of the collector.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CollectStats {
    /// Hits seen.
    pub hits: u64,
    /// Hits passed on to the output.
    pub passed_on: u64,
    /// Hits not passed on because their correlations have `generate: false`.
    pub suppressed: u64,
    /// Hits not kept for incidents because the cap was reached.
    pub over_cap: u64,
}

/// A [`Sink`] that records hits for correlations and incidents.
pub struct IncidentCollector<'a, S: Sink> {
    inner: &'a mut S,
    correlations: &'a CorrelationSet,
    fields: Fields,
    entity_ids: HashMap<&'static str, FieldId>,
    /// Per recorded hit: whether it was passed on (reported).
    reported: Vec<bool>,
    /// Rule index → (id, name, level, correlation field ids).
    rules: HashMap<u32, RuleExtra>,
    names_by_id: HashMap<String, String>,
    /// (title, file) → name, for rules without an id.
    names_by_title: HashMap<(String, Option<std::path::PathBuf>), String>,
    interner: Interner,
    keep_events: bool,
    record_all: bool,
    cap: usize,
    /// Hits recorded for incidents, in scan order.
    pub hits: Vec<IncidentHit>,
    /// Hits recorded for correlations.
    pub corr_events: Vec<CorrEvent>,
    /// Counters.
    pub stats: CollectStats,
}

struct RuleExtra {
    id: Option<String>,
    name: Option<String>,
    shared: Arc<HitRule>,
    referenced: bool,
    suppressed: bool,
    corr_fields: Vec<(String, FieldId)>,
}

impl<'a, S: Sink> IncidentCollector<'a, S> {
    /// Wraps `inner`. `keep_events`: pass the whole event on with each hit.
    pub fn new(
        inner: &'a mut S,
        set: &RuleSet,
        correlations: &'a CorrelationSet,
        keep_events: bool,
    ) -> Self {
        let mut fields = Fields::new();
        let entity_ids = entity_fields()
            .into_iter()
            .map(|f| (f, fields.intern(f)))
            .collect();
        let names_by_id = set
            .documents
            .iter()
            .filter_map(|d| match d {
                Document::Rule(r) => Some((r.meta.id.clone()?, r.meta.name.clone()?)),
                _ => None,
            })
            .collect();
        let names_by_title = set
            .documents
            .iter()
            .filter_map(|d| match d {
                Document::Rule(r) if r.meta.id.is_none() => Some((
                    (r.meta.title.clone(), r.origin.file.clone()),
                    r.meta.name.clone()?,
                )),
                _ => None,
            })
            .collect();
        IncidentCollector {
            inner,
            correlations,
            fields,
            entity_ids,
            rules: HashMap::new(),
            names_by_id,
            names_by_title,
            interner: Interner::default(),
            reported: Vec::new(),
            keep_events,
            record_all: true,
            cap: DEFAULT_HIT_CAP,
            hits: Vec::new(),
            corr_events: Vec::new(),
            stats: CollectStats::default(),
        }
    }

    /// Records only the hits of rules that correlations reference (when no
    /// incidents are wanted), so memory follows the correlations' work.
    pub fn correlations_only(mut self) -> Self {
        self.record_all = false;
        self
    }

    /// Sets the cap on recorded hits.
    pub fn with_cap(mut self, cap: usize) -> Self {
        self.cap = cap;
        self
    }

    fn extra(&mut self, engine: &Engine, rule: u32) -> &RuleExtra {
        if !self.rules.contains_key(&rule) {
            let info = engine.rules().get(rule as usize);
            let id = info.map(|r| r.rule.id.clone()).filter(|s| !s.is_empty());
            let name = match &id {
                Some(i) => self.names_by_id.get(i).cloned(),
                None => info.and_then(|r| {
                    self.names_by_title
                        .get(&(r.rule.title.clone(), r.rule.file.clone()))
                        .cloned()
                }),
            };
            let shared = Arc::new(HitRule {
                id: id.clone(),
                title: info.map(|r| r.rule.title.clone()).unwrap_or_default(),
                level: info.and_then(|r| Level::from_name(&r.level)),
                tags: info.map(|r| r.tags.clone()).unwrap_or_default(),
            });
            let referenced = self.correlations.references(id.as_deref(), name.as_deref());
            let suppressed = self.correlations.suppresses(id.as_deref(), name.as_deref());
            let corr_fields = self
                .correlations
                .fields_for(id.as_deref(), name.as_deref())
                .into_iter()
                .map(|f| {
                    let fid = self.fields.intern(&f);
                    (f, fid)
                })
                .collect();
            self.rules.insert(
                rule,
                RuleExtra {
                    id,
                    name,
                    shared,
                    referenced,
                    suppressed,
                    corr_fields,
                },
            );
        }
        &self.rules[&rule]
    }

    /// Runs the correlations over the recorded hits and returns their
    /// alerts; the alerts are also recorded as incident hits.
    pub fn finish_correlations(&mut self) -> (Vec<CorrelationAlert>, CorrelationStats) {
        let events = std::mem::take(&mut self.corr_events);
        let (alerts, stats) = self.correlations.run(events);
        for a in &alerts {
            let host = a
                .group
                .iter()
                .find(|(k, _)| HOST_FIELDS.contains(&k.as_str()))
                .map(|(_, v)| self.interner.get(v))
                .or_else(|| {
                    a.hits
                        .iter()
                        .find_map(|&i| self.hits.get(i).and_then(|h| h.host.clone()))
                });
            let mut entities = HitEntities::new();
            for &i in &a.hits {
                if let Some(h) = self.hits.get(i) {
                    entities.extend(h.entities.iter().cloned());
                }
            }
            entities.sort();
            entities.dedup();
            self.reported.push(true);
            self.hits.push(IncidentHit {
                rule: Arc::new(HitRule {
                    id: a.id.clone(),
                    title: a.title.clone(),
                    level: a.level,
                    tags: a.tags.clone(),
                }),
                time: Some(a.last),
                source: Arc::from(format!("correlation of {} hits", a.hits.len())),
                host,
                entities,
                correlation: true,
            });
        }
        (alerts, stats)
    }
}

impl<S: Sink> IncidentCollector<'_, S> {
    /// The recorded hits that were reported (passed on, plus correlation
    /// alerts after [`IncidentCollector::finish_correlations`]): the input
    /// of [`super::build_incidents`].
    pub fn reported_hits(&self) -> impl Iterator<Item = &IncidentHit> {
        self.hits
            .iter()
            .zip(&self.reported)
            .filter(|(_, r)| **r)
            .map(|(h, _)| h)
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        Value::Object(_) | Value::Array(_) => Some(v.to_string()),
        other => Some(other.to_string()),
    }
}

impl<S: Sink> Sink for IncidentCollector<'_, S> {
    fn hit(&mut self, engine: &Engine, hit: &Hit) {
        self.stats.hits += 1;
        let (id, name, shared, referenced, suppressed, corr_fields) = {
            let e = self.extra(engine, hit.rule);
            (
                e.id.clone(),
                e.name.clone(),
                e.shared.clone(),
                e.referenced,
                e.suppressed,
                e.corr_fields.clone(),
            )
        };
        let empty = Map::new();
        let root = match &hit.event {
            Some(Value::Object(m)) => m,
            _ => &empty,
        };
        let layout = Layout::detect(root);
        let get = |fid: FieldId| -> Option<String> {
            self.fields
                .resolve(fid, layout, root)
                .and_then(text)
                .or_else(|| hit.fields.get(self.fields.name(fid)).and_then(text))
        };
        let time_ms = hit
            .timestamp
            .as_deref()
            .or_else(|| timestamp(layout, root))
            .and_then(time::parse_timestamp);
        if !self.record_all && !referenced {
            // Nothing to keep: neither incidents nor correlations need it.
        } else if self.hits.len() >= self.cap {
            self.stats.over_cap += 1;
        } else {
            let index = self.hits.len();
            let entity_ids = &self.entity_ids;
            let (host, entities) = extract_entities(
                |f| entity_ids.get(f).and_then(|fid| get(*fid)),
                &mut self.interner,
            );
            let source = match (&hit.source.line, &hit.source.record_id, &hit.source.element) {
                (Some(l), _, _) => format!("{}:{l}", hit.source.file.display()),
                (_, Some(r), _) => format!("{}#record{r}", hit.source.file.display()),
                (_, _, Some(e)) => format!("{}[{e}]", hit.source.file.display()),
                _ => hit.source.file.display().to_string(),
            };
            if referenced {
                if let Some(t) = time_ms {
                    let fields = corr_fields
                        .iter()
                        .filter_map(|(n, fid)| Some((n.clone(), get(*fid)?)))
                        .collect();
                    self.corr_events.push(CorrEvent {
                        rule_id: id.clone(),
                        rule_name: name.clone(),
                        time: t,
                        fields,
                        hits: vec![index],
                    });
                }
            }
            // Suppressed hits keep their slot so correlation alerts can
            // find their entities, but are not reported.
            self.reported.push(!suppressed);
            self.hits.push(IncidentHit {
                rule: shared,
                time: time_ms,
                source: Arc::from(source),
                host,
                entities,
                correlation: false,
            });
        }
        if suppressed {
            self.stats.suppressed += 1;
            return;
        }
        self.stats.passed_on += 1;
        if self.keep_events || hit.event.is_none() {
            self.inner.hit(engine, hit);
        } else {
            // Pass the hit on without the event (which the user did not ask
            // for), without copying the event first.
            let h = Hit {
                rule: hit.rule,
                source: hit.source.clone(),
                timestamp: hit.timestamp.clone(),
                fields: hit.fields.clone(),
                event: None,
            };
            self.inner.hit(engine, &h);
        }
    }

    fn error(&mut self, err: &InputError) {
        self.inner.error(err);
    }

    fn progress(&mut self, bytes: u64) {
        self.inner.progress(bytes);
    }
}
