//! Splunk SPL (pySigma-backend-splunk's `SplunkBackend`).
//!
//! Differences from the generic walker: regular expressions and field
//! references are *deferred* to pipe commands after the search (`| regex`,
//! `| where`); a regular expression below an OR becomes a `| rex` capture
//! plus an `| eval` flag tested in a final `| search`.

use sigma_core::{RegexFlags, SigmaString, Value};

use crate::convert::{generic_finalize, Ctx, Deferred, Out, State, Target, Walker};
use crate::syntax::{is_word_or_dot, Op, Syntax};
use crate::ConvertError;

/// The Splunk target.
pub struct Splunk;

const REX: &str = "rex";
const REGEX: &str = "regex";
const WHERE: &str = "where";

/// Splunk's token table.
pub static SYNTAX: Syntax = Syntax {
    precedence: [Op::Not, Op::Or, Op::And],
    parenthesize: false,
    token_separator: " ",
    and_token: " ",
    or_token: "OR",
    not_token: "NOT",
    eq_token: "=",
    field_quote: Some("\""),
    field_needs_quote: |f| !is_word_or_dot(f),
    field_escape: None,
    field_escaped: |_| false,
    str_quote: "\"",
    quote_value: |_| true,
    quote_keyword: |_| true,
    escape_char: "\\",
    wildcard_multi: "*",
    wildcard_single: "*",
    add_escaped: "\\",
    unescaped_in_quotes: "",
    re_expression: Some("{regex}"),
    re_escape: "\"",
    re_escape_escape_char: true,
    cidr_expression: Some("{field}=\"{value}\""),
    compare_op_expression: "{field}{operator}{value}",
    field_null_expression: "NOT {field}=*",
    field_exists_expression: Some("{field}=*"),
    field_not_exists_expression: None,
    convert_or_as_in: true,
    in_expressions_allow_wildcards: true,
    field_in_list_expression: "{field} {op} ({list})",
    or_in_operator: "IN",
    list_separator: ", ",
    unbound_value_str_expression: Some("{value}"),
    unbound_value_num_expression: Some("{value}"),
    startswith_expression: None,
    endswith_expression: None,
    contains_expression: None,
    wildcard_match_expression: None,
    case_sensitive_match_expression: None,
    deferred_only_query: "*",
    field_not_null_expression: None,
    expansion_as_in: false,
    field_ref_error: "Field references are not supported by the backend.",
};

/// The rex group/flag name of a field (`CommandLineMatch2`).
fn rex_name(field: &str, what: &str, count: usize) -> String {
    let cleaned = field.rsplit_once('.').map_or(field, |(_, tail)| tail);
    let suffix = if count <= 1 {
        String::new()
    } else {
        count.to_string()
    };
    format!("{cleaned}{what}{suffix}")
}

impl Target for Splunk {
    fn syntax(&self) -> &Syntax {
        &SYNTAX
    }

    fn field_re(
        &self,
        w: &mut Walker<'_>,
        field: &str,
        pattern: &str,
        flags: RegexFlags,
        ctx: Ctx,
    ) -> Result<Out, ConvertError> {
        let value = w.generic_field_re(field, pattern, flags)?;
        if ctx.in_or {
            let count = {
                let c = w.state.counters.entry(field.to_string()).or_insert(0);
                *c += 1;
                *c
            };
            w.state.deferred.push(Deferred {
                kind: REX,
                field: field.to_string(),
                value,
                negated: false,
            });
            let flag = rex_name(field, "Condition", count);
            let text = w.generic_field_eq_str(&flag, &SigmaString::literal("true"))?;
            return Ok(Out::Text(text));
        }
        w.state.deferred.push(Deferred {
            kind: REGEX,
            field: field.to_string(),
            value,
            negated: false,
        });
        Ok(Out::Deferred(w.state.deferred.len() - 1))
    }

