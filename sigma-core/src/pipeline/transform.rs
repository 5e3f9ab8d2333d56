//! Transformations: the pySigma identifiers, their parameters and parsing.
//! Their effect on a rule is implemented in `apply.rs`.

use std::path::Path;

use regex::Regex;
use serde_json::Value as J;

use super::params::{str_list, str_map, Params};
use super::ProcessingItem;
use crate::value::{Number, SigmaString, Value};
use crate::yaml::{YamlNode, YamlValue};
use crate::SigmaError;

/// A field name target: one name (`Image: NewProcessName`) or a list
/// (`Image: [a, b]`, an OR of the fields; a one-element list still makes a
/// group, as in pySigma).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldTarget {
    /// A single name.
    One(String),
    /// A list of names.
    Many(Vec<String>),
}

impl FieldTarget {
    fn from_parts(names: Vec<String>, is_list: bool) -> FieldTarget {
        match (is_list, names.len()) {
            (false, 1) => FieldTarget::One(names.into_iter().next().unwrap_or_default()),
            _ => FieldTarget::Many(names),
        }
    }

    /// The names.
    pub fn names(&self) -> Vec<String> {
        match self {
            FieldTarget::One(n) => vec![n.clone()],
            FieldTarget::Many(v) => v.clone(),
        }
    }

    fn map(&self, f: impl Fn(&str) -> String) -> FieldTarget {
        match self {
            FieldTarget::One(n) => FieldTarget::One(f(n)),
            FieldTarget::Many(v) => FieldTarget::Many(v.iter().map(|n| f(n)).collect()),
        }
    }
}

/// `case` methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseMethod {
    /// Lower case.
    Lower,
    /// Upper case.
    Upper,
    /// snake_case.
    SnakeCase,
}

/// `regex` transformation methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegexMethod {
    /// Escaped text, case-sensitive.
    Plain,
    /// Escaped text with the `i` flag.
    IgnoreCaseFlag,
    /// Every letter as `[aA]`.
    IgnoreCaseBrackets,
}

