//! The shared converter: builds pySigma's post-processed condition tree
//! from a rule and walks it with a target's [`Syntax`] table and hooks.
//!
//! Every decision pySigma's `TextQueryBackend` makes is reproduced here once:
//! operator precedence and grouping, in-list detection, the dispatch on the
//! value type, deferred query parts (appended after the main expression)
//! and the finalisation of deferred parts.

use sigma_core::{
    ConditionExpr, Detection, DetectionEntry, DetectionItem, Detections, Linking, Quantifier,
    SigmaString, Value,
};

use crate::syntax::{self, fill, Op, Syntax};
use crate::ConvertError;

/// A node of the condition tree, after identifiers were replaced by their
/// detections (pySigma's `ConditionItem` tree after `postprocess`).
#[derive(Debug, Clone)]
pub enum Node<'a> {
    /// Conjunction.
    And(Vec<Node<'a>>),
    /// Disjunction.
    Or(Vec<Node<'a>>),
    /// Negation.
    Not(Box<Node<'a>>),
    /// `field = value`.
    Field(&'a str, &'a Value),
    /// A keyword (value without field).
    Keyword(&'a Value),
    /// A one-operand AND/OR: rendered as its operand, but still counted as
    /// an ancestor of it (pySigma's parent chain).
    Flat(Op, Box<Node<'a>>),
}

impl<'a> Node<'a> {
    /// The node itself, or the operand of a [`Node::Flat`].
    pub fn inner(&self) -> &Node<'a> {
        match self {
            Node::Flat(_, n) => n.inner(),
            n => n,
        }
    }

    /// The operator class used by precedence decisions (pySigma treats a
    /// field with an expansion value as an OR).
    fn class(&self) -> Option<Op> {
        match self.inner() {
            Node::And(_) => Some(Op::And),
            Node::Or(_) => Some(Op::Or),
            Node::Not(_) => Some(Op::Not),
            Node::Field(_, Value::Expansion { .. }) | Node::Keyword(Value::Expansion { .. }) => {
                Some(Op::Or)
            }
            _ => None,
        }
    }

    fn is_leaf(&self) -> bool {
        matches!(self.inner(), Node::Field(..) | Node::Keyword(_))
    }
}

/// Builds the tree of one condition.
pub fn build<'a>(expr: &'a ConditionExpr, det: &'a Detections) -> Result<Node<'a>, ConvertError> {
    Ok(match expr {
        ConditionExpr::Identifier(name) => detection_node(&lookup(det, name)?.detection),
        ConditionExpr::Selector {
            quantifier,
            matched,
            ..
        } => {
            let mut args = matched
                .iter()
                .map(|m| lookup(det, m).map(|s| detection_node(&s.detection)))
                .collect::<Result<Vec<_>, _>>()?;
            let op = match quantifier {
                Quantifier::Any => Op::Or,
                Quantifier::All => Op::And,
            };
            if args.len() == 1 {
                // pySigma renders a selector matching one identifier as that
                // identifier, but the OR/AND stays in the parent chain.
                return Ok(Node::Flat(op, Box::new(args.remove(0))));
            }
            match quantifier {
                Quantifier::Any => Node::Or(args),
                Quantifier::All => Node::And(args),
            }
        }
        ConditionExpr::Not(e) => Node::Not(Box::new(build(e, det)?)),
        ConditionExpr::And(es) => {
            Node::And(es.iter().map(|e| build(e, det)).collect::<Result<_, _>>()?)
        }
        ConditionExpr::Or(es) => {
            Node::Or(es.iter().map(|e| build(e, det)).collect::<Result<_, _>>()?)
        }
    })
}

fn lookup<'a>(
    det: &'a Detections,
    name: &str,
) -> Result<&'a sigma_core::SearchIdentifier, ConvertError> {
    det.get(name)
        .ok_or_else(|| ConvertError::new(format!("Detection '{name}' not defined in detections")))
}

/// A detection: single entries are not wrapped (pySigma's postprocess).
pub fn detection_node(d: &Detection) -> Node<'_> {
    if d.entries.len() == 1 {
        return entry_node(&d.entries[0]);
    }
    let args = d.entries.iter().map(entry_node).collect();
    match d.linking {
        Linking::And => Node::And(args),
        Linking::Or => Node::Or(args),
    }
}

