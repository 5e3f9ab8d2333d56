//! Building the engine: every rule compiled in parallel, then assembled in
//! rule order.
//!
//! Compiling a rule (pipeline, routing, one program per route, the
//! prefilter requirement) only reads the rule set, except for one shared
//! table: the interned field names. So each rule is compiled on the rayon
//! pool with rule-local field ids ([`LocalFields`]), and a sequential pass
//! then interns each rule's names into the engine's [`Fields`] in the
//! order a one-by-one build would have met them, remaps the programs, and
//! fills the rule list, variants and channel index in rule order. Field
//! ids, variant order, the plan and the load report are therefore exactly
//! those of a sequential build; only the wall-clock time differs.

use rayon::prelude::*;
use sigma_core::{Document, RuleSet};

use super::plan;
use super::{required_ids, tag_text, ById, Engine, EngineOptions, LoadReport, RuleInfo, Variant};
use crate::compile::{compile_program_with, rule_fields, LocalFields, Program, RuleRef};
use crate::layout::{FieldId, Fields};
use crate::routing::{GuardedRoute, Route, Router, SharedRouter};
use sigma_core::{Detections, SigmaRule};

#[path = "spec_ids.rs"]
mod spec_ids;

/// What compiling one document gave.
enum Outcome {
    /// Not evaluated over events (correlations, filters).
    Ignored,
    /// Below `--min-level`.
    Skipped(RuleRef, String),
    /// No route, or no route with the fields the rule reads.
    Unrouted(RuleRef, String),
    /// Cannot be evaluated. A program that failed half-way had already
    /// interned some field names, which a sequential build keeps.
    Unsupported(RuleRef, String, LocalFields),
    /// Compiled.
    Loaded(Box<Compiled>),
}

/// A rule ready to compile: everything the plan needs is known.
struct Prepared<'a> {
    rref: RuleRef,
    original: &'a SigmaRule,
    /// The rule after the pipeline, when there is one.
    processed: Option<SigmaRule>,
    /// The routes whose events have every field the rule reads.
    routes: Vec<GuardedRoute>,
    filters: Vec<&'a Detections>,
    /// What the rule's detection needs to see in a raw line (after the
    /// pipeline), for the prefilter plan.
    req: plan::Req,
    /// Per route: the predicted EventIDs and `never` ([`index_ids`]);
    /// none when the rule is predicted to fail to compile.
    predicted: Vec<(Vec<i64>, bool)>,
    /// Per route: the plan needs, from the predicted ids.
    needs: Vec<plan::VariantNeeds>,
}

/// The first stage of a document.
enum Stage<'a> {
    /// Nothing to compile.
    Done(Outcome),
    /// To compile.
    Rule(Box<Prepared<'a>>),
}

/// A compiled rule with rule-local field ids.
struct Compiled {
    info: RuleInfo,
    fields: LocalFields,
    req: plan::Req,
    /// One variant per usable route, in route order.
    variants: Vec<LocalVariant>,
}

/// A (rule, route) variant before assembly.
struct LocalVariant {
    route: GuardedRoute,
    program: Program,
    /// The EventIDs it is indexed under (empty: any).
    ids: Vec<i64>,
    /// The route and the detection exclude each other: not indexed.
    never: bool,
}

/// Routes a document and derives its plan needs; reads nothing but the
/// document and the set.
fn prepare<'a>(
    doc: &'a Document,
    set: &'a RuleSet,
    opts: &EngineOptions,
    router: &dyn Router,
) -> Stage<'a> {
    let rule = match doc {
        Document::Rule(r) => r,
        // Correlations run over the hits of the rules they reference
        // (`incident::correlate`), not over events.
        Document::Correlation(_) => return Stage::Done(Outcome::Ignored),
        // Filters are applied to the rules they target.
        Document::Filter(_) => return Stage::Done(Outcome::Ignored),
    };
    let rref = RuleRef::of(&rule.meta, &rule.origin);
    if let Some(min) = opts.min_level {
        if rule.meta.level.is_none_or(|l| l < min) {
            let why = format!("level below --min-level {min}");
            return Stage::Done(Outcome::Skipped(rref, why));
        }
    }
    let processed = match &opts.pipeline {
        None => None,
        Some(p) => match p.apply(rule) {
            Ok(pr) => Some(pr.rule),
            Err(err) => {
                let msg = format!("pipeline '{}': {}", p.name, err.message);
                let fields = LocalFields::default();
                return Stage::Done(Outcome::Unsupported(rref, msg, fields));
            }
        },
    };
    let r = processed.as_ref().unwrap_or(rule);
    let mut routes = match router.guarded_routes(&r.logsource) {
        Ok(routes) => routes,
        Err(reason) => return Stage::Done(Outcome::Unrouted(rref, reason)),
    };
    let used = rule_fields(r);
    // Events of these routes lack a field the rule reads.
    routes.retain(|g| !g.unsupported_fields.iter().any(|f| used.contains(f)));
    if routes.is_empty() {
        let why = "every route lacks a field the rule reads".to_string();
        return Stage::Done(Outcome::Unrouted(rref, why));
    }
    let filters: Vec<_> = set.filters_for(rule).map(|f| &f.detection).collect();
    let req = plan::rule_requirement(r);
    // A rule predicted not to compile has no variant in the predicted plan.
    let fails = spec_ids::surely_fails(r, &filters);
    let predicted: Vec<(Vec<i64>, bool)> = routes
        .iter()
        .filter(|_| !fails)
        .map(|g| {
            let ids = spec_ids::predicted_ids(r, &filters, &g.route.mapping);
            index_ids(&g.route, ids)
        })
        .collect();
    let needs = routes
        .iter()
        .zip(&predicted)
        .map(|(g, (ids, never))| variant_needs(&req, g, ids, *never))
        .collect();
    Stage::Rule(Box::new(Prepared {
        rref,
        original: rule,
        processed,
        routes,
        filters,
        req,
        predicted,
        needs,
    }))
}

