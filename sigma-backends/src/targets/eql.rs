//! Elasticsearch EQL (pySigma-backend-elasticsearch's `EqlBackend`).
//!
//! Differences from the generic walker: `==` for empty strings and IP
//! addresses, `?field == null` tests (and `?field != null` for their
//! negation), every nested operand grouped, expansions as `like~` lists,
//! `|exists` and field references refused. The `any where` frame is added by
//! the output format.

use sigma_core::SigmaString;

use crate::convert::{Ctx, Out, Target, Walker};
use crate::syntax::{Op, Syntax};
use crate::ConvertError;

/// The EQL target.
pub struct Eql;

fn needs_quote(f: &str) -> bool {
    f.starts_with(|c: char| c.is_ascii_digit())
        || f.chars().any(char::is_whitespace)
        || f.starts_with('-')
}

/// EQL's token table.
pub static SYNTAX: Syntax = Syntax {
    precedence: [Op::Not, Op::Or, Op::And],
    parenthesize: true,
    token_separator: " ",
    and_token: "and",
    or_token: "or",
    not_token: "not",
    eq_token: ":",
    field_quote: Some("`"),
    field_needs_quote: needs_quote,
    field_escape: None,
    field_escaped: |_| false,
    str_quote: "\"",
    quote_value: |_| true,
    quote_keyword: |_| false,
    escape_char: "\\",
    wildcard_multi: "*",
    wildcard_single: "?",
    add_escaped: "\n\r\t\\\"",
    unescaped_in_quotes: "",
    re_expression: Some("{field} regex~ \"{regex}\""),
    // pySigma leaves `"` unescaped inside EQL regexes, so a pattern could
    // close the string; sigil escapes it (docs/differences.md).
    re_escape: "/\"",
    re_escape_escape_char: true,
    cidr_expression: Some("cidrMatch({field}, \"{network}/{prefixlen}\")"),
    compare_op_expression: "{field} {operator} {value}",
    field_null_expression: "?{field} == null",
    field_exists_expression: None,
    field_not_exists_expression: None,
    convert_or_as_in: true,
    in_expressions_allow_wildcards: true,
    field_in_list_expression: "{field}{op}({list})",
    or_in_operator: " like~ ",
    list_separator: ", ",
    unbound_value_str_expression: Some("\"{value}\""),
    unbound_value_num_expression: Some("{value}"),
    startswith_expression: None,
    endswith_expression: None,
    contains_expression: None,
    wildcard_match_expression: None,
    case_sensitive_match_expression: Some("{field} == {value}"),
    deferred_only_query: "*",
    field_not_null_expression: Some("?{field} != null"),
    expansion_as_in: true,
    field_ref_error: "ES Lucene backend can't handle field references.",
};

fn is_ip(s: &SigmaString) -> bool {
    s.as_plain()
        .is_some_and(|p| p.parse::<std::net::IpAddr>().is_ok())
}

impl Target for Eql {
    fn syntax(&self) -> &Syntax {
        &SYNTAX
    }

    fn field_eq_str(
        &self,
        w: &mut Walker<'_>,
        field: &str,
        s: &SigmaString,
        _ctx: Ctx,
    ) -> Result<Out, ConvertError> {
        if s.is_empty() || is_ip(s) {
            return Ok(Out::Text(format!(
                "{}=={}",
                SYNTAX.field(field),
                SYNTAX.value_str(s)?
            )));
        }
        w.generic_field_eq_str(field, s).map(Out::Text)
    }

    fn field_eq_cased(
        &self,
        _w: &mut Walker<'_>,
        field: &str,
        s: &SigmaString,
    ) -> Result<Out, ConvertError> {
        // `==` compares literally, so a wildcard value needs the
        // case-sensitive `like` (pySigma writes `==`, which never matches).
        let op = if s.has_wildcards() { " like " } else { " == " };
        Ok(Out::Text(format!(
            "{}{op}{}",
            SYNTAX.field(field),
            SYNTAX.value_str(s)?
        )))
    }
}