fn entry_node(e: &DetectionEntry) -> Node<'_> {
    match e {
        DetectionEntry::Item(i) => item_node(i),
        DetectionEntry::Group(d) => detection_node(d),
    }
}

fn leaf<'a>(i: &'a DetectionItem, v: &'a Value) -> Node<'a> {
    match &i.field {
        Some(f) => Node::Field(f.as_str(), v),
        None => Node::Keyword(v),
    }
}

fn item_node(i: &DetectionItem) -> Node<'_> {
    let node = if i.values.len() == 1 {
        leaf(i, &i.values[0].value)
    } else {
        let args = i.values.iter().map(|v| leaf(i, &v.value)).collect();
        match i.linking {
            Linking::And => Node::And(args),
            Linking::Or => Node::Or(args),
        }
    };
    if i.negated {
        Node::Not(Box::new(node))
    } else {
        node
    }
}

/// Where a node sits: below an OR, below a NOT.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ctx {
    /// An OR is among the ancestors.
    pub in_or: bool,
    /// A NOT is among the ancestors.
    pub in_not: bool,
}

/// A query part rendered after the main expression (Splunk `| regex`).
#[derive(Debug, Clone)]
pub struct Deferred {
    /// What kind of part (target-defined tag).
    pub kind: &'static str,
    /// The field.
    pub field: String,
    /// The rendered value.
    pub value: String,
    /// Negated by an enclosing NOT.
    pub negated: bool,
}

/// The result of converting a node.
#[derive(Debug, Clone)]
pub enum Out {
    /// Query text.
    Text(String),
    /// A deferred part (index into [`State::deferred`]).
    Deferred(usize),
    /// Nothing (an AND or OR whose operands were all deferred).
    Nothing,
}

/// Per-query conversion state.
#[derive(Debug, Default)]
pub struct State {
    /// Deferred parts in creation order.
    pub deferred: Vec<Deferred>,
    /// Target-defined counters (Splunk rex group numbering).
    pub counters: std::collections::BTreeMap<String, usize>,
}

/// Target-specific behaviour on top of the [`Syntax`] table. Every method
/// has the generic behaviour as default; targets override only where they
/// really differ from pySigma's `TextQueryBackend`.
pub trait Target: Sync {
    /// The token table.
    fn syntax(&self) -> &Syntax;

    /// `field = string`.
    fn field_eq_str(
        &self,
        w: &mut Walker<'_>,
        field: &str,
        s: &SigmaString,
        _ctx: Ctx,
    ) -> Result<Out, ConvertError> {
        w.generic_field_eq_str(field, s).map(Out::Text)
    }

    /// `field = string`, case-sensitive (`|cased`).
    fn field_eq_cased(
        &self,
        w: &mut Walker<'_>,
        field: &str,
        s: &SigmaString,
    ) -> Result<Out, ConvertError> {
        w.generic_field_eq_cased(field, s).map(Out::Text)
    }

    /// `field matches regex`.
    fn field_re(
        &self,
        w: &mut Walker<'_>,
        field: &str,
        pattern: &str,
        flags: sigma_core::RegexFlags,
        _ctx: Ctx,
    ) -> Result<Out, ConvertError> {
        w.generic_field_re(field, pattern, flags).map(Out::Text)
    }

    /// `field = other field`; refused with the syntax's message unless the
    /// target overrides it.
    fn field_ref(
        &self,
        _w: &mut Walker<'_>,
        _field: &str,
        _value: &Value,
        _ctx: Ctx,
    ) -> Result<Out, ConvertError> {
        Err(ConvertError::new(self.syntax().field_ref_error))
    }

    /// `field in cidr`.
    fn field_cidr(
        &self,
        w: &mut Walker<'_>,
        field: &str,
        network: &str,
        _ctx: Ctx,
    ) -> Result<Out, ConvertError> {
        w.generic_cidr(field, network).map(Out::Text)
    }

    /// A field with an expansion value (`windash`, `base64offset`).
    fn field_expansion(
        &self,
        w: &mut Walker<'_>,
        args: Vec<Node<'_>>,
        ctx: Ctx,
    ) -> Result<Out, ConvertError> {
        if self.syntax().expansion_as_in && w.decide_in(&args) {
            w.in_expression(&args)
        } else {
            w.convert_or(&args, ctx)
        }
    }

