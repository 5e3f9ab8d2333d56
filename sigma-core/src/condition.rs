//! The condition grammar, parsed with `nom`.
//!
//! ```text
//! condition := or_expr
//! or_expr   := and_expr ( "or" and_expr )*
//! and_expr  := not_expr ( "and" not_expr )*
//! not_expr  := "not" not_expr | atom
//! atom      := "(" or_expr ")" | selector | IDENT
//! selector  := ( "1" | "any" | "all" ) "of" ( PATTERN | "them" )
//! ```
//!
//! Keywords are lowercase whole words, so `notepad` is an identifier (pySigma
//! reads it as `not epad`). Chains of the same operator become one n-ary
//! node, as pyparsing's `infix_notation` builds them; parentheses keep their
//! own node. Selectors are resolved against the rule's identifiers at parse
//! time, and a selector that matches nothing is an error (pySigma silently
//! drops it). Nesting is limited to [`MAX_DEPTH`] so hostile input cannot
//! overflow the stack.
//!
//! Sigma v1 aggregations (`selection | count() by x > 5`) are not part of
//! Sigma v2; they are kept as [`Condition::legacy_aggregation`] so that old
//! rules load and every consumer can refuse them with a clear message.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while1};
use nom::character::complete::multispace0;
use nom::combinator::{all_consuming, map, verify};
use nom::sequence::{delimited, preceded};
use nom::{IResult, Parser};
use serde::Serialize;

use crate::error::{ErrorKind, SigmaError};
use crate::yaml::Location;

/// How deeply parentheses and `not` may nest.
pub const MAX_DEPTH: usize = 100;

/// `1 of` / `any of` versus `all of`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantifier {
    /// `1 of` or `any of`: OR over the matched identifiers.
    Any,
    /// `all of`: AND over the matched identifiers.
    All,
}

/// A parsed condition expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", content = "args", rename_all = "snake_case")]
pub enum ConditionExpr {
    /// A search identifier.
    Identifier(String),
    /// `1 of pattern`, `all of them`, …
    Selector {
        /// Any or all.
        quantifier: Quantifier,
        /// The pattern as written (`them` for `them`).
        pattern: String,
        /// The identifiers it matched, in detection order.
        matched: Vec<String>,
    },
    /// Negation.
    Not(Box<ConditionExpr>),
    /// Conjunction (n-ary).
    And(Vec<ConditionExpr>),
    /// Disjunction (n-ary).
    Or(Vec<ConditionExpr>),
}

impl ConditionExpr {
    /// Calls `f` on every identifier the expression refers to (selectors
    /// contribute their matches).
    pub fn for_each_identifier<'a>(&'a self, f: &mut impl FnMut(&'a str)) {
        match self {
            ConditionExpr::Identifier(n) => f(n),
            ConditionExpr::Selector { matched, .. } => matched.iter().for_each(|m| f(m)),
            ConditionExpr::Not(e) => e.for_each_identifier(f),
            ConditionExpr::And(es) | ConditionExpr::Or(es) => {
                es.iter().for_each(|e| e.for_each_identifier(f))
            }
        }
    }
}

/// One condition of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Condition {
    /// The condition text as written.
    pub text: String,
    /// Where it was written.
    pub location: Location,
    /// The parsed expression.
    pub expr: ConditionExpr,
    /// A Sigma v1 aggregation (`| count() …` or `near …`) as written;
    /// unsupported by every backend, kept so the rule still loads.
    pub legacy_aggregation: Option<String>,
}

/// Parser-level syntax tree, before selectors are resolved.
#[derive(Debug, Clone)]
enum Raw {
    Ident(String, usize),
    Selector(Quantifier, String, usize),
    Not(Box<Raw>),
    And(Vec<Raw>),
    Or(Vec<Raw>),
}

type Res<'a, T> = IResult<&'a str, T>;

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'
}

fn is_pattern_char(c: char) -> bool {
    is_ident_char(c) || c == '*'
}

/// A lowercase keyword as a whole word.
fn keyword<'a>(
    kw: &'static str,
) -> impl Parser<&'a str, Output = &'a str, Error = nom::error::Error<&'a str>> {
    move |input: &'a str| {
        let (rest, word) = preceded(multispace0, take_while1(is_pattern_char)).parse(input)?;
        if word == kw {
            Ok((rest, word))
        } else {
            Err(nom::Err::Error(nom::error::Error::new(
                input,
                nom::error::ErrorKind::Tag,
            )))
        }
    }
}

const KEYWORDS: &[&str] = &["and", "or", "not", "of", "them", "all", "any", "1"];

struct P<'s> {
    full: &'s str,
}

