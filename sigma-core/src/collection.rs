//! Loading files and folders into a [`RuleSet`].
//!
//! Loading never stops at the first problem: every file is read, every good
//! document becomes a [`Document`], and every problem becomes a
//! [`SigmaError`] with its file and location. Multi-document files follow
//! pySigma's `action: global / reset / repeat` semantics.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{ErrorKind, SigmaError};
use crate::rule::{self, CorrelationRule, Document, FilterRule, FilterTarget, Origin, SigmaRule};
use crate::yaml::{self, Location, YamlNode, YamlValue};

/// The largest rule file we read (a Sigma rule is a few kilobytes; the
/// biggest corpus file is about 300 KB).
pub const MAX_RULE_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Rules, correlations and filters loaded from files, plus every error.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RuleSet {
    /// Loaded documents, in load order.
    pub documents: Vec<Document>,
    /// Problems found, in load order.
    pub errors: Vec<SigmaError>,
    /// Number of files read.
    pub files: usize,
}

impl RuleSet {
    /// Detection rules.
    pub fn rules(&self) -> impl Iterator<Item = &SigmaRule> {
        self.documents.iter().filter_map(|d| match d {
            Document::Rule(r) => Some(r),
            _ => None,
        })
    }

    /// Correlation rules.
    pub fn correlations(&self) -> impl Iterator<Item = &CorrelationRule> {
        self.documents.iter().filter_map(|d| match d {
            Document::Correlation(r) => Some(r),
            _ => None,
        })
    }

    /// Filters.
    pub fn filters(&self) -> impl Iterator<Item = &FilterRule> {
        self.documents.iter().filter_map(|d| match d {
            Document::Filter(r) => Some(r),
            _ => None,
        })
    }

    /// Finds a document by id, then by name (as correlation references do).
    pub fn find(&self, reference: &str) -> Option<&Document> {
        self.documents
            .iter()
            .find(|d| d.meta().id.as_deref() == Some(reference))
            .or_else(|| {
                self.documents
                    .iter()
                    .find(|d| d.meta().name.as_deref() == Some(reference))
            })
    }

    /// The filters that apply to a rule: its log source is contained in the
    /// filter's, and the filter targets any rule or names this one.
    pub fn filters_for<'a>(
        &'a self,
        rule: &'a SigmaRule,
    ) -> impl Iterator<Item = &'a FilterRule> + 'a {
        self.filters().filter(move |f| {
            f.logsource.contains(&rule.logsource)
                && match &f.target {
                    FilterTarget::Any => true,
                    FilterTarget::Rules(list) => list.iter().any(|r| {
                        Some(r.as_str()) == rule.meta.id.as_deref()
                            || Some(r.as_str()) == rule.meta.name.as_deref()
                    }),
                }
        })
    }

    /// Adds the documents and errors of another set.
    pub fn extend(&mut self, other: RuleSet) {
        self.documents.extend(other.documents);
        self.errors.extend(other.errors);
        self.files += other.files;
    }

    /// Checks that every correlation references existing rules, and adds an
    /// error for each one that does not (the correlation is removed).
    pub fn resolve_references(&mut self) {
        let mut bad = Vec::new();
        for (i, d) in self.documents.iter().enumerate() {
            if let Document::Correlation(c) = d {
                for r in &c.correlation.rules {
                    if self.find(r).is_none() {
                        bad.push((
                            i,
                            SigmaError::new(
                                ErrorKind::Collection,
                                c.correlation.location,
                                format!(
                                    "correlation '{}' refers to rule '{r}', which was not loaded",
                                    c.meta.title
                                ),
                            )
                            .with_file(c.origin.file.clone().unwrap_or_default()),
                        ));
                    }
                }
            }
        }
        let mut removed: Vec<usize> = bad.iter().map(|(i, _)| *i).collect();
        removed.dedup();
        for i in removed.into_iter().rev() {
            self.documents.remove(i);
        }
        self.errors.extend(bad.into_iter().map(|(_, e)| e));
    }
}

