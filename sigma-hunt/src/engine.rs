//! The engine: every rule of a rule set compiled once, indexed by the
//! channel its routes accept, and evaluated against events.
//!
//! Routing is the first and cheapest filter: an event's Channel selects a
//! short list of (rule, route) programs and its EventID removes most of
//! those before any detection logic runs.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value};
use sigma_core::{Document, Level, RuleSet, SigmaError, Tag};

use crate::compile::{compile_program, Cond, Node, Program, RuleRef, Scalar, Test};
use crate::eval::{eval_program, EventCtx};
use crate::layout::{FieldId, Fields};
use crate::routing::{Router, SharedRouter};

#[path = "groups.rs"]
mod groups;
#[path = "plan.rs"]
pub mod plan;
#[path = "prefilter.rs"]
pub mod prefilter;
#[path = "sparse.rs"]
mod sparse;

/// Options of [`Engine::build`].
#[derive(Default)]
pub struct EngineOptions {
    /// Rules below this level are skipped (and reported).
    pub min_level: Option<Level>,
    /// The router; the shared Windows table when `None`.
    pub router: Option<Box<dyn Router>>,
    /// A processing pipeline applied to every rule before routing and
    /// compilation (field renames for other log shapes, ...).
    pub pipeline: Option<sigma_core::pipeline::Pipeline>,
}

/// What happened to each rule while building the engine.
#[derive(Debug, Default, Serialize)]
pub struct LoadReport {
    /// Rule files read.
    pub files: usize,
    /// Rules compiled and evaluated.
    pub loaded: usize,
    /// Rules whose logsource has no route, with the reason.
    pub unrouted: Vec<(RuleRef, String)>,
    /// Rules that cannot be evaluated, with the reason.
    pub unsupported: Vec<(RuleRef, String)>,
    /// Documents deliberately not evaluated (correlations, `--min-level`).
    pub skipped: Vec<(RuleRef, String)>,
    /// Files or documents that failed to parse.
    #[serde(skip)]
    pub errors: Vec<SigmaError>,
}

impl LoadReport {
    /// Rules not loaded, for any reason.
    pub fn not_loaded(&self) -> usize {
        self.unrouted.len() + self.unsupported.len() + self.skipped.len() + self.errors.len()
    }
}

/// Rule metadata carried by hits.
#[derive(Debug, Clone, Serialize)]
pub struct RuleInfo {
    /// Id, title, file.
    #[serde(flatten)]
    pub rule: RuleRef,
    /// Level name (empty when absent).
    pub level: String,
    /// Tags as written (`attack.t1059`).
    pub tags: Vec<String>,
}

struct Variant {
    rule: u32,
    /// What the rule's detection needs to see in a raw line (after the
    /// pipeline), for the prefilter plan.
    req: plan::Req,
    /// Route conditions beyond channel and EventID (provider, other
    /// fields): each field must equal one of its values.
    guards: Vec<(FieldId, Vec<String>)>,
    program: Program,
}

/// Variants by EventID: the ones that need a given id, and the ones that
/// accept any.
#[derive(Default, Clone)]
struct ById {
    by_id: HashMap<i64, Vec<u32>>,
    any_id: Vec<u32>,
}

impl ById {
    fn add(&mut self, ids: &[i64], vi: u32) {
        if ids.is_empty() {
            self.any_id.push(vi);
        }
        for id in ids {
            self.by_id.entry(*id).or_default().push(vi);
        }
    }

    fn candidates(&self, event_id: Option<i64>) -> impl Iterator<Item = u32> + '_ {
        let by = event_id
            .and_then(|id| self.by_id.get(&id))
            .map_or(&[][..], |v| v.as_slice());
        by.iter().chain(self.any_id.iter()).copied()
    }
}

/// The compiled rule set.
pub struct Engine {
    fields: Fields,
    rules: Vec<RuleInfo>,
    variants: Vec<Variant>,
    /// Distinct channel names and the variants routed to each.
    channels: Vec<(String, ById)>,
    /// Variants routed to every Windows event.
    any_channel: ById,
    channel_field: FieldId,
    event_id_field: FieldId,
    /// The load report.
    pub report: LoadReport,
    /// The prefilter plan (see [`plan`]).
    plan: Option<plan::Plan>,
}

/// Reusable per-thread evaluation scratch space.
#[derive(Default)]
pub struct Scratch {
    seen: Vec<u32>,
    plan: prefilter::PlanScratch,
}

fn tag_text(t: &Tag) -> String {
    if t.namespace.is_empty() {
        t.name.clone()
    } else {
        format!("{}.{}", t.namespace, t.name)
    }
}