/// Compiles a prepared rule, one program per route; also tells whether
/// the predicted EventIDs were right.
fn compile_rule(p: Prepared<'_>) -> (Outcome, bool) {
    let Prepared {
        rref,
        original,
        processed,
        routes,
        filters,
        req,
        predicted,
        ..
    } = p;
    let rule = processed.as_ref().unwrap_or(original);
    let mut fields = LocalFields::default();
    let mut programs = Vec::with_capacity(routes.len());
    for g in &routes {
        let mut intern = |name: &str| fields.intern(name);
        match compile_program_with(rule, &filters, &mut intern, &g.route.mapping) {
            Ok(program) => programs.push(program),
            Err(msg) => {
                let held = predicted.is_empty();
                return (Outcome::Unsupported(rref, msg, fields), held);
            }
        }
    }
    let event_id = fields
        .names()
        .iter()
        .position(|n| n == "EventID")
        // Not read by the rule: no node can test it.
        .map_or(FieldId(u32::MAX), |i| FieldId(i as u32));
    let info = RuleInfo {
        rule: rref,
        level: rule
            .meta
            .level
            .map(|l| l.name().to_string())
            .unwrap_or_default(),
        tags: rule.meta.tags.iter().map(tag_text).collect(),
    };
    let mut held = predicted.len() == programs.len();
    let mut variants = Vec::with_capacity(programs.len());
    for (i, (route, program)) in routes.into_iter().zip(programs).enumerate() {
        let (ids, never) = index_ids(&route.route, required_ids(&program, event_id));
        held &= predicted
            .get(i)
            .is_some_and(|(p, n)| *p == ids && *n == never);
        variants.push(LocalVariant {
            route,
            program,
            ids,
            never,
        });
    }
    let c = Compiled {
        info,
        fields,
        req,
        variants,
    };
    (Outcome::Loaded(Box::new(c)), held)
}

/// The EventIDs a variant is indexed under, from its route and the ids
/// its detection requires, and whether it can never match.
fn index_ids(route: &Route, required: Option<Vec<i64>>) -> (Vec<i64>, bool) {
    // EventIDs the detection itself requires narrow the route
    // (`service: security` rules almost always test EventID).
    let ids: Vec<i64> = match required {
        Some(req) if route.event_ids.is_empty() => req,
        Some(req) => route
            .event_ids
            .iter()
            .copied()
            .filter(|i| req.contains(i))
            .collect(),
        None => route.event_ids.clone(),
    };
    // An empty list here means the route and the detection exclude each
    // other: the variant can never match.
    let never = ids.is_empty() && !route.event_ids.is_empty();
    (ids, never)
}

/// The plan needs of a variant.
fn variant_needs(
    req: &plan::Req,
    g: &GuardedRoute,
    ids: &[i64],
    never: bool,
) -> plan::VariantNeeds {
    let providers = Some(g.providers.as_slice()).filter(|p| !p.is_empty());
    let guards = providers
        .into_iter()
        .chain(g.conditions.iter().map(|(_, v)| v.as_slice()));
    // A variant that is never indexed has no channel and no EventID.
    let (ids, channels): (&[i64], &[String]) = if never {
        (&[], &[])
    } else {
        (ids, &g.route.channels)
    };
    plan::VariantNeeds::new(req, ids, guards, channels)
}

/// The plan needs of every compiled variant, in variant order.
fn real_needs(outcomes: &[Outcome]) -> Vec<plan::VariantNeeds> {
    let mut needs = Vec::new();
    for o in outcomes {
        if let Outcome::Loaded(c) = o {
            for v in &c.variants {
                needs.push(variant_needs(&c.req, &v.route, &v.ids, v.never));
            }
        }
    }
    needs
}