/// Parses the text of one rule file (any number of YAML documents).
pub fn parse_str(text: &str, file: Option<&Path>) -> RuleSet {
    let mut set = RuleSet {
        files: 1,
        ..RuleSet::default()
    };
    let with_file = |e: SigmaError| match file {
        Some(f) => e.with_file(f),
        None => e,
    };
    let docs = match yaml::parse_documents(text) {
        Ok(d) => d,
        Err(e) => {
            set.errors.push(with_file(SigmaError::new(
                ErrorKind::Yaml,
                e.location,
                format!("invalid YAML: {}", e.message),
            )));
            return set;
        }
    };
    let mut global: Option<YamlNode> = None;
    let mut previous: Option<YamlNode> = None;
    let count = docs.len();
    for (index, doc) in docs.into_iter().enumerate() {
        if doc.as_map().is_none() {
            set.errors.push(with_file(SigmaError::new(
                ErrorKind::WrongType,
                doc.location,
                format!(
                    "a Sigma document must be a mapping, found a {}",
                    doc.type_name()
                ),
            )));
            continue;
        }
        let origin = Origin {
            file: file.map(Path::to_path_buf),
            document: index,
            location: doc.location,
        };
        let action = doc.get("action").and_then(|a| a.scalar_text());
        let doc = match action.as_deref() {
            Some("global") => {
                global = Some(without_key(&doc, "action"));
                continue;
            }
            Some("reset") => {
                global = None;
                continue;
            }
            Some("repeat") => match &previous {
                Some(prev) => deep_merge(prev, &without_key(&doc, "action")),
                None => {
                    set.errors.push(with_file(SigmaError::new(
                        ErrorKind::Collection,
                        doc.location,
                        "'action: repeat' without a previous rule to repeat",
                    )));
                    continue;
                }
            },
            Some(other) => {
                set.errors.push(with_file(SigmaError::new(
                    ErrorKind::Collection,
                    doc.get("action").map_or(doc.location, |a| a.location),
                    format!("unknown action '{other}' (expected global, reset or repeat)"),
                )));
                continue;
            }
            None => doc,
        };
        let result = if doc.get("correlation").is_some() {
            rule::parse_correlation(&doc, origin).map(Document::Correlation)
        } else if doc.get("filter").is_some() {
            rule::parse_filter(&doc, origin).map(Document::Filter)
        } else {
            // pySigma: the global document wins on scalar conflicts.
            let merged = match &global {
                Some(g) => deep_merge(&doc, g),
                None => doc,
            };
            // Only a later `action: repeat` document reads `previous`; the
            // last document of a file need not be copied for it.
            if index + 1 < count {
                previous = Some(merged.clone());
            }
            rule::parse_rule(&merged, origin).map(Document::Rule)
        };
        match result {
            Ok(d) => set.documents.push(d),
            Err(errors) => set.errors.extend(errors.into_iter().map(with_file)),
        }
    }
    set
}

fn without_key<'a>(doc: &YamlNode<'a>, key: &str) -> YamlNode<'a> {
    match &doc.value {
        YamlValue::Map(entries) => YamlNode::new(
            YamlValue::Map(
                entries
                    .iter()
                    .filter(|(k, _)| k.as_str() != Some(key))
                    .cloned()
                    .collect(),
            ),
            doc.location,
        ),
        _ => doc.clone(),
    }
}

/// Merges `over` into `base`: mappings merge recursively, anything else in
/// `over` replaces what `base` has.
pub fn deep_merge<'a>(base: &YamlNode<'a>, over: &YamlNode<'a>) -> YamlNode<'a> {
    match (&base.value, &over.value) {
        (YamlValue::Map(b), YamlValue::Map(o)) => {
            let mut out: Vec<(YamlNode<'a>, YamlNode<'a>)> = b.clone();
            for (ok, ov) in o {
                if let Some(slot) = out.iter_mut().find(|(bk, _)| bk.value == ok.value) {
                    slot.1 = deep_merge(&slot.1, ov);
                } else {
                    out.push((ok.clone(), ov.clone()));
                }
            }
            YamlNode::new(YamlValue::Map(out), base.location)
        }
        _ => over.clone(),
    }
}

