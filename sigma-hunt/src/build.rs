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
use crate::routing::{GuardedRoute, Router, SharedRouter};

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

/// A compiled rule with rule-local field ids.
struct Compiled {
    info: RuleInfo,
    fields: LocalFields,
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
    /// For the prefilter plan.
    needs: plan::VariantNeeds,
}

/// Compiles one document; reads nothing but the document and the set.
fn compile_doc(
    doc: &Document,
    set: &RuleSet,
    opts: &EngineOptions,
    router: &dyn Router,
) -> Outcome {
    let rule = match doc {
        Document::Rule(r) => r,
        // Correlations run over the hits of the rules they reference
        // (`incident::correlate`), not over events.
        Document::Correlation(_) => return Outcome::Ignored,
        // Filters are applied to the rules they target.
        Document::Filter(_) => return Outcome::Ignored,
    };
    let rref = RuleRef::of(&rule.meta, &rule.origin);
    if let Some(min) = opts.min_level {
        if rule.meta.level.is_none_or(|l| l < min) {
            return Outcome::Skipped(rref, format!("level below --min-level {min}"));
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
                let msg = format!("pipeline '{}': {}", p.name, err.message);
                return Outcome::Unsupported(rref, msg, LocalFields::default());
            }
        },
    };
    let routes = match router.guarded_routes(&rule.logsource) {
        Ok(r) => r,
        Err(reason) => return Outcome::Unrouted(rref, reason),
    };
    let filters: Vec<_> = set.filters_for(original).map(|f| &f.detection).collect();
    let mut fields = LocalFields::default();
    let mut programs = Vec::new();
    let used = rule_fields(rule);
    for g in routes {
        if g.unsupported_fields
            .iter()
            .any(|f| used.iter().any(|u| u == f))
        {
            // These events lack a field the rule reads.
            continue;
        }
        let mut intern = |name: &str| fields.intern(name);
        match compile_program_with(rule, &filters, &mut intern, &g.route.mapping) {
            Ok(p) => programs.push((g, p)),
            Err(msg) => return Outcome::Unsupported(rref, msg, fields),
        }
    }
    if programs.is_empty() {
        let why = "every route lacks a field the rule reads".to_string();
        return Outcome::Unrouted(rref, why);
    }
    // What the rule's detection needs to see in a raw line (after the
    // pipeline), for the prefilter plan.
    let req = plan::rule_requirement(rule);
    let event_id = fields
        .names()
        .iter()
        .position(|n| n == "EventID")
        // Not read by the rule: no node can test it.
        .map_or(FieldId(u32::MAX), |i| FieldId(i as u32));
    let variants = programs
        .into_iter()
        .map(|(route, program)| local_variant(route, program, event_id, &req))
        .collect();
    Outcome::Loaded(Box::new(Compiled {
        info: RuleInfo {
            rule: rref,
            level: rule
                .meta
                .level
                .map(|l| l.name().to_string())
                .unwrap_or_default(),
            tags: rule.meta.tags.iter().map(tag_text).collect(),
        },
        fields,
        variants,
    }))
}

/// Indexes a variant (the EventIDs it needs) and derives its plan needs.
fn local_variant(
    route: GuardedRoute,
    program: Program,
    event_id: FieldId,
    req: &plan::Req,
) -> LocalVariant {
    let r = &route.route;
    // EventIDs the detection itself requires narrow the route
    // (`service: security` rules almost always test EventID).
    let ids: Vec<i64> = match required_ids(&program, event_id) {
        Some(req) if r.event_ids.is_empty() => req,
        Some(req) => r
            .event_ids
            .iter()
            .copied()
            .filter(|i| req.contains(i))
            .collect(),
        None => r.event_ids.clone(),
    };
    // An empty list here means the route and the detection exclude each
    // other: the variant can never match.
    let never = ids.is_empty() && !r.event_ids.is_empty();
    let providers = Some(route.providers.as_slice()).filter(|p| !p.is_empty());
    let guards = providers
        .into_iter()
        .chain(route.conditions.iter().map(|(_, v)| v.as_slice()));
    // A variant that is never indexed has no channel and no EventID.
    let (plan_ids, plan_channels): (&[i64], &[String]) = if never {
        (&[], &[])
    } else {
        (&ids, &r.channels)
    };
    let needs = plan::VariantNeeds::new(req, plan_ids, guards, plan_channels);
    LocalVariant {
        route,
        program,
        ids,
        never,
        needs,
    }
}

/// Interns a rule's local names in order; the engine id of each local id.
fn intern_all(fields: &mut Fields, local: &LocalFields) -> Vec<FieldId> {
    local.names().iter().map(|n| fields.intern(n)).collect()
}

impl Engine {
    /// Compiles every rule of a rule set (in parallel on the rayon pool;
    /// the result does not depend on the number of threads).
    pub fn build(set: &RuleSet, opts: EngineOptions) -> Engine {
        let router: &dyn Router = match &opts.router {
            Some(r) => r.as_ref(),
            None => &SharedRouter,
        };
        let mut outcomes: Vec<Outcome> = set
            .documents
            .par_iter()
            .map(|doc| compile_doc(doc, set, &opts, router))
            .collect();
        // The plan's automaton (the largest single piece of work) is built
        // while the rules are assembled.
        let mut needs = Vec::new();
        for o in &mut outcomes {
            if let Outcome::Loaded(c) = o {
                needs.extend(c.variants.iter_mut().map(|v| std::mem::take(&mut v.needs)));
            }
        }
        let (plan, mut e) = rayon::join(
            || plan::Plan::build(needs),
            || Engine::assemble(set, outcomes),
        );
        let mut plan = plan;
        plan.groups = Some(super::groups::Groups::build(&e, &plan));
        plan.sparse = Some(super::sparse::SparsePlan::build(&e));
        e.plan = Some(plan);
        e
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
        for outcome in outcomes {
            match outcome {
                Outcome::Ignored => {}
                Outcome::Skipped(r, why) => e.report.skipped.push((r, why)),
                Outcome::Unrouted(r, why) => e.report.unrouted.push((r, why)),
                Outcome::Unsupported(r, why, local) => {
                    intern_all(&mut e.fields, &local);
                    e.report.unsupported.push((r, why));
                }
                Outcome::Loaded(c) => e.add_rule(*c),
            }
        }
        e
    }

    /// Adds a compiled rule: its fields, its variants, their index.
    fn add_rule(&mut self, c: Compiled) {
        let Compiled {
            info,
            fields: local,
            variants,
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
                ..
            } = v;
            program.remap(&map);
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
