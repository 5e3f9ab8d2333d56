//! Value modifiers (`field|contains|all`) and their type flow.
//!
//! Modifiers are applied left to right, exactly as pySigma does: each one
//! checks the type of the value it receives (string, regex, number, …) and
//! produces a new value, so an invalid chain is reported with the modifier
//! that broke it. *List* modifiers (`all`, `neq`) act on the whole item.

use std::fmt;

use base64::Engine;
use serde::Serialize;

use crate::error::{ErrorKind, SigmaError};
use crate::value::{CompareOp, Number, RegexFlags, SigmaString, StrPart, TimePart, Value};
use crate::yaml::Location;

/// A value modifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Modifier {
    /// `contains`: substring match.
    Contains,
    /// `startswith`: prefix match.
    StartsWith,
    /// `endswith`: suffix match.
    EndsWith,
    /// `all`: AND-link the values.
    All,
    /// `base64`: Base64-encode the value.
    Base64,
    /// `base64offset`: the three Base64 alignments of the value.
    Base64Offset,
    /// `wide` / `utf16le`: UTF-16LE encoding.
    Wide,
    /// `utf16be`: UTF-16BE encoding.
    Utf16Be,
    /// `utf16`: UTF-16LE with a byte-order mark.
    Utf16,
    /// `windash`: expand `-` and `/` command-line flag prefixes.
    WinDash,
    /// `re`: regular expression.
    Re,
    /// `i` / `ignorecase`: case-insensitive regex.
    IgnoreCase,
    /// `m` / `multiline`: multi-line regex.
    MultiLine,
    /// `s` / `dotall`: `.` matches newlines.
    DotAll,
    /// `cased`: case-sensitive string match.
    Cased,
    /// `cidr`: IP network match.
    Cidr,
    /// `exists`: field presence.
    Exists,
    /// `expand`: placeholders (`%name%`).
    Expand,
    /// `fieldref`: compare with another field.
    FieldRef,
    /// `gt`: greater than.
    Gt,
    /// `gte`: greater than or equal.
    Gte,
    /// `lt`: less than.
    Lt,
    /// `lte`: less than or equal.
    Lte,
    /// `neq`: negate the item.
    Neq,
    /// `minute` of a timestamp.
    Minute,
    /// `hour` of a timestamp.
    Hour,
    /// `day` of a timestamp.
    Day,
    /// `week` of a timestamp.
    Week,
    /// `month` of a timestamp.
    Month,
    /// `year` of a timestamp.
    Year,
}

impl Modifier {
    /// Looks a modifier up by its name as written in a rule (case-sensitive,
    /// like pySigma). `utf16le` is accepted as the specification's alias of
    /// `wide`.
    pub fn from_name(name: &str) -> Option<Modifier> {
        use Modifier::*;
        Some(match name {
            "contains" => Contains,
            "startswith" => StartsWith,
            "endswith" => EndsWith,
            "all" => All,
            "base64" => Base64,
            "base64offset" => Base64Offset,
            "wide" | "utf16le" => Wide,
            "utf16be" => Utf16Be,
            "utf16" => Utf16,
            "windash" => WinDash,
            "re" => Re,
            "i" | "ignorecase" => IgnoreCase,
            "m" | "multiline" => MultiLine,
            "s" | "dotall" => DotAll,
            "cased" => Cased,
            "cidr" => Cidr,
            "exists" => Exists,
            "expand" => Expand,
            "fieldref" => FieldRef,
            "gt" => Gt,
            "gte" => Gte,
            "lt" => Lt,
            "lte" => Lte,
            "neq" => Neq,
            "minute" => Minute,
            "hour" => Hour,
            "day" => Day,
            "week" => Week,
            "month" => Month,
            "year" => Year,
            _ => return None,
        })
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        use Modifier::*;
        match self {
            Contains => "contains",
            StartsWith => "startswith",
            EndsWith => "endswith",
            All => "all",
            Base64 => "base64",
            Base64Offset => "base64offset",
            Wide => "wide",
            Utf16Be => "utf16be",
            Utf16 => "utf16",
            WinDash => "windash",
            Re => "re",
            IgnoreCase => "i",
            MultiLine => "m",
            DotAll => "s",
            Cased => "cased",
            Cidr => "cidr",
            Exists => "exists",
            Expand => "expand",
            FieldRef => "fieldref",
            Gt => "gt",
            Gte => "gte",
            Lt => "lt",
            Lte => "lte",
            Neq => "neq",
            Minute => "minute",
            Hour => "hour",
            Day => "day",
            Week => "week",
            Month => "month",
            Year => "year",
        }
    }