/// A transformation with its parameters.
#[derive(Debug, Clone)]
pub enum Transformation {
    /// `field_name_mapping`: rename fields (a list means an OR of fields).
    FieldNameMapping {
        /// Source name → target(s), in file order.
        mapping: Vec<(String, FieldTarget)>,
        /// The target of the `null` key: keywords become field items (their
        /// string values wrapped in `*`, as pySigma does).
        keywords: Option<FieldTarget>,
    },
    /// `field_name_prefix_mapping`: rename by prefix (first match wins).
    FieldNamePrefixMapping {
        /// Source prefix → target prefix(es).
        mapping: Vec<(String, FieldTarget)>,
    },
    /// `field_name_prefix`: prepend a text to every field name.
    FieldNamePrefix {
        /// The prefix.
        prefix: String,
    },
    /// `field_name_suffix`: append a text to every field name.
    FieldNameSuffix {
        /// The suffix.
        suffix: String,
    },
    /// `drop_detection_item`: remove matching items.
    DropDetectionItem,
    /// `hashes_fields`: split `Hashes: SHA256=…` into per-algorithm fields.
    HashesFields {
        /// Allowed algorithms (upper case).
        valid_hash_algos: Vec<String>,
        /// Prefix of the new field names.
        field_prefix: String,
        /// Drop the algorithm name from the field name.
        drop_algo_prefix: bool,
        /// Fields to parse.
        field_to_parse: Vec<String>,
    },
    /// `extract_fields`: split string values into fields with a regex's
    /// named groups (`(?P<user>.*)@(?P<domain>.*)`).
    ExtractFields {
        /// The regex (at least one named group).
        regex: Regex,
        /// Prefix of the new field names (`prefix.group`).
        field_prefix: Option<String>,
        /// Keep values that do not match (else they are dropped).
        preserve_unmatched: bool,
    },
    /// `add_condition`: AND a new detection to every condition.
    AddCondition {
        /// The detection definition, as written: a mapping, or (a sigil
        /// extension) a list of mappings, which is an OR of them.
        conditions: YamlNode<'static>,
        /// The identifier of the new detection (generated when absent).
        name: Option<String>,
        /// Substitute `$category`, `$product`, `$service` in values.
        template: bool,
        /// `not <new> and (<condition>)`.
        negated: bool,
    },
    /// `change_logsource`: replace the rule's logsource.
    ChangeLogsource {
        /// New category.
        category: Option<String>,
        /// New product.
        product: Option<String>,
        /// New service.
        service: Option<String>,
    },
    /// `add_field`: append to the rule's `fields`.
    AddField {
        /// The fields.
        fields: Vec<String>,
    },
    /// `remove_field`: remove from the rule's `fields`.
    RemoveField {
        /// The fields.
        fields: Vec<String>,
    },
    /// `set_field`: replace the rule's `fields`.
    SetField {
        /// The fields.
        fields: Vec<String>,
    },
    /// `replace_string`: regex substitution in string values.
    ReplaceString {
        /// The pattern.
        regex: Regex,
        /// The replacement in Rust `regex` syntax (`\1` was translated).
        replacement: String,
        /// Only touch literal parts, keep wildcards.
        skip_special: bool,
        /// With `skip_special`: re-read wildcards in the replaced text.
        interpret_special: bool,
    },
    /// `map_string`: replace whole string values.
    MapString {
        /// Value → replacement(s).
        mapping: Vec<(String, Vec<String>)>,
    },
    /// `regex`: turn string values into regular expressions.
    Regex {
        /// How case-insensitivity is expressed.
        method: RegexMethod,
    },
    /// `set_value`: replace every value.
    SetValue {
        /// The new value.
        value: Value,
    },
    /// `convert_type`: numbers to strings (`str`) or strings to numbers (`num`).
    ConvertType {
        /// True for `num`.
        to_number: bool,
    },
    /// `case`: change the case of string values.
    Case {
        /// The method.
        method: CaseMethod,
    },
    /// `set_state`: set a pipeline state value (read by backends).
    SetState {
        /// The key.
        key: String,
        /// The value.
        val: J,
    },
    /// `set_custom_attribute`: set a custom rule attribute.
    SetCustomAttribute {
        /// The attribute.
        attribute: String,
        /// The value.
        value: J,
    },
    /// `rule_failure`: refuse the rule.
    RuleFailure {
        /// The message.
        message: String,
    },
    /// `detection_item_failure`: refuse the rule when a matching item exists.
    DetectionItemFailure {
        /// The message.
        message: String,
    },
    /// `strict_field_mapping_failure`: refuse rules with unmapped fields.
    StrictFieldMappingFailure,
    /// `wildcard_placeholders`: placeholders become `*`.
    WildcardPlaceholders {
        /// Only these placeholders.
        include: Option<Vec<String>>,
        /// All but these.
        exclude: Option<Vec<String>>,
    },
    /// `value_placeholders`: placeholders become the values of the
    /// pipeline variable of the same name.
    ValuePlaceholders {
        /// Only these placeholders.
        include: Option<Vec<String>>,
        /// All but these.
        exclude: Option<Vec<String>>,
    },
    /// `query_expression_placeholders`: kept as data; applying it refuses
    /// the rule (sigma-core has no raw query-expression value yet).
    QueryExpressionPlaceholders {
        /// The expression template.
        expression: String,
        /// Placeholder → name used in the expression.
        mapping: Vec<(String, String)>,
        /// Only these placeholders.
        include: Option<Vec<String>>,
        /// All but these.
        exclude: Option<Vec<String>>,
    },
    /// `nest`: a nested list of processing items.
    Nest {
        /// The nested items.
        items: Vec<ProcessingItem>,
    },
}

/// Every transformation identifier this module understands.
pub const TRANSFORMATION_TYPES: &[&str] = &[
    "field_name_mapping",
    "field_name_prefix_mapping",
    "field_name_prefix",
    "field_name_suffix",
    "drop_detection_item",
    "hashes_fields",
    "extract_fields",
    "add_condition",
    "change_logsource",
    "add_field",
    "remove_field",
    "set_field",
    "replace_string",
    "map_string",
    "regex",
    "set_value",
    "convert_type",
    "case",
    "set_state",
    "set_custom_attribute",
    "rule_failure",
    "detection_item_failure",
    "strict_field_mapping_failure",
    "wildcard_placeholders",
    "value_placeholders",
    "query_expression_placeholders",
    "nest",
];