impl<'s> P<'s> {
    fn offset(&self, rest: &str) -> usize {
        self.full.len() - rest.len()
    }

    /// `operand ( kw operand )*`, as one n-ary node when there are several.
    fn chain<'a>(
        &self,
        input: &'a str,
        depth: usize,
        kw: &'static str,
        operand: fn(&Self, &'a str, usize) -> Res<'a, Raw>,
        node: fn(Vec<Raw>) -> Raw,
    ) -> Res<'a, Raw> {
        let (mut rest, first) = operand(self, input, depth)?;
        // Most operands stand alone: the list is only built for a second one
        // (`Raw::And` of nothing is an unallocated stand-in while it moves).
        let mut expr = first;
        let mut items: Vec<Raw> = Vec::new();
        while let Ok((r, _)) = keyword(kw).parse(rest) {
            let (r, next) = operand(self, r, depth)?;
            if items.is_empty() {
                items.push(std::mem::replace(&mut expr, Raw::And(Vec::new())));
            }
            items.push(next);
            rest = r;
        }
        if !items.is_empty() {
            expr = node(items);
        }
        Ok((rest, expr))
    }

    fn or_expr<'a>(&self, input: &'a str, depth: usize) -> Res<'a, Raw> {
        self.chain(input, depth, "or", Self::and_expr, Raw::Or)
    }

    fn and_expr<'a>(&self, input: &'a str, depth: usize) -> Res<'a, Raw> {
        self.chain(input, depth, "and", Self::not_expr, Raw::And)
    }

    fn not_expr<'a>(&self, input: &'a str, depth: usize) -> Res<'a, Raw> {
        if depth > MAX_DEPTH {
            return Err(nom::Err::Failure(nom::error::Error::new(
                input,
                nom::error::ErrorKind::TooLarge,
            )));
        }
        if let Ok((r, _)) = keyword("not").parse(input) {
            let (r, inner) = self.not_expr(r, depth + 1)?;
            return Ok((r, Raw::Not(Box::new(inner))));
        }
        self.atom(input, depth)
    }

    fn atom<'a>(&self, input: &'a str, depth: usize) -> Res<'a, Raw> {
        if let Ok((r, _)) =
            preceded(multispace0::<&str, nom::error::Error<&str>>, tag("(")).parse(input)
        {
            let (r, inner) = self.or_expr(r, depth + 1)?;
            let (r, _) = preceded(multispace0, tag(")")).parse(r)?;
            return Ok((r, inner));
        }
        if let Ok(res) = self.selector(input) {
            return Ok(res);
        }
        let (r, _) = multispace0(input)?;
        let start = self.offset(r);
        map(
            verify(take_while1(is_ident_char), |w: &str| !KEYWORDS.contains(&w)),
            move |w: &str| Raw::Ident(w.to_string(), start),
        )
        .parse(r)
    }

    fn selector<'a>(&self, input: &'a str) -> Res<'a, Raw> {
        let (r, _) = multispace0(input)?;
        let start = self.offset(r);
        let (r, q) = alt((
            map(keyword("1"), |_| Quantifier::Any),
            map(keyword("any"), |_| Quantifier::Any),
            map(keyword("all"), |_| Quantifier::All),
        ))
        .parse(r)?;
        let (r, _) = keyword("of").parse(r)?;
        let (r, pat) = preceded(multispace0, take_while1(is_pattern_char)).parse(r)?;
        Ok((r, Raw::Selector(q, pat.to_string(), start)))
    }
}