    /// Every modifier name that [`Modifier::from_name`] accepts.
    pub const NAMES: &'static [&'static str] = &[
        "contains",
        "startswith",
        "endswith",
        "all",
        "base64",
        "base64offset",
        "wide",
        "utf16le",
        "utf16be",
        "utf16",
        "windash",
        "re",
        "i",
        "ignorecase",
        "m",
        "multiline",
        "s",
        "dotall",
        "cased",
        "cidr",
        "exists",
        "expand",
        "fieldref",
        "gt",
        "gte",
        "lt",
        "lte",
        "neq",
        "minute",
        "hour",
        "day",
        "week",
        "month",
        "year",
    ];
}

impl fmt::Display for Modifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The most `windash` flag positions in one value: 5ⁿ variants are produced.
pub const MAX_WINDASH_POSITIONS: usize = 6;

/// The most alternatives the values of one rule (one detection section) may
/// expand into through `windash` and `base64offset`, summed over all its
/// expanded values: beyond it the rule is refused with an error at the value
/// that crossed the limit, rather than building millions of strings. Plain
/// values do not count.
pub const MAX_EXPANDED_VALUES: usize = 100_000;

/// How many values `v` stands for: the alternatives of an expansion (nested
/// ones counted through), otherwise 1.
///
/// ```
/// use sigma_core::modifiers::{apply, expanded_len, Modifier};
/// use sigma_core::{Location, SigmaString, Value};
/// let flags = Value::string(SigmaString::parse("cmd -a -b"));
/// let v = apply(Modifier::WinDash, flags, Location::default()).unwrap();
/// assert_eq!(expanded_len(&v), 25); // 5 dashes at 2 flag positions
/// ```
pub fn expanded_len(v: &Value) -> usize {
    match v {
        Value::Expansion { values } => values.iter().map(expanded_len).sum(),
        _ => 1,
    }
}

/// The error for a rule whose values expand beyond [`MAX_EXPANDED_VALUES`].
pub(crate) fn too_many_values(loc: Location) -> SigmaError {
    value_error(
        loc,
        format!(
            "the modifiers expand this rule's values into more than {MAX_EXPANDED_VALUES} values (through 'windash' or 'base64offset'); split the rule or list fewer values"
        ),
    )
}

/// The dash characters `windash` produces, in pySigma's order.
pub const WINDASH_CHARS: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

fn chain_error(loc: Location, m: Modifier, v: &Value) -> SigmaError {
    SigmaError::new(
        ErrorKind::ModifierChain,
        loc,
        format!(
            "modifier '{m}' cannot be applied to a {} value",
            v.type_name()
        ),
    )
}

fn value_error(loc: Location, msg: impl Into<String>) -> SigmaError {
    SigmaError::new(ErrorKind::InvalidValue, loc, msg)
}

