//! Rule compilation: from the `sigma-core` syntax tree to the evaluation
//! tree of [`crate::eval`].
//!
//! Each rule is compiled once per route (see [`crate::routing`]), with the
//! route's field renames applied and every field name interned. All string
//! values of one item are merged into one [`StrSet`]; the children of an AND
//! are ordered cheapest first so that a failing exact comparison spares a
//! regex.

use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use serde::Serialize;
use sigma_core::{
    CompareOp, ConditionExpr, Detection, DetectionEntry, DetectionItem, Detections, Linking,
    Quantifier, SigmaRule, TimePart, Value,
};

use crate::layout::{FieldId, Fields};
use crate::strmatch::{StrSet, StrSetBuilder};

/// A scalar test on one value.
#[derive(Debug)]
pub enum Scalar {
    /// The field is absent or JSON null.
    Null,
    /// The field is present (true) or absent (false).
    Exists(bool),
    /// Numeric equality with a number or a numeric string.
    Number(f64),
    /// A boolean or the case-insensitive string `true`/`false`.
    Bool(bool),
    /// An IP address inside the network.
    Cidr(IpNet),
    /// A numeric comparison, optionally on a timestamp part.
    Compare(CompareOp, f64, Option<TimePart>),
    /// Equality on a timestamp part.
    TimePart(TimePart, f64),
    /// Comparison with another field.
    FieldRef {
        /// The other field.
        field: FieldId,
        /// Prefix comparison.
        starts_with: bool,
        /// Suffix comparison.
        ends_with: bool,
    },
}

/// OR-linked tests of one value or one OR-linked item.
#[derive(Debug)]
pub struct Matcher {
    /// Merged string and regex patterns.
    pub strs: Option<StrSet>,
    /// Other tests.
    pub scalars: Vec<Scalar>,
}

/// The tests of an item: OR-linked (one merged matcher) or AND-linked.
#[derive(Debug)]
pub enum Test {
    /// Any value may match.
    Any(Box<Matcher>),
    /// Every value must match.
    All(Vec<Matcher>),
}

/// A node of the evaluation tree.
#[derive(Debug)]
pub enum Node {
    /// All children match.
    And(Vec<Node>),
    /// Any child matches.
    Or(Vec<Node>),
    /// A field item.
    Field {
        /// The (mapped, interned) field.
        field: FieldId,
        /// `neq`: the result is inverted.
        negated: bool,
        /// The values.
        test: Test,
    },
    /// A keyword item: searched over every value of the event.
    Keyword {
        /// `neq`: the result is inverted.
        negated: bool,
        /// The values.
        test: Test,
    },
}

/// A condition over the compiled searches.
#[derive(Debug)]
pub enum Cond {
    /// A search identifier, by index.
    Search(usize),
    /// Negation.
    Not(Box<Cond>),
    /// Conjunction.
    And(Vec<Cond>),
    /// Disjunction.
    Or(Vec<Cond>),
}

/// Identifies a rule in reports and hits.
#[derive(Debug, Clone, Serialize)]
pub struct RuleRef {
    /// The rule id (or empty).
    pub id: String,
    /// The title.
    pub title: String,
    /// The file it came from.
    pub file: Option<PathBuf>,
}

impl RuleRef {
    /// From a parsed rule.
    pub fn of(meta: &sigma_core::RuleMeta, origin: &sigma_core::Origin) -> RuleRef {
        RuleRef {
            id: meta.id.clone().unwrap_or_default(),
            title: meta.title.clone(),
            file: origin.file.clone(),
        }
    }
}

/// The compiled detection of one rule for one route.
#[derive(Debug)]
pub struct Program {
    /// Compiled search identifiers.
    pub searches: Vec<Node>,
    /// The condition (several conditions are OR-ed).
    pub condition: Cond,
    /// Every field the program reads, for reporting matched fields.
    pub fields: Vec<FieldId>,
}

struct Ctx<'f> {
    intern: &'f mut dyn FnMut(&str) -> FieldId,
    mapping: &'f [(String, String)],
    read: Vec<FieldId>,
}