fn targets(
    n: &YamlNode,
    file: Option<&Path>,
    what: &str,
) -> Result<Vec<(String, FieldTarget)>, SigmaError> {
    Ok(str_map(n, file, what)?
        .into_iter()
        .map(|(k, v, l)| (k, FieldTarget::from_parts(v, l)))
        .collect())
}

/// Translates a Python `re.sub` replacement (`\1`, `\g<name>`) into the
/// `regex` crate syntax (`${1}`, `${name}`, `$$`).
pub(crate) fn python_replacement(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    let mut num = String::new();
                    while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                        num.push(d);
                        chars.next();
                    }
                    out.push_str(&format!("${{{num}}}"));
                }
                Some('g') => {
                    chars.next();
                    let mut name = String::new();
                    if chars.peek() == Some(&'<') {
                        chars.next();
                        for d in chars.by_ref() {
                            if d == '>' {
                                break;
                            }
                            name.push(d);
                        }
                    }
                    out.push_str(&format!("${{{name}}}"));
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some('t') => {
                    chars.next();
                    out.push('\t');
                }
                _ => out.push('\\'),
            },
            other => out.push(other),
        }
    }
    out
}

/// Parses one processing item (for `nest`).
pub(crate) type ItemParser = dyn Fn(&YamlNode, Option<&Path>) -> Result<ProcessingItem, SigmaError>;