/// Applies one value modifier (not `all`/`neq`, which act on the item) to a
/// value. Expansions are processed element by element.
pub fn apply(m: Modifier, v: Value, loc: Location) -> Result<Value, SigmaError> {
    use Modifier::*;
    if let Value::Expansion { values } = v {
        // Expansions of expansions multiply: stop at the rule's limit.
        let mut out = Vec::with_capacity(values.len());
        let mut total = 0usize;
        for e in values {
            let e = apply(m, e, loc)?;
            total = total.saturating_add(expanded_len(&e));
            if total > MAX_EXPANDED_VALUES {
                return Err(too_many_values(loc));
            }
            out.push(e);
        }
        return Ok(Value::Expansion { values: out });
    }
    match (m, v) {
        (Contains | StartsWith | EndsWith, Value::String { mut value, cased }) => {
            if matches!(m, Contains | EndsWith) {
                value.prepend_wildcard();
            }
            if matches!(m, Contains | StartsWith) {
                value.append_wildcard();
            }
            Ok(Value::String { value, cased })
        }
        (Contains | StartsWith | EndsWith, Value::Regex { mut pattern, flags }) => {
            if matches!(m, Contains | EndsWith)
                && !pattern.starts_with('^')
                && !pattern.starts_with(".*")
            {
                pattern.insert_str(0, ".*");
            }
            if matches!(m, Contains | StartsWith)
                && !pattern.ends_with('$')
                && !pattern.ends_with(".*")
            {
                pattern.push_str(".*");
            }
            Ok(Value::Regex { pattern, flags })
        }
        (
            Contains | StartsWith | EndsWith,
            Value::FieldRef {
                field,
                mut starts_with,
                mut ends_with,
            },
        ) => {
            starts_with |= matches!(m, Contains | StartsWith);
            ends_with |= matches!(m, Contains | EndsWith);
            Ok(Value::FieldRef {
                field,
                starts_with,
                ends_with,
            })
        }
        (Base64, Value::String { value, cased }) => {
            let plain = plain_for_encoding(&value, m, loc)?;
            let encoded = base64::engine::general_purpose::STANDARD.encode(bytes_of(&plain));
            Ok(Value::String {
                value: SigmaString::literal(&encoded),
                cased,
            })
        }
        (Base64Offset, Value::String { value, cased }) => {
            let plain = plain_for_encoding(&value, m, loc)?;
            let values = base64_offsets(&bytes_of(&plain))
                .into_iter()
                .map(|s| Value::String {
                    value: SigmaString::literal(&s),
                    cased,
                })
                .collect();
            Ok(Value::Expansion { values })
        }
        (Wide | Utf16Be | Utf16, Value::String { value, cased }) => {
            let mut out = SigmaString::default();
            if m == Utf16 {
                out.push_str("\u{ff}\u{fe}");
            }
            for part in value.parts {
                match part {
                    StrPart::Literal(s) => {
                        if let Some(bad) = s.chars().find(|c| !c.is_ascii()) {
                            return Err(value_error(
                                loc,
                                format!("modifier '{m}' supports only ASCII text, found '{bad}'"),
                            ));
                        }
                        let mut enc = String::with_capacity(s.len() * 2);
                        for c in s.chars() {
                            if m == Utf16Be {
                                enc.push('\0');
                                enc.push(c);
                            } else {
                                enc.push(c);
                                enc.push('\0');
                            }
                        }
                        out.push_str(&enc);
                    }
                    other => out.push_part(other),
                }
            }
            Ok(Value::String { value: out, cased })
        }
        (WinDash, Value::String { value, cased }) => {
            let values = windash_variants(&value, loc)?
                .into_iter()
                .map(|value| Value::String { value, cased })
                .collect();
            Ok(Value::Expansion { values })
        }
        (IgnoreCase | MultiLine | DotAll, Value::Regex { pattern, mut flags }) => {
            match m {
                IgnoreCase => flags.ignore_case = true,
                MultiLine => flags.multi_line = true,
                _ => flags.dot_all = true,
            }
            Ok(Value::Regex { pattern, flags })
        }
        (Cased, Value::String { value, .. }) => Ok(Value::String { value, cased: true }),
        (Expand, Value::String { value, cased }) => Ok(Value::String {
            value: insert_placeholders(value),
            cased,
        }),
        (FieldRef, Value::String { value, .. }) => match value.as_plain() {
            Some(field) => Ok(Value::FieldRef {
                field,
                starts_with: false,
                ends_with: false,
            }),
            None => Err(value_error(
                loc,
                "a field reference cannot contain wildcards or placeholders",
            )),
        },
        (Gt | Gte | Lt | Lte, Value::Number { value }) => Ok(Value::Compare {
            op: compare_op(m),
            value,
            part: None,
        }),
        (Gt | Gte | Lt | Lte, Value::TimestampPart { part, value }) => Ok(Value::Compare {
            op: compare_op(m),
            value,
            part: Some(part),
        }),
        (Minute | Hour | Day | Week | Month | Year, Value::Number { value }) => {
            Ok(Value::TimestampPart {
                part: time_part(m),
                value,
            })
        }
        (m, v) => Err(chain_error(loc, m, &v)),
    }
}