impl Ctx<'_> {
    fn field(&mut self, name: &str) -> FieldId {
        let mapped = self
            .mapping
            .iter()
            .find(|(from, _)| from == name)
            .map_or(name, |(_, to)| to.as_str());
        let id = (self.intern)(mapped);
        if !self.read.contains(&id) {
            self.read.push(id);
        }
        id
    }
}

/// Compiles a rule (plus the meta filters that apply to it) for one route.
pub fn compile_program(
    rule: &SigmaRule,
    filters: &[&Detections],
    fields: &mut Fields,
    mapping: &[(String, String)],
) -> Result<Program, String> {
    compile_program_with(rule, filters, &mut |name| fields.intern(name), mapping)
}

/// [`compile_program`] with any field interner: the engine compiles rules
/// in parallel, each with rule-local field ids ([`LocalFields`]).
pub(crate) fn compile_program_with(
    rule: &SigmaRule,
    filters: &[&Detections],
    intern: &mut dyn FnMut(&str) -> FieldId,
    mapping: &[(String, String)],
) -> Result<Program, String> {
    let mut ctx = Ctx {
        intern,
        mapping,
        read: Vec::new(),
    };
    if let Some(c) = rule
        .detection
        .conditions
        .iter()
        .find_map(|c| c.legacy_aggregation.as_ref())
    {
        return Err(format!(
            "legacy aggregation '{c}' is not supported: use a correlation rule"
        ));
    }
    let mut searches = Vec::new();
    let condition = compile_detections(&rule.detection, &mut ctx, &mut searches)?;
    let mut all = vec![condition];
    for f in filters {
        if f.conditions.iter().any(|c| c.legacy_aggregation.is_some()) {
            return Err("a filter applying to the rule uses a legacy aggregation".into());
        }
        all.push(compile_detections(f, &mut ctx, &mut searches)?);
    }
    let condition = if all.len() == 1 {
        all.pop().unwrap_or(Cond::Or(Vec::new()))
    } else {
        Cond::And(all)
    };
    Ok(Program {
        searches,
        condition,
        fields: ctx.read,
    })
}

/// Field names interned by one rule's compilation, in the order they were
/// first met: interning them into the engine's [`Fields`] in this order
/// gives the ids a sequential build would have given.
#[derive(Debug, Default)]
pub(crate) struct LocalFields {
    names: Vec<String>,
}

impl LocalFields {
    /// The rule-local id of a field (a rule reads a handful of fields: a
    /// linear search beats hashing).
    pub(crate) fn intern(&mut self, name: &str) -> FieldId {
        match self.names.iter().position(|n| n == name) {
            Some(i) => FieldId(i as u32),
            None => {
                self.names.push(name.to_string());
                FieldId((self.names.len() - 1) as u32)
            }
        }
    }

    /// The names, by local id.
    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }
}

impl Program {
    /// Replaces every field id `i` by `map[i]` (rule-local ids to engine
    /// ids); ids outside `map` are left alone (cannot happen for ids from
    /// the [`LocalFields`] the program was compiled with).
    pub(crate) fn remap(&mut self, map: &[FieldId]) {
        let m = |f: &mut FieldId| {
            if let Some(g) = map.get(f.0 as usize) {
                *f = *g;
            }
        };
        self.for_each_item(&mut |field, matchers| {
            field.into_iter().for_each(m);
            for s in matchers.iter_mut().flat_map(|x| &mut x.scalars) {
                if let Scalar::FieldRef { field, .. } = s {
                    m(field);
                }
            }
        });
        self.fields.iter_mut().for_each(m);
    }

    /// Makes every lazily compiled matcher (regex set, string automaton)
    /// share the equal one met before, in this or an earlier program of
    /// the same engine, so each is compiled once.
    pub(crate) fn share_matchers(&mut self, seen: &mut crate::lazy::Shared) {
        self.for_each_item(&mut |_, matchers| {
            for s in matchers.iter_mut().filter_map(|x| x.strs.as_mut()) {
                s.share(seen);
            }
        });
    }