    /// Whether an OR may become an in-list (after the generic checks).
    fn in_list_ok(&self, _values: &[&Value]) -> bool {
        true
    }

    /// Renders a deferred part.
    fn finalize_deferred(&self, d: &Deferred) -> String {
        d.value.clone()
    }

    /// Turns the walker's result into the query text (deferred parts
    /// appended); `None` when there is nothing to query.
    fn finalize_query(&self, out: Out, state: &mut State) -> Option<String> {
        generic_finalize(self, out, state, "\n| ", "\n| ")
    }
}

/// pySigma's `TextQueryBackend.finalize_query` for deferred parts.
pub fn generic_finalize<T: Target + ?Sized>(
    t: &T,
    out: Out,
    state: &mut State,
    start: &str,
    sep: &str,
) -> Option<String> {
    let query = match out {
        Out::Text(s) => s,
        // An AND/OR of deferred parts only: pySigma returns no query at all
        // (the rule silently vanishes); sigil keeps it as a deferred-only
        // query (docs/differences.md).
        Out::Deferred(_) | Out::Nothing if !state.deferred.is_empty() => {
            t.syntax().deferred_only_query.to_string()
        }
        Out::Deferred(_) => t.syntax().deferred_only_query.to_string(),
        Out::Nothing => return None,
    };
    if state.deferred.is_empty() {
        return Some(query);
    }
    let parts: Vec<String> = state
        .deferred
        .iter()
        .map(|d| t.finalize_deferred(d))
        .collect();
    Some(format!("{query}{start}{}", parts.join(sep)))
}

/// The generic walker.
pub struct Walker<'t> {
    /// The target.
    pub target: &'t dyn Target,
    /// The per-query state.
    pub state: State,
}

impl<'t> Walker<'t> {
    /// A walker with fresh state.
    pub fn new(target: &'t dyn Target) -> Self {
        Walker {
            target,
            state: State::default(),
        }
    }