/// Interns a rule's local names in order; the engine id of each local id.
fn intern_all(fields: &mut Fields, local: &LocalFields) -> Vec<FieldId> {
    local.names().iter().map(|n| fields.intern(n)).collect()
}

impl Engine {
    /// Compiles every rule of a rule set (in parallel on the rayon pool;
    /// the result does not depend on the number of threads).
    pub fn build(set: &RuleSet, opts: EngineOptions) -> Engine {
        Engine::build_checked(set, opts, false).0
    }

    /// [`Engine::build`]; also tells whether the predicted EventIDs held.
    /// `distrust` rebuilds the plan from the compiled programs anyway (for
    /// tests of that path).
    fn build_checked(set: &RuleSet, opts: EngineOptions, distrust: bool) -> (Engine, bool) {
        let router: &dyn Router = match &opts.router {
            Some(r) => r.as_ref(),
            None => &SharedRouter,
        };
        let mut stages: Vec<Stage> = set
            .documents
            .par_iter()
            .map(|doc| prepare(doc, set, &opts, router))
            .collect();
        let mut needs = Vec::new();
        for s in &mut stages {
            if let Stage::Rule(p) = s {
                needs.append(&mut p.needs);
            }
        }
        // The plan's automaton, the largest single piece of work, is built
        // while the rules compile, from the predicted EventIDs.
        let (plan, (mut e, fallback)) = rayon::join(
            || plan::Plan::build(needs),
            || {
                let done: Vec<(Outcome, bool)> = stages
                    .into_par_iter()
                    .map(|s| match s {
                        Stage::Done(o) => (o, true),
                        Stage::Rule(p) => compile_rule(*p),
                    })
                    .collect();
                let held = done.iter().all(|(_, held)| *held);
                let outcomes: Vec<Outcome> = done.into_iter().map(|(o, _)| o).collect();
                // A wrong prediction: the plan is built again from the
                // compiled programs' ids.
                let fallback = (!held || distrust).then(|| real_needs(&outcomes));
                (Engine::assemble(set, outcomes), (held, fallback))
            },
        );
        let (held, fallback) = fallback;
        let mut plan = match fallback {
            None => plan,
            Some(needs) => plan::Plan::build(needs),
        };
        let (groups, sparse) = rayon::join(
            || super::groups::Groups::build(&e, &plan),
            || super::sparse::SparsePlan::build(&e),
        );
        plan.groups = Some(groups);
        plan.sparse = Some(sparse);
        e.plan = Some(plan);
        (e, held)
    }

    /// The engine of compiled rules, in rule order (without its plan).
    fn assemble(set: &RuleSet, outcomes: Vec<Outcome>) -> Engine {
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
        let mut shared = crate::lazy::Shared::default();
        for outcome in outcomes {
            match outcome {
                Outcome::Ignored => {}
                Outcome::Skipped(r, why) => e.report.skipped.push((r, why)),
                Outcome::Unrouted(r, why) => e.report.unrouted.push((r, why)),
                Outcome::Unsupported(r, why, local) => {
                    intern_all(&mut e.fields, &local);
                    e.report.unsupported.push((r, why));
                }
                Outcome::Loaded(c) => e.add_rule(*c, &mut shared),
            }
        }
        e
    }

    /// Adds a compiled rule: its fields, its variants, their index.
    fn add_rule(&mut self, c: Compiled, shared: &mut crate::lazy::Shared) {
        let Compiled {
            info,
            fields: local,
            variants,
            ..
        } = c;
        let map = intern_all(&mut self.fields, &local);
        let rule_idx = self.rules.len() as u32;
        self.rules.push(info);
        self.report.loaded += 1;
        for v in variants {
            let LocalVariant {
                route:
                    GuardedRoute {
                        route,
                        providers,
                        conditions,
                        ..
                    },
                mut program,
                ids,
                never,
            } = v;
            program.remap(&map);
            program.share_matchers(shared);
            let vi = self.variants.len() as u32;
            let mut guards = Vec::new();
            if !providers.is_empty() {
                guards.push((self.fields.intern("Provider_Name"), providers));
            }
            for (f, vals) in conditions {
                guards.push((self.fields.intern(&f), vals));
            }
            self.variants.push(Variant {
                rule: rule_idx,
                guards,
                program,
            });
            if never {
                continue;
            }
            if route.channels.is_empty() {
                self.any_channel.add(&ids, vi);
            }
            for ch in route.channels {
                match self
                    .channels
                    .iter_mut()
                    .find(|(c, _)| c.eq_ignore_ascii_case(&ch))
                {
                    Some((_, by)) => by.add(&ids, vi),
                    None => {
                        let mut by = ById::default();
                        by.add(&ids, vi);
                        self.channels.push((ch, by));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "build_tests.rs"]
mod tests;