    /// Calls `f` with every item of the program: its field (`None` for a
    /// keyword item) and its matchers.
    fn for_each_item(&mut self, f: &mut dyn FnMut(Option<&mut FieldId>, &mut [Matcher])) {
        fn node(n: &mut Node, f: &mut dyn FnMut(Option<&mut FieldId>, &mut [Matcher])) {
            match n {
                Node::And(c) | Node::Or(c) => c.iter_mut().for_each(|x| node(x, f)),
                Node::Field { field, test, .. } => f(Some(field), test.matchers_mut()),
                Node::Keyword { test, .. } => f(None, test.matchers_mut()),
            }
        }
        self.searches.iter_mut().for_each(|n| node(n, f));
    }
}

impl Test {
    /// Its matchers, one or several.
    fn matchers_mut(&mut self) -> &mut [Matcher] {
        match self {
            Test::Any(x) => std::slice::from_mut(x.as_mut()),
            Test::All(xs) => xs,
        }
    }
}

fn compile_detections(
    d: &Detections,
    ctx: &mut Ctx<'_>,
    searches: &mut Vec<Node>,
) -> Result<Cond, String> {
    let base = searches.len();
    for s in &d.searches {
        searches.push(
            compile_detection(&s.detection, ctx)
                .map_err(|e| format!("in search '{}': {e}", s.name))?,
        );
    }
    let index = |name: &str| {
        d.searches
            .iter()
            .position(|s| s.name == name)
            .map(|i| base + i)
            .ok_or_else(|| format!("unknown search identifier '{name}'"))
    };
    let mut conds = Vec::new();
    for c in &d.conditions {
        conds.push(compile_condition(&c.expr, &index)?);
    }
    Ok(if conds.len() == 1 {
        conds.pop().unwrap_or(Cond::Or(Vec::new()))
    } else {
        Cond::Or(conds)
    })
}

fn compile_condition(
    e: &ConditionExpr,
    index: &dyn Fn(&str) -> Result<usize, String>,
) -> Result<Cond, String> {
    Ok(match e {
        ConditionExpr::Identifier(n) => Cond::Search(index(n)?),
        ConditionExpr::Selector {
            quantifier,
            matched,
            ..
        } => {
            let list = matched
                .iter()
                .map(|m| index(m).map(Cond::Search))
                .collect::<Result<Vec<_>, _>>()?;
            match quantifier {
                Quantifier::Any => Cond::Or(list),
                Quantifier::All => Cond::And(list),
            }
        }
        ConditionExpr::Not(inner) => Cond::Not(Box::new(compile_condition(inner, index)?)),
        ConditionExpr::And(es) => Cond::And(
            es.iter()
                .map(|x| compile_condition(x, index))
                .collect::<Result<_, _>>()?,
        ),
        ConditionExpr::Or(es) => Cond::Or(
            es.iter()
                .map(|x| compile_condition(x, index))
                .collect::<Result<_, _>>()?,
        ),
    })
}

fn compile_detection(d: &Detection, ctx: &mut Ctx<'_>) -> Result<Node, String> {
    let mut children = Vec::with_capacity(d.entries.len());
    for e in &d.entries {
        children.push(match e {
            DetectionEntry::Item(item) => compile_item(item, ctx)?,
            DetectionEntry::Group(g) => compile_detection(g, ctx)?,
        });
    }
    Ok(match d.linking {
        Linking::And => {
            // Cheapest checks first: AND short-circuits on the first miss.
            children.sort_by_key(node_cost);
            if children.len() == 1 {
                children.pop().unwrap_or(Node::And(Vec::new()))
            } else {
                Node::And(children)
            }
        }
        Linking::Or => {
            if children.len() == 1 {
                children.pop().unwrap_or(Node::Or(Vec::new()))
            } else {
                Node::Or(children)
            }
        }
    })
}

fn matcher_cost(m: &Matcher) -> u32 {
    m.strs.as_ref().map_or(0, |s| s.cost()) + m.scalars.len() as u32
}

fn node_cost(n: &Node) -> u32 {
    match n {
        Node::And(c) | Node::Or(c) => c.iter().map(node_cost).sum::<u32>() + 1,
        Node::Field { test, .. } => match test {
            Test::Any(m) => matcher_cost(m),
            Test::All(ms) => ms.iter().map(matcher_cost).sum(),
        },
        // Keywords walk the whole event.
        Node::Keyword { .. } => 1000,
    }
}

