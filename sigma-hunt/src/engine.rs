//! The engine: every rule of a rule set compiled once, indexed by the
//! channel its routes accept, and evaluated against events.
//!
//! Routing is the first and cheapest filter: an event's Channel selects a
//! short list of (rule, route) programs and its EventID removes most of
//! those before any detection logic runs.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value};
use sigma_core::{Level, RuleSet, SigmaError, Tag};

use crate::compile::{Cond, Node, Program, RuleRef, Scalar, Test};
use crate::eval::{eval_program, EventCtx};
use crate::layout::{FieldId, Fields};
use crate::routing::Router;

#[path = "build.rs"]
mod build;
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