    fn syn(&self) -> &'t Syntax {
        self.target.syntax()
    }

    /// Converts any node.
    pub fn convert(&mut self, node: &Node<'_>, ctx: Ctx) -> Result<Out, ConvertError> {
        match node {
            Node::Or(args) => {
                if self.decide_in(args) {
                    self.in_expression(args)
                } else {
                    self.convert_or(args, ctx)
                }
            }
            Node::And(args) => self.convert_and(args, ctx),
            Node::Not(arg) => self.convert_not(arg, ctx),
            Node::Field(f, v) => self.field_eq_val(f, v, ctx),
            Node::Keyword(v) => self.keyword(v),
            Node::Flat(op, n) => {
                let mut ctx = ctx;
                if *op == Op::Or {
                    ctx.in_or = true;
                }
                self.convert(n, ctx)
            }
        }
    }

    fn compare_precedence(&self, outer: Op, inner: &Node<'_>) -> bool {
        let syn = self.syn();
        // With a positive not-null expression, `NOT null-test` is one
        // term and a bare null test (`NOT _exists_:f`) needs grouping.
        if syn.field_not_null_expression.is_some() {
            match inner.inner() {
                Node::Not(a) if null_field(a).is_some() => return true,
                n if null_field(n).is_some() => return false,
                _ => {}
            }
        }
        if syn.parenthesize && !inner.is_leaf() {
            return false;
        }
        let idx = |op: Op| syn.precedence.iter().position(|p| *p == op);
        let inner_idx = inner
            .class()
            .and_then(idx)
            .map(|i| i as isize)
            .unwrap_or(-1);
        let outer_idx = idx(outer).map(|i| i as isize).unwrap_or(-1);
        inner_idx <= outer_idx
    }

    /// Converts a node and wraps it in the group expression.
    pub fn group(&mut self, node: &Node<'_>, ctx: Ctx) -> Result<Out, ConvertError> {
        Ok(match self.convert(node, ctx)? {
            Out::Text(s) => Out::Text(format!("({s})")),
            other => other,
        })
    }

    fn join(&mut self, op: Op, args: &[Node<'_>], ctx: Ctx) -> Result<Out, ConvertError> {
        let syn = self.syn();
        let token = if op == Op::And {
            syn.and_token
        } else {
            syn.or_token
        };
        let joiner = if syn.token_separator == token {
            token.to_string()
        } else {
            format!("{sep}{token}{sep}", sep = syn.token_separator)
        };
        let mut child_ctx = ctx;
        if op == Op::Or {
            child_ctx.in_or = true;
        }
        let mut parts = Vec::with_capacity(args.len());
        for arg in args {
            let out = if self.compare_precedence(op, arg) {
                self.convert(arg, child_ctx)?
            } else {
                self.group(arg, child_ctx)?
            };
            if let Out::Text(s) = out {
                parts.push(s);
            }
        }
        Ok(if parts.is_empty() {
            Out::Nothing
        } else {
            Out::Text(parts.join(&joiner))
        })
    }

    /// Converts an OR without in-list detection.
    pub fn convert_or(&mut self, args: &[Node<'_>], ctx: Ctx) -> Result<Out, ConvertError> {
        self.join(Op::Or, args, ctx)
    }

    /// Converts an AND.
    pub fn convert_and(&mut self, args: &[Node<'_>], ctx: Ctx) -> Result<Out, ConvertError> {
        self.join(Op::And, args, ctx)
    }

    /// Converts a NOT.
    pub fn convert_not(&mut self, arg: &Node<'_>, ctx: Ctx) -> Result<Out, ConvertError> {
        let syn = self.syn();
        if let (Some(template), Some(field)) = (syn.field_not_null_expression, null_field(arg)) {
            return Ok(Out::Text(template.replace("{field}", field)));
        }
        let child = Ctx {
            in_not: true,
            ..ctx
        };
        let grouped = matches!(arg.inner(), Node::And(_) | Node::Or(_) | Node::Not(_));
        let out = if grouped {
            self.group(arg, child)?
        } else {
            self.convert(arg, child)?
        };
        Ok(match out {
            Out::Text(s) => Out::Text(format!("{}{}{}", syn.not_token, syn.token_separator, s)),
            Out::Deferred(i) => {
                if !grouped {
                    if let Some(d) = self.state.deferred.get_mut(i) {
                        d.negated = !d.negated;
                    }
                }
                Out::Deferred(i)
            }
            Out::Nothing => Out::Nothing,
        })
    }

    /// Whether an OR of these operands becomes an in-list.
    pub fn decide_in(&self, args: &[Node<'_>]) -> bool {
        let syn = self.syn();
        if !syn.convert_or_as_in || args.is_empty() {
            return false;
        }
        let mut field = None;
        let mut values = Vec::with_capacity(args.len());
        for a in args {
            let Node::Field(f, v) = a else { return false };
            if *field.get_or_insert(*f) != *f {
                return false;
            }
            match v {
                // pySigma puts `|cased` values into in-lists too, silently
                // losing the case sensitivity (or the refusal); sigil keeps
                // them out (docs/differences.md).
                Value::String { cased: true, .. } => return false,
                Value::String { value, .. } => {
                    if !syn.in_expressions_allow_wildcards && syntax::contains_special(value) {
                        return false;
                    }
                }
                Value::Number { .. } => {}
                _ => return false,
            }
            values.push(*v);
        }
        self.target.in_list_ok(&values)
    }

    /// Renders an in-list (`field IN (a, b)`).
    pub fn in_expression(&mut self, args: &[Node<'_>]) -> Result<Out, ConvertError> {
        let syn = self.syn();
        let mut field = "";
        let mut list = Vec::with_capacity(args.len());
        for a in args {
            if let Node::Field(f, v) = a {
                field = f;
                list.push(match v {
                    Value::String { value, .. } => syn.value_str(value)?,
                    Value::Number { value } => syntax::number(*value),
                    _ => String::new(),
                });
            }
        }
        Ok(Out::Text(fill(
            syn.field_in_list_expression,
            &[
                ("field", &syn.field(field)),
                ("op", syn.or_in_operator),
                ("list", &list.join(syn.list_separator)),
            ],
        )))
    }

    /// Dispatches `field = value` on the value type.
    pub fn field_eq_val(
        &mut self,
        field: &str,
        value: &Value,
        ctx: Ctx,
    ) -> Result<Out, ConvertError> {
        let syn = self.syn();
        let t = self.target;
        match value {
            Value::String { value, cased: true } => t.field_eq_cased(self, field, value),
            Value::String { value, .. } => t.field_eq_str(self, field, value, ctx),
            Value::Number { value } => Ok(Out::Text(format!(
                "{}{}{}",
                syn.field(field),
                syn.eq_token,
                syntax::number(*value)
            ))),
            Value::Bool { value } => Ok(Out::Text(format!(
                "{}{}{}",
                syn.field(field),
                syn.eq_token,
                value
            ))),
            Value::Null => Ok(Out::Text(fill(
                syn.field_null_expression,
                &[("field", &syn.field(field))],
            ))),
            Value::Regex { pattern, flags } => t.field_re(self, field, pattern, *flags, ctx),
            Value::Cidr { network } => t.field_cidr(self, field, network, ctx),
            Value::Compare {
                op,
                value,
                part: None,
            } => {
                let op = match op {
                    sigma_core::CompareOp::Gt => ">",
                    sigma_core::CompareOp::Gte => ">=",
                    sigma_core::CompareOp::Lt => "<",
                    sigma_core::CompareOp::Lte => "<=",
                };
                Ok(Out::Text(fill(
                    syn.compare_op_expression,
                    &[
                        ("field", &syn.field(field)),
                        ("operator", op),
                        ("value", &syntax::number(*value)),
                    ],
                )))
            }
            Value::Compare { part: Some(_), .. } | Value::TimestampPart { .. } => {
                Err(ConvertError::new(
                    "Field equals timestamp part value expressions are not supported by the backend.",
                ))
            }
            Value::FieldRef { .. } => t.field_ref(self, field, value, ctx),
            Value::Exists { value: true } => self.exists(field, true),
            Value::Exists { value: false } => self.exists(field, false),
            Value::Expansion { values } => {
                let args: Vec<Node<'_>> = values.iter().map(|v| Node::Field(field, v)).collect();
                t.field_expansion(self, args, ctx)
            }
        }
    }

    fn exists(&mut self, field: &str, present: bool) -> Result<Out, ConvertError> {
        let syn = self.syn();
        let Some(tpl) = syn.field_exists_expression else {
            return Err(ConvertError::new(
                "Field exists expressions are not supported by the backend.",
            ));
        };
        let f = syn.field(field);
        if present {
            return Ok(Out::Text(fill(tpl, &[("field", &f)])));
        }
        Ok(Out::Text(match syn.field_not_exists_expression {
            Some(neg) => fill(neg, &[("field", &f)]),
            None => format!(
                "{}{}{}",
                syn.not_token,
                syn.token_separator,
                fill(tpl, &[("field", &f)])
            ),
        }))
    }

    /// pySigma's `convert_condition_field_eq_val_str`.
    pub fn generic_field_eq_str(
        &mut self,
        field: &str,
        s: &SigmaString,
    ) -> Result<String, ConvertError> {
        let syn = self.syn();
        self.str_with(
            field,
            s,
            syn.startswith_expression,
            syn.endswith_expression,
            syn.contains_expression,
            syn.wildcard_match_expression,
            Some("{field}{eq}{value}"),
        )
    }

    /// pySigma's case-sensitive string comparison.
    pub fn generic_field_eq_cased(
        &mut self,
        field: &str,
        s: &SigmaString,
    ) -> Result<String, ConvertError> {
        let syn = self.syn();
        if syn.case_sensitive_match_expression.is_none() {
            return Err(ConvertError::new(
                "Case-sensitive string matching is not supported by backend.",
            ));
        }
        self.str_with(
            field,
            s,
            None,
            None,
            None,
            None,
            syn.case_sensitive_match_expression,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn str_with(
        &mut self,
        field: &str,
        s: &SigmaString,
        starts: Option<&str>,
        ends: Option<&str>,
        contains: Option<&str>,
        wildcard: Option<&str>,
        eq: Option<&str>,
    ) -> Result<String, ConvertError> {
        let syn = self.syn();
        let (tpl, value) = if let Some(t) = starts
            .filter(|_| s.ends_with_wildcard() && !syntax::contains_special(&syntax::drop_last(s)))
        {
            (t, syntax::drop_last(s))
        } else if let Some(t) = ends.filter(|_| {
            s.starts_with_wildcard() && !syntax::contains_special(&syntax::drop_first(s))
        }) {
            (t, syntax::drop_first(s))
        } else if let Some(t) = contains.filter(|_| {
            s.starts_with_wildcard()
                && s.ends_with_wildcard()
                && s.parts.len() >= 2
                && !syntax::contains_special(&syntax::drop_first(&syntax::drop_last(s)))
        }) {
            (t, syntax::drop_first(&syntax::drop_last(s)))
        } else if let Some(t) = wildcard.filter(|_| syntax::contains_special(s)) {
            (t, s.clone())
        } else {
            (eq.unwrap_or("{field}{eq}{value}"), s.clone())
        };
        let v = syn.value_str(&value)?;
        Ok(fill(
            tpl,
            &[
                ("field", &syn.field(field)),
                ("eq", syn.eq_token),
                ("value", &v),
            ],
        ))
    }

    /// pySigma's generic regular-expression rendering.
    pub fn generic_field_re(
        &mut self,
        field: &str,
        pattern: &str,
        flags: sigma_core::RegexFlags,
    ) -> Result<String, ConvertError> {
        let syn = self.syn();
        let Some(tpl) = syn.re_expression else {
            return Err(ConvertError::new(
                "Regular expression template is not supported by the backend.",
            ));
        };
        Ok(fill(
            tpl,
            &[
                ("field", &syn.field(field)),
                ("regex", &syn.regex(pattern, flags)),
            ],
        ))
    }

    /// pySigma's generic CIDR rendering.
    pub fn generic_cidr(&mut self, field: &str, network: &str) -> Result<String, ConvertError> {
        let syn = self.syn();
        let Some(tpl) = syn.cidr_expression else {
            return Err(ConvertError::new(
                "CIDR expressions are not supported by the backend.",
            ));
        };
        let net = normalize_cidr(network);
        let (addr, prefix) = net.split_once('/').unwrap_or((net.as_str(), ""));
        Ok(fill(
            tpl,
            &[
                ("field", field),
                ("value", &net),
                ("network", addr),
                ("prefixlen", prefix),
            ],
        ))
    }

    fn keyword(&mut self, value: &Value) -> Result<Out, ConvertError> {
        let syn = self.syn();
        match value {
            Value::String { value, .. } => match syn.unbound_value_str_expression {
                Some(tpl) => Ok(Out::Text(fill(tpl, &[("value", &syn.keyword_str(value)?)]))),
                None => Err(ConvertError::new(
                    "String value expressions are not supported by the backend.",
                )),
            },
            Value::Number { value } => match syn.unbound_value_num_expression {
                Some(tpl) => Ok(Out::Text(fill(tpl, &[("value", &syntax::number(*value))]))),
                None => Err(ConvertError::new(
                    "Number value expressions are not supported by the backend.",
                )),
            },
            Value::Bool { .. } => Err(ConvertError::new(
                "Boolean values can't appear as standalone value without a field name.",
            )),
            Value::Cidr { .. } => Err(ConvertError::new(
                "CIDR values can't appear as standalone value without a field name.",
            )),
            other => Err(ConvertError::new(format!(
                "A {} value can't appear as a keyword without a field name.",
                other.type_name()
            ))),
        }
    }
}

/// Normalises a CIDR network as Python's `ip_network(strict=False)` prints
/// it (host bits cleared, default prefix length added).
pub fn normalize_cidr(network: &str) -> String {
    let parsed: Option<ipnet::IpNet> = network.parse().ok().or_else(|| {
        network
            .parse::<std::net::IpAddr>()
            .ok()
            .map(ipnet::IpNet::from)
    });
    match parsed {
        Some(n) => n.trunc().to_string(),
        None => network.to_string(),
    }
}

/// The field of a `field = null` leaf.
fn null_field<'a>(n: &Node<'a>) -> Option<&'a str> {
    match n.inner() {
        Node::Field(f, Value::Null) => Some(f),
        _ => None,
    }
}