    fn field_ref(
        &self,
        w: &mut Walker<'_>,
        field: &str,
        value: &Value,
        ctx: Ctx,
    ) -> Result<Out, ConvertError> {
        if ctx.in_or {
            return Err(ConvertError::new(
                "ORing FieldRef matching is not yet supported by Splunk backend",
            ));
        }
        let Value::FieldRef { field: other, .. } = value else {
            return Err(ConvertError::new("expected a field reference"));
        };
        w.state.deferred.push(Deferred {
            kind: WHERE,
            field: field.to_string(),
            value: SYNTAX.field(other),
            negated: false,
        });
        Ok(Out::Deferred(w.state.deferred.len() - 1))
    }

    fn finalize_deferred(&self, d: &Deferred) -> String {
        match d.kind {
            WHERE => format!(
                "where {}'{}'='{}'",
                if d.negated { "NOT " } else { "" },
                d.field,
                d.value
            ),
            _ => format!(
                "regex {}{}\"{}\"",
                d.field,
                if d.negated { "!=" } else { "=" },
                d.value
            ),
        }
    }

    fn finalize_query(&self, out: Out, state: &mut State) -> Option<String> {
        if !state.deferred.iter().any(|d| d.kind == REX) {
            return generic_finalize(self, out, state, "\n| ", "\n| ");
        }
        let mut counts = std::collections::BTreeMap::<String, usize>::new();
        let mut rex = Vec::new();
        let mut flags = Vec::new();
        let mut rest = Vec::new();
        for d in state.deferred.drain(..) {
            if d.kind == REX {
                let n = counts.entry(d.field.clone()).or_insert(0);
                *n += 1;
                let m = rex_name(&d.field, "Match", *n);
                let c = rex_name(&d.field, "Condition", *n);
                flags.push(c.clone());
                rex.push(format!(
                    "rex field={} \"(?<{m}>{})\"\n| eval {c}=if(isnotnull({m}), \"true\", \"false\")",
                    d.field, d.value
                ));
            } else {
                rest.push(d);
            }
        }
        state.deferred = rest;
        let query = match out {
            Out::Text(s) => s,
            Out::Deferred(_) | Out::Nothing => SYNTAX.deferred_only_query.to_string(),
        };
        let (hoisted, search) = hoist(&query, &flags);
        let text = format!("{hoisted}\n| {}\n| search {search}", rex.join("\n| "));
        generic_finalize(self, Out::Text(text), state, "\n| ", "\n| ")
    }
}

/// pysigma-backend-splunk 2.1 moves the leading plain `field=value` terms
/// of the search before the `| rex` lines; terms testing a rex flag field
/// stay in the search, and so does a term that an `OR` follows.
fn hoist(query: &str, flags: &[String]) -> (String, String) {
    let mut rest = query;
    let mut terms = Vec::new();
    while let Some(len) = simple_term(rest) {
        let term = &rest[..len];
        let field = term.split('=').next().unwrap_or_default();
        if flags.iter().any(|f| f == field) {
            break;
        }
        let after = &rest[len..];
        if after.is_empty() {
            terms.push(term);
            rest = after;
            break;
        }
        let Some(next) = after.strip_prefix(' ') else {
            break;
        };
        // pysigma-backend-splunk also hoists a term that an `OR` follows,
        // leaving `| search OR …` (invalid SPL, and the term is no longer
        // OR-ed); sigil stops there (docs/differences.md).
        if next.starts_with("OR ") {
            break;
        }
        terms.push(term);
        rest = next;
    }
    (terms.join(" "), rest.to_string())
}

/// Length of a leading `field="value"` or `field=number` term.
fn simple_term(s: &str) -> Option<usize> {
    let field_len = s
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '.'))
        .map_or(s.len(), |(i, _)| i);
    if field_len == 0 || !s[field_len..].starts_with('=') {
        return None;
    }
    let v = &s[field_len + 1..];
    let mut chars = v.char_indices();
    match chars.next() {
        Some((_, '"')) => {
            let mut escaped = false;
            for (i, c) in chars {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    return Some(field_len + 1 + i + 1);
                }
            }
            None
        }
        Some((_, c)) if c.is_ascii_digit() || c == '-' => {
            let n = v
                .char_indices()
                .find(|(_, c)| !(c.is_ascii_digit() || *c == '.' || *c == '-'))
                .map_or(v.len(), |(i, _)| i);
            Some(field_len + 1 + n)
        }
        _ => None,
    }
}
