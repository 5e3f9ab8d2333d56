//! Errors with a file, a line, a column and a plain-words message.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::yaml::Location;

/// What kind of problem an error describes. Stable, so tools can filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The file could not be read.
    Io,
    /// The YAML is malformed or exceeded a resource budget.
    Yaml,
    /// A required attribute is missing.
    MissingField,
    /// An attribute has the wrong YAML type.
    WrongType,
    /// An attribute has an invalid value (bad UUID, unknown level, …).
    InvalidMetadata,
    /// The logsource is invalid.
    Logsource,
    /// The detection section is malformed.
    Detection,
    /// A modifier name is unknown.
    UnknownModifier,
    /// A modifier cannot be applied at this point of the chain or to this
    /// value type.
    ModifierChain,
    /// A value is invalid for its modifiers (wildcard in base64, …).
    InvalidValue,
    /// A `re` value does not compile.
    InvalidRegex,
    /// A `cidr` value is not a valid network.
    InvalidCidr,
    /// The condition does not parse.
    Condition,
    /// The condition names an identifier that is not defined.
    UndefinedIdentifier,
    /// A `1 of`/`all of` pattern matches no identifier.
    EmptySelector,
    /// A correlation rule is malformed.
    Correlation,
    /// A filter document is malformed.
    Filter,
    /// A multi-document collection is malformed (`action`, references).
    Collection,
    /// A placeholder could not be resolved.
    Placeholder,
    /// A processing pipeline is malformed, or one of its transformations
    /// refused a rule (`rule_failure`, `detection_item_failure`, …).
    Pipeline,
}

/// A problem found while loading rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SigmaError {
    /// The file, when known.
    pub file: Option<PathBuf>,
    /// Line and column (0:0 when unknown; then [`Display`](fmt::Display)
    /// leaves them out).
    pub location: Location,
    /// The kind of problem.
    pub kind: ErrorKind,
    /// The problem in plain words.
    pub message: String,
}

impl SigmaError {
    /// Builds an error without a file (the loader fills it in).
    pub fn new(kind: ErrorKind, location: Location, message: impl Into<String>) -> Self {
        SigmaError {
            file: None,
            location,
            kind,
            message: message.into(),
        }
    }

    /// Sets the file.
    pub fn with_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.file = Some(file.into());
        self
    }
}

impl fmt::Display for SigmaError {
    /// `FILE:LINE:COL: error: MESSAGE`, or `FILE: error: MESSAGE` when the
    /// position is unknown (line 0: a file that cannot be read, …).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self
            .file
            .as_ref()
            .map_or_else(|| "<input>".to_string(), |p| p.display().to_string());
        if self.location.line == 0 {
            return write!(f, "{file}: error: {}", self.message);
        }
        write!(
            f,
            "{}:{}:{}: error: {}",
            file, self.location.line, self.location.column, self.message
        )
    }
}

impl std::error::Error for SigmaError {}

/// Result alias for this crate.
pub type Result<T, E = SigmaError> = std::result::Result<T, E>;
