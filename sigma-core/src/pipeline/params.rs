//! Reading the parameters of a pipeline YAML mapping with located errors.

use std::path::{Path, PathBuf};

use crate::error::{ErrorKind, SigmaError};
use crate::yaml::{Location, YamlNode, YamlValue};

/// Builds a pipeline error at a location, with the file when known.
pub(crate) fn perr(file: Option<&Path>, loc: Location, msg: impl Into<String>) -> SigmaError {
    let e = SigmaError::new(ErrorKind::Pipeline, loc, msg);
    match file {
        Some(f) => e.with_file(PathBuf::from(f)),
        None => e,
    }
}

/// A mapping node being read: remembers which keys were consumed so that
/// unknown keys can be reported.
pub(crate) struct Params<'a> {
    pub node: &'a YamlNode<'a>,
    pub file: Option<&'a Path>,
    /// What is being read, for messages ("transformation 'add_condition'").
    pub what: String,
    used: Vec<String>,
}

impl<'a> Params<'a> {
    /// Wraps a node that must be a mapping.
    pub fn new(
        node: &'a YamlNode<'a>,
        file: Option<&'a Path>,
        what: impl Into<String>,
    ) -> Result<Self, SigmaError> {
        let what = what.into();
        if node.as_map().is_none() {
            return Err(perr(
                file,
                node.location,
                format!("{what} must be a mapping, found a {}", node.type_name()),
            ));
        }
        Ok(Params {
            node,
            file,
            what,
            used: Vec::new(),
        })
    }

    /// An error at a location.
    pub fn err(&self, loc: Location, msg: impl Into<String>) -> SigmaError {
        perr(self.file, loc, msg)
    }

    /// The raw node of a key, marking it as used.
    pub fn get(&mut self, key: &str) -> Option<&'a YamlNode<'a>> {
        self.used.push(key.to_string());
        self.node.get(key)
    }

    /// Marks keys as used without reading them.
    pub fn ignore(&mut self, keys: &[&str]) {
        self.used.extend(keys.iter().map(|k| k.to_string()));
    }

    /// A required key.
    pub fn req(&mut self, key: &str) -> Result<&'a YamlNode<'a>, SigmaError> {
        match self.get(key) {
            Some(n) => Ok(n),
            None => Err(self.err(
                self.node.location,
                format!("{} needs the parameter '{key}'", self.what),
            )),
        }
    }

    /// An optional string (numbers and booleans are accepted as text).
    pub fn opt_str(&mut self, key: &str) -> Result<Option<String>, SigmaError> {
        match self.get(key) {
            None => Ok(None),
            Some(n) if n.value == YamlValue::Null => Ok(None),
            Some(n) => n.scalar_text().map(Some).ok_or_else(|| {
                self.err(
                    n.location,
                    format!(
                        "'{key}' of {} must be a string, found a {}",
                        self.what,
                        n.type_name()
                    ),
                )
            }),
        }
    }

    /// A required string.
    pub fn req_str(&mut self, key: &str) -> Result<String, SigmaError> {
        let loc = self.node.location;
        match self.opt_str(key)? {
            Some(s) => Ok(s),
            None => Err(self.err(loc, format!("{} needs the parameter '{key}'", self.what))),
        }
    }

    /// An optional boolean with a default.
    pub fn bool_or(&mut self, key: &str, default: bool) -> Result<bool, SigmaError> {
        match self.get(key) {
            None => Ok(default),
            Some(n) => match n.value {
                YamlValue::Bool(b) => Ok(b),
                YamlValue::Null => Ok(default),
                _ => Err(self.err(
                    n.location,
                    format!(
                        "'{key}' of {} must be true or false, found a {}",
                        self.what,
                        n.type_name()
                    ),
                )),
            },
        }
    }

    /// An optional string or list of strings.
    pub fn opt_str_list(&mut self, key: &str) -> Result<Option<Vec<String>>, SigmaError> {
        match self.get(key) {
            None => Ok(None),
            Some(n) if n.value == YamlValue::Null => Ok(None),
            Some(n) => str_list(n, self.file, &format!("'{key}' of {}", self.what)).map(Some),
        }
    }

    /// Fails on keys that were not consumed.
    pub fn finish(self) -> Result<(), SigmaError> {
        for (k, _) in self.node.as_map().unwrap_or_default() {
            let name = k.scalar_text().unwrap_or_default();
            if !self.used.contains(&name) {
                return Err(perr(
                    self.file,
                    k.location,
                    format!("unknown parameter '{name}' in {}", self.what),
                ));
            }
        }
        Ok(())
    }
}

/// A string or a list of strings (scalars accepted as text).
pub(crate) fn str_list(
    n: &YamlNode,
    file: Option<&Path>,
    what: &str,
) -> Result<Vec<String>, SigmaError> {
    let bad = |m: &YamlNode| {
        perr(
            file,
            m.location,
            format!(
                "{what} must be a string or a list of strings, found a {}",
                m.type_name()
            ),
        )
    };
    match &n.value {
        YamlValue::Seq(items) => items
            .iter()
            .map(|i| i.scalar_text().ok_or_else(|| bad(i)))
            .collect(),
        _ => n.scalar_text().map(|s| vec![s]).ok_or_else(|| bad(n)),
    }
}

/// A mapping from strings to a string or a list of strings; the flag says
/// whether a list was written (pySigma builds different trees for a
/// one-element list and a plain string).
pub(crate) fn str_map(
    n: &YamlNode,
    file: Option<&Path>,
    what: &str,
) -> Result<Vec<(String, Vec<String>, bool)>, SigmaError> {
    let Some(entries) = n.as_map() else {
        return Err(perr(
            file,
            n.location,
            format!("{what} must be a mapping, found a {}", n.type_name()),
        ));
    };
    let mut out = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        let Some(key) = k.scalar_text() else {
            return Err(perr(
                file,
                k.location,
                format!("the keys of {what} must be strings"),
            ));
        };
        let is_list = matches!(v.value, YamlValue::Seq(_));
        out.push((
            key.clone(),
            str_list(v, file, &format!("the value of '{key}' in {what}"))?,
            is_list,
        ));
    }
    Ok(out)
}