/// Reads and parses one file.
pub fn load_file(path: &Path) -> RuleSet {
    let fail = |kind, msg: String| RuleSet {
        files: 1,
        errors: vec![SigmaError::new(kind, Location::default(), msg).with_file(path)],
        ..RuleSet::default()
    };
    // One open and one fstat per file: the size check and the read use the
    // same descriptor instead of looking the path up twice. On any I/O
    // error, the path-based sequence runs again so that the error reported
    // is exactly the one it gives.
    let quick = || -> std::io::Result<Result<Vec<u8>, u64>> {
        use std::io::Read;
        let mut file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        if len > MAX_RULE_FILE_BYTES {
            return Ok(Err(len));
        }
        // Through `take`: `File::read_to_end` would ask the descriptor for
        // its size and position again (an fstat and an lseek per file,
        // 4,800 system calls for the corpus `rules/windows` folder).
        let mut bytes = Vec::with_capacity(len as usize + 1);
        (&mut file)
            .take(MAX_RULE_FILE_BYTES + 1)
            .read_to_end(&mut bytes)?;
        if bytes.len() as u64 > MAX_RULE_FILE_BYTES {
            return Ok(Err(bytes.len() as u64));
        }
        Ok(Ok(bytes))
    };
    let careful = || -> std::io::Result<Result<Vec<u8>, u64>> {
        match std::fs::metadata(path)?.len() {
            len if len > MAX_RULE_FILE_BYTES => Ok(Err(len)),
            _ => std::fs::read(path).map(Ok),
        }
    };
    match quick().or_else(|_| careful()) {
        Ok(Err(len)) => fail(
            ErrorKind::Io,
            format!(
                "file is {} bytes, larger than the {} byte limit for rule files",
                len, MAX_RULE_FILE_BYTES
            ),
        ),
        Ok(Ok(bytes)) => match String::from_utf8(bytes) {
            Ok(text) => parse_str(text.strip_prefix('\u{feff}').unwrap_or(&text), Some(path)),
            Err(e) => {
                let off = e.utf8_error().valid_up_to();
                let before = &e.as_bytes()[..off];
                let line = before.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
                let col = (off
                    - before
                        .iter()
                        .rposition(|&b| b == b'\n')
                        .map_or(0, |p| p + 1)) as u32
                    + 1;
                RuleSet {
                    files: 1,
                    errors: vec![SigmaError::new(
                        ErrorKind::Yaml,
                        Location::new(line, col),
                        "file is not valid UTF-8",
                    )
                    .with_file(path)],
                    ..RuleSet::default()
                }
            }
        },
        Err(e) => fail(ErrorKind::Io, format!("cannot read file: {e}")),
    }
}

/// Lists the rule files (`*.yml`, `*.yaml`) under a path, sorted, following
/// no symlinks out of loops. A file path is returned as is.
pub fn rule_files(path: &Path) -> Result<Vec<PathBuf>, SigmaError> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !path.exists() {
        return Err(SigmaError::new(
            ErrorKind::Io,
            Location::default(),
            "no such file or directory",
        )
        .with_file(path));
    }
    let mut files = Vec::new();
    // Siblings are sorted by name. Their paths are the same directory path
    // joined with the name, so comparing whole paths orders them exactly as
    // comparing names does, without re-parsing every path into components
    // at each comparison (what `sort_by_file_name` does).
    for entry in walkdir::WalkDir::new(path)
        .follow_links(true)
        .sort_by(|a, b| a.path().as_os_str().cmp(b.path().as_os_str()))
    {
        match entry {
            Ok(e) => {
                let p = e.path();
                if e.file_type().is_file()
                    && matches!(p.extension().and_then(|x| x.to_str()), Some("yml" | "yaml"))
                {
                    files.push(p.to_path_buf());
                }
            }
            Err(e) => {
                return Err(SigmaError::new(
                    ErrorKind::Io,
                    Location::default(),
                    format!("cannot walk directory: {e}"),
                )
                .with_file(e.path().unwrap_or(path)))
            }
        }
    }
    Ok(files)
}

/// Loads every rule file under the given files and folders. Correlation
/// references are resolved across all of them.
pub fn load_paths<P: AsRef<Path>>(paths: &[P]) -> RuleSet {
    use rayon::prelude::*;
    let mut set = RuleSet::default();
    for p in paths {
        match rule_files(p.as_ref()) {
            Ok(files) => {
                // Files are parsed in parallel; results keep file order.
                let parsed: Vec<RuleSet> = files.par_iter().map(|f| load_file(f)).collect();
                for one in parsed {
                    set.extend(one);
                }
            }
            Err(e) => set.errors.push(e),
        }
    }
    set.resolve_references();
    set
}
