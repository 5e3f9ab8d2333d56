//! The per-target token table ([`Syntax`]) and the text helpers every
//! target shares: template filling, string escaping, field quoting and
//! regular-expression escaping.
//!
//! This mirrors the class attributes of pySigma's `TextQueryBackend`: a
//! target is mostly *data*, and the generic walker in [`crate::convert`]
//! reads it.

use sigma_core::{Number, SigmaString, StrPart};

use crate::ConvertError;

/// A boolean operator, for precedence tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Negation.
    Not,
    /// Conjunction.
    And,
    /// Disjunction.
    Or,
}

/// The token and template table of one target.
///
/// Templates use `{name}` placeholders that [`fill`] replaces in one pass
/// (a replaced value is never scanned again, so values cannot inject
/// placeholders).
#[derive(Debug, Clone)]
pub struct Syntax {
    /// Operators from the tightest-binding to the loosest.
    pub precedence: [Op; 3],
    /// Group every non-leaf operand (Lucene, EQL).
    pub parenthesize: bool,
    /// Separator around boolean tokens.
    pub token_separator: &'static str,
    /// AND token (Splunk: a single space).
    pub and_token: &'static str,
    /// OR token.
    pub or_token: &'static str,
    /// NOT token.
    pub not_token: &'static str,
    /// Token between field and value.
    pub eq_token: &'static str,
    /// Quote put around field names that need it.
    pub field_quote: Option<&'static str>,
    /// Whether a field name needs quoting.
    pub field_needs_quote: fn(&str) -> bool,
    /// Escape prefix for field-name characters selected by `field_escaped`.
    pub field_escape: Option<&'static str>,
    /// Which field-name characters are escaped.
    pub field_escaped: fn(char) -> bool,
    /// String quote.
    pub str_quote: &'static str,
    /// Whether a string value gets quoted.
    pub quote_value: fn(&SigmaString) -> bool,
    /// Whether a keyword (a value without field) gets quoted.
    pub quote_keyword: fn(&SigmaString) -> bool,
    /// Escape prefix inside strings.
    pub escape_char: &'static str,
    /// Multi-character wildcard.
    pub wildcard_multi: &'static str,
    /// Single-character wildcard.
    pub wildcard_single: &'static str,
    /// Characters escaped in addition to the wildcards and the quote.
    pub add_escaped: &'static str,
    /// Characters escaped inside a quoted string only when unquoted (Lucene
    /// does not escape spaces inside phrases).
    pub unescaped_in_quotes: &'static str,
    /// `field = regex` template (`{field}`, `{regex}`).
    pub re_expression: Option<&'static str>,
    /// Characters escaped inside regular expressions.
    pub re_escape: &'static str,
    /// Whether the escape character itself is doubled inside regexes.
    pub re_escape_escape_char: bool,
    /// CIDR template (`{field}`, `{value}`, `{network}`, `{prefixlen}`).
    pub cidr_expression: Option<&'static str>,
    /// Comparison template (`{field}`, `{operator}`, `{value}`).
    pub compare_op_expression: &'static str,
    /// `field is null` template.
    pub field_null_expression: &'static str,
    /// `field exists` template; `None` refuses `|exists`.
    pub field_exists_expression: Option<&'static str>,
    /// `field does not exist` template.
    pub field_not_exists_expression: Option<&'static str>,
    /// Render ORs of one field as an in-list.
    pub convert_or_as_in: bool,
    /// In-lists may hold wildcard values.
    pub in_expressions_allow_wildcards: bool,
    /// In-list template (`{field}`, `{op}`, `{list}`).
    pub field_in_list_expression: &'static str,
    /// The `{op}` of in-lists.
    pub or_in_operator: &'static str,
    /// Separator between in-list values.
    pub list_separator: &'static str,
    /// Keyword string template (`{value}`); `None` refuses keywords.
    pub unbound_value_str_expression: Option<&'static str>,
    /// Keyword number template.
    pub unbound_value_num_expression: Option<&'static str>,
    /// `startswith` template (`{field}`, `{value}`), used for `v*` values.
    pub startswith_expression: Option<&'static str>,
    /// `endswith` template, used for `*v` values.
    pub endswith_expression: Option<&'static str>,
    /// `contains` template, used for `*v*` values.
    pub contains_expression: Option<&'static str>,
    /// Template for any other wildcard value.
    pub wildcard_match_expression: Option<&'static str>,
    /// Case-sensitive equality template; `None` refuses `|cased`.
    pub case_sensitive_match_expression: Option<&'static str>,
    /// Prefix put before the query when only deferred parts exist.
    pub deferred_only_query: &'static str,
    /// `NOT field = null` as one positive expression (`{field}`), which
    /// then needs no grouping while a bare null test does (Lucene, EQL).
    pub field_not_null_expression: Option<&'static str>,
    /// Expansions (`windash`, `base64offset`) may become an in-list.
    pub expansion_as_in: bool,
    /// Refusal message for field references, where the target has no
    /// conversion of its own.
    pub field_ref_error: &'static str,
}

/// Fills `{name}` placeholders of `template` in a single pass.
pub fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                match vars.iter().find(|(k, _)| *k == name) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// pySigma's message for an unresolved `%placeholder%`.
pub fn placeholder_error(name: &str) -> ConvertError {
    ConvertError::new(format!(
        "Attempt to convert unhandled placeholder '{name}' into query."
    ))
}

