//! Elasticsearch ES|QL (pySigma-backend-elasticsearch's `ESQLBackend`).
//!
//! Differences from the generic walker: `starts_with`/`ends_with`
//! functions for single leading/trailing wildcards, `like` for other
//! wildcards, in-lists only for plain values, and keywords are refused.
//! The `from … | where` frame is added by the output format.

use sigma_core::Value;

use crate::convert::{Ctx, Out, Target, Walker};
use crate::syntax::{is_word_or_dot, Op, Syntax};
use crate::ConvertError;

/// The ES|QL target.
pub struct Esql;

/// ES|QL's token table.
pub static SYNTAX: Syntax = Syntax {
    precedence: [Op::Not, Op::And, Op::Or],
    parenthesize: false,
    token_separator: " ",
    and_token: "and",
    or_token: "or",
    not_token: "not",
    eq_token: "==",
    field_quote: Some("`"),
    field_needs_quote: |f| !is_word_or_dot(f),
    field_escape: None,
    field_escaped: |_| false,
    str_quote: "\"",
    quote_value: |_| true,
    quote_keyword: |_| true,
    escape_char: "\\",
    wildcard_multi: "*",
    wildcard_single: "?",
    add_escaped: "\\",
    unescaped_in_quotes: "",
    re_expression: Some("{field} rlike \"{regex}\""),
    re_escape: "\"",
    re_escape_escape_char: true,
    cidr_expression: Some("cidr_match({field}, \"{value}\")"),
    compare_op_expression: "{field}{operator}{value}",
    field_null_expression: "{field} is null",
    field_exists_expression: Some("{field} is not null"),
    field_not_exists_expression: Some("{field} is null"),
    convert_or_as_in: true,
    in_expressions_allow_wildcards: false,
    field_in_list_expression: "{field} {op} ({list})",
    or_in_operator: "in",
    list_separator: ", ",
    unbound_value_str_expression: None,
    unbound_value_num_expression: None,
    startswith_expression: Some("starts_with({field}, {value})"),
    endswith_expression: Some("ends_with({field}, {value})"),
    contains_expression: None,
    wildcard_match_expression: Some("{field} like {value}"),
    case_sensitive_match_expression: None,
    deferred_only_query: "*",
    field_not_null_expression: None,
    expansion_as_in: false,
    field_ref_error: "Field references are not supported by the backend.",
};

impl Target for Esql {
    fn syntax(&self) -> &Syntax {
        &SYNTAX
    }

    fn field_ref(
        &self,
        _w: &mut Walker<'_>,
        field: &str,
        value: &Value,
        _ctx: Ctx,
    ) -> Result<Out, ConvertError> {
        let Value::FieldRef {
            field: other,
            starts_with,
            ends_with,
        } = value
        else {
            return Err(ConvertError::new("expected a field reference"));
        };
        if *starts_with || *ends_with {
            return Err(ConvertError::new(
                "Field reference startswith/endswith/contains expressions are not supported by backend.",
            ));
        }
        Ok(Out::Text(format!(
            "{}=={}",
            SYNTAX.field(field),
            SYNTAX.field(other)
        )))
    }
}