fn compile_item(item: &DetectionItem, ctx: &mut Ctx<'_>) -> Result<Node, String> {
    let keyword = item.field.is_none();
    let test = match item.linking {
        Linking::Or => {
            let mut b = MatcherBuilder::default();
            for v in &item.values {
                b.add(&v.value, keyword, ctx)?;
            }
            Test::Any(Box::new(b.build()?))
        }
        Linking::And => {
            let mut list = Vec::with_capacity(item.values.len());
            for v in &item.values {
                let mut b = MatcherBuilder::default();
                b.add(&v.value, keyword, ctx)?;
                list.push(b.build()?);
            }
            list.sort_by_key(matcher_cost);
            Test::All(list)
        }
    };
    Ok(match &item.field {
        Some(name) => Node::Field {
            field: ctx.field(name),
            negated: item.negated,
            test,
        },
        None => Node::Keyword {
            negated: item.negated,
            test,
        },
    })
}

#[derive(Default)]
struct MatcherBuilder {
    strs: StrSetBuilder,
    scalars: Vec<Scalar>,
}

impl MatcherBuilder {
    fn add(&mut self, v: &Value, keyword: bool, ctx: &mut Ctx<'_>) -> Result<(), String> {
        match v {
            Value::String { value, cased } => {
                if let Some(name) = value.parts.iter().find_map(|p| match p {
                    sigma_core::StrPart::Placeholder(n) => Some(n),
                    _ => None,
                }) {
                    return Err(format!(
                        "unresolved placeholder '%{name}%' (expand): no pipeline provides its values"
                    ));
                }
                if keyword {
                    // Keywords are substrings of any value of the event.
                    let mut s = value.clone();
                    s.prepend_wildcard();
                    s.append_wildcard();
                    self.strs.add_string(&s, *cased);
                } else {
                    self.strs.add_string(value, *cased);
                }
            }
            Value::Number { value } => self.scalars.push(Scalar::Number(value.as_f64())),
            Value::Bool { value } => self.scalars.push(Scalar::Bool(*value)),
            Value::Null if keyword => return Err("a null keyword cannot be evaluated".into()),
            Value::Null => self.scalars.push(Scalar::Null),
            Value::Regex { pattern, flags } => self.strs.add_regex(pattern, *flags),
            Value::Cidr { network } => {
                let net = parse_net(network)?;
                self.scalars.push(Scalar::Cidr(net));
            }
            Value::Compare { op, value, part } => {
                self.scalars
                    .push(Scalar::Compare(*op, value.as_f64(), *part))
            }
            Value::TimestampPart { part, value } => {
                self.scalars.push(Scalar::TimePart(*part, value.as_f64()))
            }
            Value::FieldRef {
                field,
                starts_with,
                ends_with,
            } => {
                if keyword {
                    return Err("fieldref needs a field".into());
                }
                let id = ctx.field(field);
                self.scalars.push(Scalar::FieldRef {
                    field: id,
                    starts_with: *starts_with,
                    ends_with: *ends_with,
                });
            }
            Value::Exists { value } => self.scalars.push(Scalar::Exists(*value)),
            Value::Expansion { values } => {
                for x in values {
                    self.add(x, keyword, ctx)?;
                }
            }
        }
        Ok(())
    }

    fn build(self) -> Result<Matcher, String> {
        Ok(Matcher {
            strs: if self.strs.is_empty() {
                None
            } else {
                Some(self.strs.build()?)
            },
            scalars: self.scalars,
        })
    }
}

fn parse_net(text: &str) -> Result<IpNet, String> {
    if let Ok(n) = text.parse::<IpNet>() {
        return Ok(n);
    }
    // A bare address is a host network.
    text.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|e| format!("invalid CIDR network '{text}': {e}"))
}

/// The field names a rule's detection reads (before any mapping).
pub fn rule_fields(rule: &SigmaRule) -> Vec<String> {
    fn walk(d: &Detection, out: &mut Vec<String>) {
        for e in &d.entries {
            match e {
                DetectionEntry::Item(i) => {
                    if let Some(f) = &i.field {
                        if !out.contains(f) {
                            out.push(f.clone());
                        }
                    }
                }
                DetectionEntry::Group(g) => walk(g, out),
            }
        }
    }
    let mut out = Vec::new();
    for s in &rule.detection.searches {
        walk(&s.detection, &mut out);
    }
    out
}