impl Engine {
    /// Compiles every rule of a rule set.
    pub fn build(set: &RuleSet, opts: EngineOptions) -> Engine {
        let router: Box<dyn Router> = opts.router.unwrap_or_else(|| Box::new(SharedRouter));
        let mut fields = Fields::new();
        let channel_field = fields.intern("Channel");
        let event_id_field = fields.intern("EventID");
        let mut e = Engine {
            fields,
            rules: Vec::new(),
            variants: Vec::new(),
            channels: Vec::new(),
            any_channel: ById::default(),
            channel_field,
            event_id_field,
            report: LoadReport {
                files: set.files,
                errors: set.errors.clone(),
                ..LoadReport::default()
            },
            plan: None,
        };
        for doc in &set.documents {
            let rule = match doc {
                Document::Rule(r) => r,
                // Correlations run over the hits of the rules they reference
                // (`incident::correlate`), not over events.
                Document::Correlation(_) => continue,
                // Filters are applied to the rules they target.
                Document::Filter(_) => continue,
            };
            let rref = RuleRef::of(&rule.meta, &rule.origin);
            if let Some(min) = opts.min_level {
                if rule.meta.level.is_none_or(|l| l < min) {
                    e.report
                        .skipped
                        .push((rref, format!("level below --min-level {min}")));
                    continue;
                }
            }
            let processed;
            let original = rule;
            let rule = match &opts.pipeline {
                None => rule,
                Some(p) => match p.apply(rule) {
                    Ok(pr) => {
                        processed = pr.rule;
                        &processed
                    }
                    Err(err) => {
                        e.report
                            .unsupported
                            .push((rref, format!("pipeline '{}': {}", p.name, err.message)));
                        continue;
                    }
                },
            };
            let routes = match router.guarded_routes(&rule.logsource) {
                Ok(r) => r,
                Err(reason) => {
                    e.report.unrouted.push((rref, reason));
                    continue;
                }
            };
            let filters: Vec<_> = set.filters_for(original).map(|f| &f.detection).collect();
            let mut programs = Vec::new();
            let mut failure = None;
            let used = crate::compile::rule_fields(rule);
            for g in &routes {
                let route = &g.route;
                if g.unsupported_fields
                    .iter()
                    .any(|f| used.iter().any(|u| u == f))
                {
                    // These events lack a field the rule reads.
                    continue;
                }
                match compile_program(rule, &filters, &mut e.fields, &route.mapping) {
                    Ok(p) => programs.push((g, p)),
                    Err(msg) => {
                        failure = Some(msg);
                        break;
                    }
                }
            }
            if failure.is_none() && programs.is_empty() {
                e.report
                    .unrouted
                    .push((rref, "every route lacks a field the rule reads".to_string()));
                continue;
            }
            if let Some(msg) = failure {
                e.report.unsupported.push((rref, msg));
                continue;
            }
            let rule_idx = e.rules.len() as u32;
            e.rules.push(RuleInfo {
                rule: rref,
                level: rule
                    .meta
                    .level
                    .map(|l| l.name().to_string())
                    .unwrap_or_default(),
                tags: rule.meta.tags.iter().map(tag_text).collect(),
            });
            e.report.loaded += 1;
            let req = plan::rule_requirement(rule);
            for (g, program) in programs {
                let route = &g.route;
                let vi = e.variants.len() as u32;
                // EventIDs the detection itself requires narrow the route
                // (`service: security` rules almost always test EventID).
                let ids: Vec<i64> = match required_ids(&program, event_id_field) {
                    Some(req) if route.event_ids.is_empty() => req,
                    Some(req) => route
                        .event_ids
                        .iter()
                        .copied()
                        .filter(|i| req.contains(i))
                        .collect(),
                    None => route.event_ids.clone(),
                };
                // An empty list here means the route and the detection
                // exclude each other: the variant can never match.
                let never = ids.is_empty() && !route.event_ids.is_empty();
                let mut guards = Vec::new();
                if !g.providers.is_empty() {
                    guards.push((e.fields.intern("Provider_Name"), g.providers.clone()));
                }
                for (f, vals) in &g.conditions {
                    guards.push((e.fields.intern(f), vals.clone()));
                }
                e.variants.push(Variant {
                    rule: rule_idx,
                    req: req.clone(),
                    guards,
                    program,
                });
                if never {
                    continue;
                }
                if route.channels.is_empty() {
                    e.any_channel.add(&ids, vi);
                }
                for ch in &route.channels {
                    match e
                        .channels
                        .iter_mut()
                        .find(|(c, _)| c.eq_ignore_ascii_case(ch))
                    {
                        Some((_, by)) => by.add(&ids, vi),
                        None => {
                            let mut by = ById::default();
                            by.add(&ids, vi);
                            e.channels.push((ch.clone(), by));
                        }
                    }
                }
            }
        }
        let mut plan = plan::Plan::build(&e);
        plan.groups = Some(groups::Groups::build(&e, &plan));
        plan.sparse = Some(sparse::SparsePlan::build(&e));
        e.plan = Some(plan);
        e
    }

    /// The interned fields (for the scanner and tests).
    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// Compiled rules.
    pub fn rules(&self) -> &[RuleInfo] {
        &self.rules
    }

    /// Evaluates one event; appends the index of every rule that matched
    /// (each rule once, in rule order) to `hits`.
    pub fn evaluate(&self, root: &Map<String, Value>, scratch: &mut Scratch, hits: &mut Vec<u32>) {
        self.evaluate_where(root, scratch, hits, false);
    }