/// Parses the transformation part of a processing item (the `type` and its
/// parameters). `parse_item` parses nested items of `nest`.
pub(crate) fn parse_transformation(
    p: &mut Params,
    parse_item: &ItemParser,
) -> Result<Transformation, SigmaError> {
    let file = p.file;
    let ty_node = p.req("type")?;
    let Some(ty) = ty_node.as_str().map(str::to_string) else {
        return Err(p.err(
            ty_node.location,
            "the transformation 'type' must be a string",
        ));
    };
    p.what = format!("transformation '{ty}'");
    let what = p.what.clone();
    let t = match ty.as_str() {
        "field_name_mapping" => {
            let m = p.req("mapping")?;
            let keywords = match m
                .as_map()
                .unwrap_or_default()
                .iter()
                .find(|(k, _)| k.value == YamlValue::Null)
            {
                Some((_, v)) => Some(FieldTarget::from_parts(
                    str_list(v, file, &format!("the keyword target of {what}"))?,
                    matches!(v.value, YamlValue::Seq(_)),
                )),
                None => None,
            };
            let named = YamlNode {
                value: YamlValue::Map(
                    m.as_map()
                        .unwrap_or_default()
                        .iter()
                        .filter(|(k, _)| k.value != YamlValue::Null)
                        .cloned()
                        .collect(),
                ),
                ..m.clone()
            };
            let named = if m.as_map().is_some() { &named } else { m };
            Transformation::FieldNameMapping {
                mapping: targets(named, file, &what)?,
                keywords,
            }
        }
        "field_name_prefix_mapping" => Transformation::FieldNamePrefixMapping {
            mapping: targets(p.req("mapping")?, file, &what)?,
        },
        "field_name_prefix" => Transformation::FieldNamePrefix {
            prefix: p.req_str("prefix")?,
        },
        "field_name_suffix" => Transformation::FieldNameSuffix {
            suffix: p.req_str("suffix")?,
        },
        "drop_detection_item" => Transformation::DropDetectionItem,
        "hashes_fields" => Transformation::HashesFields {
            valid_hash_algos: p.opt_str_list("valid_hash_algos")?.unwrap_or_default(),
            field_prefix: p.opt_str("field_prefix")?.unwrap_or_default(),
            drop_algo_prefix: p.bool_or("drop_algo_prefix", false)?,
            field_to_parse: p
                .opt_str_list("field_to_parse")?
                .unwrap_or_else(|| vec!["Hashes".into(), "Hash".into()]),
        },
        "extract_fields" => {
            let rnode = p.req("regex")?;
            let text = rnode.scalar_text().unwrap_or_default();
            let regex = Regex::new(&text).map_err(|e| {
                p.err(
                    rnode.location,
                    format!("invalid regular expression '{text}' in {what}: {e}"),
                )
            })?;
            if regex.capture_names().flatten().next().is_none() {
                return Err(p.err(
                    rnode.location,
                    format!("regular expression '{text}' must contain at least one named group"),
                ));
            }
            Transformation::ExtractFields {
                regex,
                field_prefix: p.opt_str("field_prefix")?,
                preserve_unmatched: p.bool_or("preserve_unmatched", false)?,
            }
        }
        "add_condition" => {
            let c = p.req("conditions")?;
            let list_of_maps = matches!(&c.value, YamlValue::Seq(v) if !v.is_empty() && v.iter().all(|m| m.as_map().is_some()));
            if c.as_map().is_none() && !list_of_maps {
                return Err(p.err(
                    c.location,
                    format!("'conditions' of {what} must be a mapping of fields to values (or a list of such mappings)"),
                ));
            }
            Transformation::AddCondition {
                conditions: c.clone().into_owned(),
                name: p.opt_str("name")?,
                template: p.bool_or("template", false)?,
                negated: p.bool_or("negated", false)?,
            }
        }
        "change_logsource" => Transformation::ChangeLogsource {
            category: p.opt_str("category")?,
            product: p.opt_str("product")?,
            service: p.opt_str("service")?,
        },
        "add_field" => Transformation::AddField {
            fields: str_list(p.req("field")?, file, &what)?,
        },
        "remove_field" => Transformation::RemoveField {
            fields: str_list(p.req("field")?, file, &what)?,
        },
        "set_field" => Transformation::SetField {
            fields: str_list(p.req("fields")?, file, &what)?,
        },
        "replace_string" => {
            let rnode = p.req("regex")?;
            let text = rnode.scalar_text().unwrap_or_default();
            let regex = Regex::new(&text).map_err(|e| {
                p.err(
                    rnode.location,
                    format!("invalid regular expression '{text}' in {what}: {e}"),
                )
            })?;
            Transformation::ReplaceString {
                regex,
                replacement: python_replacement(&p.req_str("replacement")?),
                skip_special: p.bool_or("skip_special", false)?,
                interpret_special: p.bool_or("interpret_special", false)?,
            }
        }
        "map_string" => Transformation::MapString {
            mapping: str_map(p.req("mapping")?, file, &what)?
                .into_iter()
                .map(|(k, v, _)| (k, v))
                .collect(),
        },
        "regex" => Transformation::Regex {
            method: match p.opt_str("method")?.as_deref() {
                None | Some("ignore_case_brackets") => RegexMethod::IgnoreCaseBrackets,
                Some("ignore_case_flag") => RegexMethod::IgnoreCaseFlag,
                Some("plain") => RegexMethod::Plain,
                Some(o) => {
                    return Err(p.err(p.node.location, format!("invalid method '{o}' in {what}")))
                }
            },
        },
        "set_value" => {
            let v = p.req("value")?;
            let force = p.opt_str("force_type")?;
            Transformation::SetValue {
                value: set_value(v, force.as_deref()).map_err(|m| p.err(v.location, m))?,
            }
        }
        "convert_type" => Transformation::ConvertType {
            to_number: match p.req_str("target_type")?.as_str() {
                "str" => false,
                "num" => true,
                o => {
                    return Err(p.err(
                        p.node.location,
                        format!("'target_type' of {what} must be 'str' or 'num', not '{o}'"),
                    ))
                }
            },
        },
        "case" => Transformation::Case {
            method: match p.opt_str("method")?.as_deref() {
                None | Some("lower") => CaseMethod::Lower,
                Some("upper") => CaseMethod::Upper,
                Some("snake_case") => CaseMethod::SnakeCase,
                Some(o) => {
                    return Err(p.err(p.node.location, format!("invalid method '{o}' in {what}")))
                }
            },
        },
        "set_state" => Transformation::SetState {
            key: p.req_str("key")?,
            val: p.req("val")?.to_json(),
        },
        "set_custom_attribute" => Transformation::SetCustomAttribute {
            attribute: p.req_str("attribute")?,
            value: p.req("value")?.to_json(),
        },
        "rule_failure" => Transformation::RuleFailure {
            message: p.req_str("message")?,
        },
        "detection_item_failure" => Transformation::DetectionItemFailure {
            message: p.req_str("message")?,
        },
        "strict_field_mapping_failure" => Transformation::StrictFieldMappingFailure,
        "wildcard_placeholders" | "value_placeholders" | "query_expression_placeholders" => {
            let include = p.opt_str_list("include")?;
            let exclude = p.opt_str_list("exclude")?;
            if include.is_some() && exclude.is_some() {
                return Err(p.err(
                    p.node.location,
                    format!("{what}: 'include' and 'exclude' can only be used exclusively"),
                ));
            }
            match ty.as_str() {
                "wildcard_placeholders" => {
                    Transformation::WildcardPlaceholders { include, exclude }
                }
                "value_placeholders" => Transformation::ValuePlaceholders { include, exclude },
                _ => Transformation::QueryExpressionPlaceholders {
                    expression: p.req_str("expression")?,
                    mapping: match p.get("mapping") {
                        Some(m) => str_map(m, file, &what)?
                            .into_iter()
                            .map(|(k, v, _)| (k, v.into_iter().next().unwrap_or_default()))
                            .collect(),
                        None => Vec::new(),
                    },
                    include,
                    exclude,
                },
            }
        }
        "nest" => {
            let n = p.req("items")?;
            let YamlValue::Seq(list) = &n.value else {
                return Err(p.err(
                    n.location,
                    "'items' of transformation 'nest' must be a list of processing items",
                ));
            };
            Transformation::Nest {
                items: list
                    .iter()
                    .map(|i| parse_item(i, file))
                    .collect::<Result<_, _>>()?,
            }
        }
        other => {
            return Err(p.err(
                ty_node.location,
                format!(
                    "unknown transformation type '{other}' (known: {})",
                    TRANSFORMATION_TYPES.join(", ")
                ),
            ))
        }
    };
    Ok(t)
}