fn compare_op(m: Modifier) -> CompareOp {
    match m {
        Modifier::Gt => CompareOp::Gt,
        Modifier::Gte => CompareOp::Gte,
        Modifier::Lt => CompareOp::Lt,
        _ => CompareOp::Lte,
    }
}

fn time_part(m: Modifier) -> TimePart {
    match m {
        Modifier::Minute => TimePart::Minute,
        Modifier::Hour => TimePart::Hour,
        Modifier::Day => TimePart::Day,
        Modifier::Week => TimePart::Week,
        Modifier::Month => TimePart::Month,
        _ => TimePart::Year,
    }
}

/// The plain text of a string that an encoder needs whole.
fn plain_for_encoding(s: &SigmaString, m: Modifier, loc: Location) -> Result<String, SigmaError> {
    s.as_plain().ok_or_else(|| {
        value_error(
            loc,
            format!("modifier '{m}' cannot encode a value with wildcards or placeholders; put contains/startswith/endswith after it"),
        )
    })
}

/// The bytes an encoder sees. Strings produced by `wide`/`utf16*` hold one
/// byte per character (they contain NUL characters and nothing above
/// U+00FF); everything else is UTF-8.
fn bytes_of(s: &str) -> Vec<u8> {
    if s.contains('\0') && s.chars().all(|c| (c as u32) <= 0xff) {
        s.chars().map(|c| c as u8).collect()
    } else {
        s.as_bytes().to_vec()
    }
}

/// The three Base64 fragments that occur inside any Base64 text containing
/// `data`, one for each byte alignment (pySigma's algorithm).
pub fn base64_offsets(data: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END: [usize; 3] = [0, 3, 2];
    (0..3)
        .map(|i| {
            let mut buf = vec![b' '; i];
            buf.extend_from_slice(data);
            let enc = base64::engine::general_purpose::STANDARD.encode(&buf);
            let end = enc.len().saturating_sub(END[(data.len() + i) % 3]);
            enc.get(START[i]..end).unwrap_or_default().to_string()
        })
        .collect()
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// All `windash` variants of a string: each `-` or `/` at a flag position
/// (`\B[-/]\b` within a literal run) replaced by each of the five dashes.
pub fn windash_variants(s: &SigmaString, loc: Location) -> Result<Vec<SigmaString>, SigmaError> {
    // Positions as (part index, char index).
    let mut positions = Vec::new();
    for (pi, part) in s.parts.iter().enumerate() {
        if let StrPart::Literal(text) = part {
            let chars: Vec<char> = text.chars().collect();
            for (ci, &c) in chars.iter().enumerate() {
                if c != '-' && c != '/' {
                    continue;
                }
                let before_ok = ci == 0 || !is_word(chars[ci - 1]);
                let after_ok = chars.get(ci + 1).is_some_and(|&n| is_word(n));
                if before_ok && after_ok {
                    positions.push((pi, ci));
                }
            }
        }
    }
    if positions.len() > MAX_WINDASH_POSITIONS {
        return Err(value_error(
            loc,
            format!(
                "windash would expand {} flag positions into {} variants; at most {} positions are supported",
                positions.len(),
                5usize.saturating_pow(positions.len() as u32),
                MAX_WINDASH_POSITIONS
            ),
        ));
    }
    let total = 5usize.pow(positions.len() as u32);
    let mut out = Vec::with_capacity(total);
    for combo in 0..total {
        let mut parts = s.parts.clone();
        let mut rest = combo;
        // The first position varies slowest, like itertools.product.
        let mut choices = vec![0; positions.len()];
        for slot in choices.iter_mut().rev() {
            *slot = rest % 5;
            rest /= 5;
        }
        for (&(pi, ci), &choice) in positions.iter().zip(&choices) {
            if let StrPart::Literal(text) = &mut parts[pi] {
                let mut chars: Vec<char> = text.chars().collect();
                chars[ci] = WINDASH_CHARS[choice];
                *text = chars.into_iter().collect();
            }
        }
        out.push(SigmaString { parts });
    }
    Ok(out)
}

/// Turns `%name%` in literal runs into placeholders; `\%` becomes `%`.
fn insert_placeholders(s: SigmaString) -> SigmaString {
    let mut out = SigmaString::default();
    for part in s.parts {
        let StrPart::Literal(text) = part else {
            out.push_part(part);
            continue;
        };
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\\' && chars.get(i + 1) == Some(&'%') {
                out.push_char('%');
                i += 2;
                continue;
            }
            if c == '%' {
                if let Some(len) = chars[i + 1..].iter().position(|&c| c == '%') {
                    if len > 0 {
                        let name: String = chars[i + 1..i + 1 + len].iter().collect();
                        out.parts.push(StrPart::Placeholder(name));
                        i += len + 2;
                        continue;
                    }
                }
            }
            out.push_char(c);
            i += 1;
        }
    }
    out
}