    /// [`Engine::evaluate`]; with `filtered`, only the candidate variants
    /// of the last prefilter decision kept in `scratch` are evaluated.
    fn evaluate_where(
        &self,
        root: &Map<String, Value>,
        scratch: &mut Scratch,
        hits: &mut Vec<u32>,
        filtered: bool,
    ) {
        let mut ev = EventCtx::new(root, &self.fields);
        let channel = match ev.get(self.channel_field) {
            Some(Value::String(s)) => s.as_str(),
            _ => return,
        };
        let event_id = ev.get(self.event_id_field).and_then(|v| match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        });
        scratch.seen.clear();
        let routed = self
            .channels
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(channel))
            .map(|(_, by)| by.candidates(event_id));
        let any = self.any_channel.candidates(event_id);
        for vi in routed.into_iter().flatten().chain(any) {
            if filtered && !scratch.plan.allows(vi) {
                continue;
            }
            let Some(v) = self.variants.get(vi as usize) else {
                continue;
            };
            if scratch.seen.contains(&v.rule) {
                continue;
            }
            if !v.guards.iter().all(|(f, vals)| match ev.get(*f) {
                Some(Value::String(s)) => vals.iter().any(|x| x.eq_ignore_ascii_case(s)),
                _ => false,
            }) {
                continue;
            }
            if eval_program(&v.program, &mut ev) {
                scratch.seen.push(v.rule);
            }
        }
        scratch.seen.sort_unstable();
        hits.extend_from_slice(&scratch.seen);
    }

    /// The fields a rule reads that are present in the event, with their
    /// values (the "matched fields" of a hit).
    pub fn matched_fields(&self, rule: u32, root: &Map<String, Value>) -> Map<String, Value> {
        let mut ev = EventCtx::new(root, &self.fields);
        let mut out = Map::new();
        // Variants are stored in rule order.
        let first = self.variants.partition_point(|v| v.rule < rule);
        let own = self.variants.get(first..).unwrap_or_default();
        for v in own.iter().take_while(|v| v.rule == rule) {
            for &f in &v.program.fields {
                if let Some(val) = ev.get(f) {
                    out.entry(self.fields.name(f).to_string())
                        .or_insert_with(|| val.clone());
                }
            }
        }
        out
    }
}

/// The EventIDs without which a program cannot match, when the detection
/// requires `EventID` to equal one of a list of integers; `None` when it
/// does not (or when that cannot be proven).
fn required_ids(p: &Program, eid: FieldId) -> Option<Vec<i64>> {
    cond_ids(&p.condition, p, eid)
}

fn cond_ids(c: &Cond, p: &Program, eid: FieldId) -> Option<Vec<i64>> {
    match c {
        Cond::Search(i) => p.searches.get(*i).and_then(|n| node_ids(n, eid)),
        Cond::Not(_) => None,
        Cond::And(xs) => xs.iter().find_map(|x| cond_ids(x, p, eid)),
        Cond::Or(xs) => union(xs.iter().map(|x| cond_ids(x, p, eid))),
    }
}

fn union(parts: impl Iterator<Item = Option<Vec<i64>>>) -> Option<Vec<i64>> {
    let mut all = Vec::new();
    let mut any = false;
    for p in parts {
        all.extend(p?);
        any = true;
    }
    if !any {
        // An empty OR never matches: no id can help it.
        return Some(Vec::new());
    }
    all.sort_unstable();
    all.dedup();
    Some(all)
}

fn node_ids(n: &Node, eid: FieldId) -> Option<Vec<i64>> {
    match n {
        Node::And(xs) => xs.iter().find_map(|x| node_ids(x, eid)),
        Node::Or(xs) => union(xs.iter().map(|x| node_ids(x, eid))),
        Node::Field {
            field,
            negated: false,
            test: Test::Any(m),
        } if *field == eid && m.strs.is_none() && !m.scalars.is_empty() => {
            let mut ids = Vec::new();
            for s in &m.scalars {
                match s {
                    Scalar::Number(x) if x.fract() == 0.0 && x.abs() < 1e15 => ids.push(*x as i64),
                    _ => return None,
                }
            }
            Some(ids)
        }
        _ => None,
    }
}

/// Loads rule files and folders like [`sigma_core::load_paths`], parsing
/// the files in parallel (rule loading is a visible part of a hunt's
/// wall-clock time with thousands of rules). The result is identical,
/// in the same order.
pub fn load_rules<P: AsRef<std::path::Path> + Sync>(paths: &[P]) -> RuleSet {
    use rayon::prelude::*;
    let mut set = RuleSet::default();
    for p in paths {
        match sigma_core::rule_files(p.as_ref()) {
            Ok(files) => {
                let parts: Vec<RuleSet> =
                    files.par_iter().map(|f| sigma_core::load_file(f)).collect();
                for part in parts {
                    set.extend(part);
                }
            }
            Err(e) => set.errors.push(e),
        }
    }
    set.resolve_references();
    set
}