fn set_value(v: &YamlNode, force: Option<&str>) -> Result<Value, String> {
    let text = v.scalar_text();
    match force {
        None => Ok(match &v.value {
            YamlValue::String(s) => Value::string(SigmaString::parse(s)),
            YamlValue::Bool(b) => Value::Bool { value: *b },
            YamlValue::Int(i) => Value::Number {
                value: Number::Int(*i),
            },
            YamlValue::Float(f) => Value::Number {
                value: Number::Float(*f),
            },
            YamlValue::Null => Value::Null,
            _ => {
                return Err(format!(
                    "unsupported value type '{}' for set_value",
                    v.type_name()
                ))
            }
        }),
        Some("str") => match (&v.value, text) {
            (YamlValue::String(_) | YamlValue::Int(_) | YamlValue::Float(_), Some(t)) => {
                Ok(Value::string(SigmaString::parse(&t)))
            }
            _ => Err("force_type 'str' is only allowed for string and numeric values".into()),
        },
        Some("num") => text
            .as_deref()
            .and_then(parse_number)
            .map(|n| Value::Number { value: n })
            .ok_or_else(|| {
                format!(
                    "value '{}' can't be converted to a number",
                    text.unwrap_or_default()
                )
            }),
        Some(o) => Err(format!("invalid force_type '{o}': use 'str' or 'num'")),
    }
}

/// Parses a number the way pySigma's `SigmaNumber` accepts text.
pub(crate) fn parse_number(s: &str) -> Option<Number> {
    let s = s.trim();
    if let Ok(i) = s.parse::<i64>() {
        return Some(Number::Int(i));
    }
    s.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(Number::Float)
}

impl FieldTarget {
    /// Applies a prefix mapping target to the rest of a field name.
    pub(crate) fn with_suffix(&self, rest: &str) -> FieldTarget {
        self.map(|d| format!("{d}{rest}"))
    }
}