/// Validates a `cidr` value: an IPv4 or IPv6 network without host bits
/// (a bare address means a single host).
pub fn parse_cidr(text: &str, loc: Location) -> Result<ipnet::IpNet, SigmaError> {
    let net: ipnet::IpNet = if text.contains('/') {
        text.parse().map_err(|_| {
            SigmaError::new(
                ErrorKind::InvalidCidr,
                loc,
                format!("'{text}' is not a valid CIDR network"),
            )
        })?
    } else {
        let ip: std::net::IpAddr = text.parse().map_err(|_| {
            SigmaError::new(
                ErrorKind::InvalidCidr,
                loc,
                format!("'{text}' is not a valid IP address or CIDR network"),
            )
        })?;
        ipnet::IpNet::from(ip)
    };
    if net.trunc() != net {
        return Err(SigmaError::new(
            ErrorKind::InvalidCidr,
            loc,
            format!(
                "CIDR network '{text}' has host bits set (did you mean '{}'?)",
                net.trunc()
            ),
        ));
    }
    Ok(net)
}

/// Compiles-checks a `re` value with the flags applied.
pub fn check_regex(pattern: &str, flags: RegexFlags, loc: Location) -> Result<(), SigmaError> {
    // Most patterns are shown valid without compiling them; the others (and
    // every invalid one) are built as before, so errors are the regex crate's.
    if crate::regex_check::certainly_builds(
        pattern,
        flags.ignore_case,
        flags.multi_line,
        flags.dot_all,
    ) {
        return Ok(());
    }
    regex::RegexBuilder::new(pattern)
        .case_insensitive(flags.ignore_case)
        .multi_line(flags.multi_line)
        .dot_matches_new_line(flags.dot_all)
        .size_limit(crate::regex_check::SIZE_LIMIT)
        .build()
        .map(|_| ())
        .map_err(|e| {
            let detail = e.to_string();
            let last = detail
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim()
                .trim_start_matches("error: ")
                .to_string();
            SigmaError::new(
                ErrorKind::InvalidRegex,
                loc,
                format!("invalid regular expression '{pattern}': {last}"),
            )
        })
}