impl Syntax {
    /// Escapes and quotes a field name.
    pub fn field(&self, name: &str) -> String {
        let mut escaped = String::with_capacity(name.len() + 2);
        for c in name.chars() {
            if let Some(esc) = self.field_escape {
                if (self.field_escaped)(c) {
                    escaped.push_str(esc);
                }
            }
            escaped.push(c);
        }
        match self.field_quote {
            Some(q) if (self.field_needs_quote)(&escaped) => {
                // Never let a quote inside the name close the quoting.
                let mut inner = String::with_capacity(escaped.len());
                for c in escaped.chars() {
                    if q == "`" {
                        // Backtick-quoted names (ES|QL, EQL) double a backtick.
                        if c == '`' {
                            inner.push('`');
                        }
                    } else if q.contains(c) || c == '\\' {
                        inner.push('\\');
                    }
                    inner.push(c);
                }
                format!("{q}{inner}{q}")
            }
            _ => escaped,
        }
    }

    /// Renders a string value with escaping and quoting (pySigma's
    /// `convert_value_str`).
    pub fn value_str(&self, s: &SigmaString) -> Result<String, ConvertError> {
        self.value_str_with(s, self.quote_value)
    }

    /// Renders a keyword value.
    pub fn keyword_str(&self, s: &SigmaString) -> Result<String, ConvertError> {
        self.value_str_with(s, self.quote_keyword)
    }

    fn value_str_with(
        &self,
        s: &SigmaString,
        quote: fn(&SigmaString) -> bool,
    ) -> Result<String, ConvertError> {
        let quoted = !self.str_quote.is_empty() && quote(s);
        let body = self.escape_str(s, quoted)?;
        Ok(if quoted {
            format!("{q}{body}{q}", q = self.str_quote)
        } else {
            body
        })
    }

    /// Escapes a string value without quoting it.
    pub fn escape_str(&self, s: &SigmaString, quoted: bool) -> Result<String, ConvertError> {
        let mut out = String::new();
        for part in &s.parts {
            match part {
                StrPart::Literal(text) => {
                    for c in text.chars() {
                        let special = self.wildcard_multi.contains(c)
                            || self.wildcard_single.contains(c)
                            || self.str_quote.contains(c)
                            || self.add_escaped.contains(c);
                        if special && !(quoted && self.unescaped_in_quotes.contains(c)) {
                            out.push_str(self.escape_char);
                        }
                        out.push(c);
                    }
                }
                StrPart::AnyChars => out.push_str(self.wildcard_multi),
                StrPart::AnyChar => out.push_str(self.wildcard_single),
                StrPart::Placeholder(name) => return Err(placeholder_error(name)),
            }
        }
        Ok(out)
    }

    /// Escapes a regular expression (pySigma's `SigmaRegularExpression.escape`
    /// with `\` as escape character) and prefixes its flags.
    pub fn regex(&self, pattern: &str, flags: sigma_core::RegexFlags) -> String {
        let mut out = String::with_capacity(pattern.len() + 8);
        let mut f = String::new();
        if flags.ignore_case {
            f.push('i');
        }
        if flags.multi_line {
            f.push('m');
        }
        if flags.dot_all {
            f.push('s');
        }
        if !f.is_empty() {
            out.push_str("(?");
            out.push_str(&f);
            out.push(')');
        }
        for c in pattern.chars() {
            if self.re_escape.contains(c) || (self.re_escape_escape_char && c == '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out
    }
}

/// Renders a number as Python's `str()` does.
pub fn number(n: Number) -> String {
    match n {
        Number::Int(i) => i.to_string(),
        Number::Float(f) => {
            if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e16 {
                format!("{f:.1}")
            } else {
                format!("{f}")
            }
        }
    }
}

/// `^[\w.]+$` as Python's `re` reads it (Unicode word characters).
pub fn is_word_or_dot(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
}

/// Whether the string has a wildcard.
pub fn contains_special(s: &SigmaString) -> bool {
    s.has_wildcards()
}

/// `s` without its last part (used after checking it is a `*`).
pub fn drop_last(s: &SigmaString) -> SigmaString {
    let mut out = s.clone();
    out.parts.pop();
    out
}

/// `s` without its first part.
pub fn drop_first(s: &SigmaString) -> SigmaString {
    let mut out = s.clone();
    if !out.parts.is_empty() {
        out.parts.remove(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_is_single_pass() {
        assert_eq!(
            fill("{field}={value}", &[("field", "{value}"), ("value", "x")]),
            "{value}=x"
        );
        assert_eq!(fill("{unknown} {", &[]), "{unknown} {");
    }

    #[test]
    fn numbers_print_like_python() {
        assert_eq!(number(Number::Int(-3)), "-3");
        assert_eq!(number(Number::Float(1.5)), "1.5");
        assert_eq!(number(Number::Float(2.0)), "2.0");
    }

    #[test]
    fn word_or_dot_is_unicode_aware() {
        assert!(is_word_or_dot("dotted.field_name1"));
        assert!(is_word_or_dot("ünï"));
        assert!(!is_word_or_dot("with space"));
        assert!(!is_word_or_dot(""));
    }
}
