//! Elasticsearch query string (pySigma-backend-elasticsearch's
//! `LuceneBackend`).
//!
//! Differences from the generic walker: every nested operand is grouped,
//! `NOT field: null` collapses to `_exists_:field`, IPv6 CIDR colons are
//! escaped, expansions always become value lists, and field references are
//! refused.

use sigma_core::{SigmaString, StrPart};

use crate::convert::{Ctx, Out, Target, Walker};
use crate::syntax::{Op, Syntax};
use crate::ConvertError;

/// The Lucene target.
pub struct Lucene;

fn quote_value(s: &SigmaString) -> bool {
    s.is_empty() || is_phrase(s)
}

fn quote_keyword(s: &SigmaString) -> bool {
    s.is_empty()
}

fn is_phrase(s: &SigmaString) -> bool {
    // pysigma-backend-elasticsearch 2.1.1: plain values with a space are
    // phrase-quoted.
    !s.has_wildcards()
        && s.parts
            .iter()
            .any(|p| matches!(p, StrPart::Literal(t) if t.contains(' ')))
}

/// Lucene's token table.
pub static SYNTAX: Syntax = Syntax {
    precedence: [Op::Not, Op::Or, Op::And],
    parenthesize: true,
    token_separator: " ",
    and_token: "AND",
    or_token: "OR",
    not_token: "NOT",
    eq_token: ":",
    field_quote: None,
    field_needs_quote: |_| false,
    field_escape: Some("\\"),
    // pySigma escapes whitespace and `*`; sigil also escapes the characters
    // that would end a field name (docs/differences.md).
    field_escaped: |c| c.is_whitespace() || "*:()\"\\/{}[]^~<>=!&|+?".contains(c),
    str_quote: "\"",
    quote_value,
    quote_keyword,
    escape_char: "\\",
    wildcard_multi: "*",
    wildcard_single: "?",
    add_escaped: "+-=&|!(){}[]<>^\"~*?:\\/ ",
    unescaped_in_quotes: " ",
    re_expression: Some("{field}:/{regex}/"),
    re_escape: "/",
    re_escape_escape_char: false,
    cidr_expression: Some("{field}:{network}\\/{prefixlen}"),
    compare_op_expression: "{field}:{operator}{value}",
    field_null_expression: "NOT _exists_:{field}",
    field_exists_expression: Some("_exists_:{field}"),
    field_not_exists_expression: Some("NOT _exists_:{field}"),
    convert_or_as_in: true,
    in_expressions_allow_wildcards: true,
    field_in_list_expression: "{field}{op}({list})",
    or_in_operator: ":",
    list_separator: " OR ",
    unbound_value_str_expression: Some("*{value}*"),
    unbound_value_num_expression: Some("{value}"),
    startswith_expression: None,
    endswith_expression: None,
    contains_expression: None,
    wildcard_match_expression: None,
    case_sensitive_match_expression: None,
    deferred_only_query: "*",
    field_not_null_expression: Some("_exists_:{field}"),
    expansion_as_in: true,
    field_ref_error: "ES Lucene backend can't handle field references.",
};

impl Target for Lucene {
    fn syntax(&self) -> &Syntax {
        &SYNTAX
    }

    fn field_cidr(
        &self,
        w: &mut Walker<'_>,
        field: &str,
        network: &str,
        _ctx: Ctx,
    ) -> Result<Out, ConvertError> {
        let s = w.generic_cidr(field, network)?;
        if !network.contains(':') {
            return Ok(Out::Text(s));
        }
        let all = s.replace(':', "\\:");
        Ok(Out::Text(all.replacen("\\:", ":", 1)))
    }
}