/// A number from an integer or float YAML scalar.
pub fn number_from_f64(f: f64) -> Number {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        Number::Int(f as i64)
    } else {
        Number::Float(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::string(SigmaString::parse(v))
    }
    fn l() -> Location {
        Location::default()
    }

    #[test]
    fn contains_adds_wildcards_once() {
        let v = apply(Modifier::Contains, s("*abc"), l()).unwrap();
        assert_eq!(v, s("*abc*"));
        let v = apply(Modifier::StartsWith, s("*b"), l()).unwrap();
        assert_eq!(v, s("*b*"));
        let v = apply(Modifier::EndsWith, s("8???"), l()).unwrap();
        assert_eq!(v, s("*8???"));
    }

    #[test]
    fn contains_on_regex() {
        let r = |p: &str| Value::Regex {
            pattern: p.into(),
            flags: RegexFlags::default(),
        };
        assert_eq!(
            apply(Modifier::Contains, r("ab"), l()).unwrap(),
            r(".*ab.*")
        );
        assert_eq!(
            apply(Modifier::Contains, r("^ab$"), l()).unwrap(),
            r("^ab$")
        );
        assert_eq!(
            apply(Modifier::StartsWith, r("ab"), l()).unwrap(),
            r("ab.*")
        );
        assert_eq!(apply(Modifier::EndsWith, r("ab"), l()).unwrap(), r(".*ab"));
    }

    #[test]
    fn base64_and_offsets() {
        let v = apply(Modifier::Base64, s("spinstall0.aspx"), l()).unwrap();
        assert_eq!(
            v,
            Value::string(SigmaString::literal("c3BpbnN0YWxsMC5hc3B4"))
        );
        assert_eq!(base64_offsets(b"http"), vec!["aHR0c", "h0dH", "odHRw"]);
        let wide = apply(Modifier::Wide, s("ping"), l()).unwrap();
        let v = apply(Modifier::Base64Offset, wide, l()).unwrap();
        let Value::Expansion { values } = v else {
            panic!()
        };
        let texts: Vec<String> = values
            .iter()
            .map(|v| match v {
                Value::String { value, .. } => value.as_plain().unwrap(),
                _ => panic!(),
            })
            .collect();
        assert_eq!(texts, vec!["cABpAG4AZw", "AAaQBuAGcA", "wAGkAbgBnA"]);
        assert!(apply(Modifier::Base64, s("a*"), l()).is_err());
    }

    #[test]
    fn utf16_encoders() {
        let v = apply(Modifier::Utf16, s("cmd"), l()).unwrap();
        let v = apply(Modifier::Base64, v, l()).unwrap();
        assert_eq!(v, Value::string(SigmaString::literal("//5jAG0AZAA=")));
        let v = apply(Modifier::Utf16Be, s("a"), l()).unwrap();
        assert_eq!(v, Value::string(SigmaString::literal("\0a")));
        assert!(apply(Modifier::Wide, s("é"), l()).is_err());
    }

    #[test]
    fn windash_positions() {
        let texts = |v: &str| -> Vec<String> {
            windash_variants(&SigmaString::parse(v), l())
                .unwrap()
                .iter()
                .map(|s| s.to_string())
                .collect()
        };
        assert_eq!(
            texts(" -enc "),
            vec![" -enc ", " /enc ", " –enc ", " —enc ", " ―enc "]
        );
        assert_eq!(texts("x-y"), vec!["x-y"]);
        assert_eq!(texts("-*"), vec!["-*"]);
        assert_eq!(texts("--force").len(), 5);
        assert_eq!(texts("--force")[1], "-/force");
        assert_eq!(texts("http://x")[0], "http:/-x");
        assert_eq!(texts(" -a -b").len(), 25);
        assert_eq!(texts(" -a -b")[1], " -a /b");
    }

    #[test]
    fn expand_placeholders() {
        let v = apply(Modifier::Expand, s(r"%Admins%\%x%"), l()).unwrap();
        let Value::String { value, .. } = v else {
            panic!()
        };
        assert_eq!(
            value.parts,
            vec![
                StrPart::Placeholder("Admins".into()),
                StrPart::Literal("%x%".into())
            ]
        );
    }

    #[test]
    fn cidr_validation() {
        assert!(parse_cidr("10.0.0.0/8", l()).is_ok());
        assert!(parse_cidr("fe80::/10", l()).is_ok());
        assert!(parse_cidr("10.0.0.1", l()).is_ok());
        let e = parse_cidr("10.0.0.1/8", l()).unwrap_err();
        assert!(e.message.contains("host bits"));
        assert!(parse_cidr("10.0.0/8", l()).is_err());
    }

    #[test]
    fn type_errors() {
        let n = Value::Number {
            value: Number::Int(5),
        };
        assert_eq!(
            apply(Modifier::Contains, n.clone(), l()).unwrap_err().kind,
            ErrorKind::ModifierChain
        );
        assert!(apply(Modifier::Gt, s("5"), l()).is_err());
        assert!(apply(Modifier::IgnoreCase, s("a"), l()).is_err());
        assert!(matches!(
            apply(Modifier::Gt, apply(Modifier::Hour, n, l()).unwrap(), l()).unwrap(),
            Value::Compare {
                part: Some(TimePart::Hour),
                ..
            }
        ));
    }
}