fn glob_match(pattern: &str, name: &str) -> bool {
    // Iterative `*` matching (no recursion, linear in practice). Bytes give
    // the same answer as characters: the literal runs between stars are
    // valid UTF-8, so they can only match at character boundaries.
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        let pc = p.get(pi).copied();
        if pc.is_some() && pc != Some(b'*') && pc == n.get(ni).copied() {
            pi += 1;
            ni += 1;
        } else if pc == Some(b'*') {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    while p.get(pi) == Some(&b'*') {
        pi += 1;
    }
    pi == p.len()
}

/// The identifiers a selector pattern matches, in the given order.
/// Identifiers starting with `_` only match patterns that start with `_`;
/// `them` matches every other identifier.
pub fn match_pattern(pattern: &str, identifiers: &[&str]) -> Vec<String> {
    identifiers
        .iter()
        .filter(|id| {
            if pattern == "them" {
                !id.starts_with('_')
            } else {
                (!id.starts_with('_') || pattern.starts_with('_')) && glob_match(pattern, id)
            }
        })
        .map(|s| s.to_string())
        .collect()
}

impl Condition {
    /// Parses a condition and resolves it against the rule's identifiers.
    pub fn parse(
        text: &str,
        location: Location,
        identifiers: &[&str],
    ) -> Result<Condition, SigmaError> {
        let at = |offset: usize| Location::new(location.line, location.column + offset as u32);
        let (expr_text, legacy) = match text.find('|') {
            Some(i) => (&text[..i], Some(text[i + 1..].trim().to_string())),
            None => (text, None),
        };
        if let Some((off, n)) = numbered_selector(expr_text) {
            return Err(SigmaError::new(
                ErrorKind::Condition,
                at(off),
                format!("'{n} of' is not supported: use '1 of', 'any of' or 'all of'"),
            ));
        }
        let p = P { full: text };
        let parsed = all_consuming(delimited(multispace0, |i| p.or_expr(i, 0), multispace0))
            .parse(expr_text);
        let raw = match parsed {
            Ok((_, raw)) => raw,
            Err(nom::Err::Failure(e)) if e.code == nom::error::ErrorKind::TooLarge => {
                return Err(SigmaError::new(
                    ErrorKind::Condition,
                    at(p.offset(e.input)),
                    format!("condition is nested more than {MAX_DEPTH} levels deep"),
                ))
            }
            Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
                let off = p.offset(e.input);
                let rest = e.input.trim_start();
                let near: String = rest.chars().take(20).collect();
                let msg = if rest.is_empty() {
                    "condition ends unexpectedly (missing identifier or ')')".to_string()
                } else if rest.split_whitespace().next().is_some_and(|w| {
                    KEYWORDS.contains(&w.to_lowercase().as_str()) && !KEYWORDS.contains(&w)
                }) {
                    format!(
                        "condition keywords must be lowercase, found '{}'",
                        rest.split_whitespace().next().unwrap_or("")
                    )
                } else {
                    format!("invalid condition syntax near '{near}'")
                };
                let skip = e.input.len() - rest.len();
                return Err(SigmaError::new(ErrorKind::Condition, at(off + skip), msg));
            }
            Err(nom::Err::Incomplete(_)) => {
                return Err(SigmaError::new(
                    ErrorKind::Condition,
                    location,
                    "incomplete condition",
                ))
            }
        };
        if let Some(agg) = &legacy {
            if agg.is_empty() {
                return Err(SigmaError::new(
                    ErrorKind::Condition,
                    at(expr_text.len()),
                    "empty aggregation after '|'",
                ));
            }
        }
        let expr = resolve(raw, identifiers, &at)?;
        Ok(Condition {
            text: text.to_string(),
            location,
            expr,
            legacy_aggregation: legacy,
        })
    }
}

fn resolve(
    raw: Raw,
    ids: &[&str],
    at: &dyn Fn(usize) -> Location,
) -> Result<ConditionExpr, SigmaError> {
    Ok(match raw {
        Raw::Ident(name, off) => {
            if !ids.contains(&name.as_str()) {
                return Err(SigmaError::new(
                    ErrorKind::UndefinedIdentifier,
                    at(off),
                    format!("condition refers to '{name}', which is not defined in the detection"),
                ));
            }
            ConditionExpr::Identifier(name)
        }
        Raw::Selector(q, pattern, off) => {
            let matched = match_pattern(&pattern, ids);
            if matched.is_empty() {
                return Err(SigmaError::new(
                    ErrorKind::EmptySelector,
                    at(off),
                    format!("'{pattern}' matches no search identifier"),
                ));
            }
            ConditionExpr::Selector {
                quantifier: q,
                pattern,
                matched,
            }
        }
        Raw::Not(inner) => ConditionExpr::Not(Box::new(resolve(*inner, ids, at)?)),
        Raw::And(items) => ConditionExpr::And(
            items
                .into_iter()
                .map(|i| resolve(i, ids, at))
                .collect::<Result<_, _>>()?,
        ),
        Raw::Or(items) => ConditionExpr::Or(
            items
                .into_iter()
                .map(|i| resolve(i, ids, at))
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// Finds `N of` with N other than 1 (offset and N).
fn numbered_selector(text: &str) -> Option<(usize, String)> {
    // Pairs of consecutive words, without collecting them first.
    let mut words = text
        .split_whitespace()
        .map(|w| (w.as_ptr() as usize - text.as_ptr() as usize, w));
    let mut prev = words.next()?;
    for next in words {
        let (off, word) = prev;
        let w = word.trim_start_matches('(');
        let off = off + (word.len() - w.len());
        if next.1 == "of" && w != "1" && !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()) {
            return Some((off, w.to_string()));
        }
        prev = next;
    }
    None
}
