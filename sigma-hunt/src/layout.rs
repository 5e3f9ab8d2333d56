//! Where a Sigma field lives in an event.
//!
//! Sigma rules name fields by their taxonomy name (`Image`, `EventID`,
//! `Provider_Name`), but exported Windows logs come in several JSON shapes:
//!
//! * **nested**: what EVTX-to-JSON converters (the `evtx` crate, Chainsaw,
//!   Hayabusa) write: `Event.System.*`, `Event.EventData.*`, XML attributes
//!   under `#attributes` (`Event.System.Provider.#attributes.Name`) and
//!   element text with attributes under `#text`;
//! * **flat**: System and EventData fields at the top level (`Provider_Name`,
//!   `EventID`, `Channel`, `Image`, ...), as most shippers export them;
//! * **ECS**: Winlogbeat's `winlog.event_data.*`, `winlog.channel`,
//!   `winlog.event_id`, `event.code`.
//!
//! The layout of each event is detected once from its top-level keys, and
//! each field name is compiled once into the list of paths to try for each
//! layout, so reading a field never allocates or splits strings. Dotted names
//! (`userIdentity.arn`) resolve as nested paths, then as a literal key.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// An interned field name: an index into [`Fields`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(pub u32);

/// The JSON shape of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `Event.System` / `Event.EventData` with `#attributes`.
    Nested,
    /// Everything at the top level.
    Flat,
    /// Winlogbeat / Elastic Common Schema (`winlog.*`).
    Ecs,
}

impl Layout {
    /// Detects the layout from the top-level keys of an event.
    pub fn detect(root: &Map<String, Value>) -> Layout {
        if matches!(root.get("Event"), Some(Value::Object(_))) {
            Layout::Nested
        } else if matches!(root.get("winlog"), Some(Value::Object(_))) {
            Layout::Ecs
        } else {
            Layout::Flat
        }
    }
}

/// The only object whose children are walked in order ([`Step::AnyChild`],
/// `Event.UserData.<element>.*`): the sparse parse keeps the positions of
/// its children (see [`crate::engine::sparse`]).
pub(crate) const ORDERED_PARENT: &str = "UserData";

/// One step of a path.
#[derive(Debug, Clone)]
enum Step {
    /// An object key.
    Key(Box<str>),
    /// Any one child object (used for `Event.UserData.<element>.*`).
    AnyChild,
}

type Path = Vec<Step>;

#[derive(Debug, Clone, Default)]
struct Paths {
    nested: Vec<Path>,
    flat: Vec<Path>,
    ecs: Vec<Path>,
}

/// Interned field names and the paths they resolve to in each layout.
#[derive(Debug, Clone, Default)]
pub struct Fields {
    names: Vec<String>,
    index: HashMap<String, FieldId>,
    paths: Vec<Paths>,
}

fn keys(parts: &[&str]) -> Path {
    parts.iter().map(|p| Step::Key((*p).into())).collect()
}

fn dotted(name: &str) -> Option<Vec<&str>> {
    if name.contains('.') && !name.starts_with('.') && !name.ends_with('.') {
        Some(name.split('.').collect())
    } else {
        None
    }
}

/// System fields that Winlogbeat renames.
fn ecs_system(name: &str) -> &'static [&'static [&'static str]] {
    match name {
        "Channel" => &[&["winlog", "channel"]],
        "EventID" => &[&["winlog", "event_id"], &["event", "code"]],
        "Provider_Name" => &[&["winlog", "provider_name"], &["event", "provider"]],
        "Provider_Guid" => &[&["winlog", "provider_guid"]],
        "Computer" => &[&["winlog", "computer_name"], &["host", "name"]],
        "EventRecordID" => &[&["winlog", "record_id"]],
        "Task" => &[&["winlog", "task"]],
        "Opcode" => &[&["winlog", "opcode"]],
        "Keywords" => &[&["winlog", "keywords"]],
        "Version" => &[&["winlog", "version"]],
        "Level" => &[&["log", "level"]],
        "Execution_ProcessID" => &[&["winlog", "process", "pid"]],
        "Execution_ThreadID" => &[&["winlog", "process", "thread", "id"]],
        "Security_UserID" => &[&["winlog", "user", "identifier"]],
        "TimeCreated" | "TimeCreated_SystemTime" => &[&["@timestamp"]],
        _ => &[],
    }
}

/// Flat exports write a few System attributes without the underscore.
fn flat_alias(name: &str) -> Option<&'static str> {
    match name {
        "Execution_ProcessID" => Some("ExecutionProcessID"),
        "Execution_ThreadID" => Some("ExecutionThreadID"),
        "Security_UserID" => Some("UserID"),
        "TimeCreated_SystemTime" => Some("TimeCreated"),
        // Unnamed EventData (`<Data>text</Data>`, `EventData.Data.#text` in
        // the nested layout) ends up as a top-level `#text` when flattened.
        "Data" => Some("#text"),
        _ => None,
    }
}

fn compile_paths(name: &str) -> Paths {
    let mut p = Paths::default();
    let parts = dotted(name);
    // Nested (EVTX JSON).
    p.nested.push(keys(&["Event", "EventData", name]));
    p.nested.push(keys(&["Event", "System", name]));
    if let Some((element, attr)) = name.split_once('_') {
        if !element.is_empty() && !attr.is_empty() && !name.contains('.') {
            p.nested
                .push(keys(&["Event", "System", element, "#attributes", attr]));
        }
    }
    p.nested.push(vec![
        Step::Key("Event".into()),
        Step::Key(ORDERED_PARENT.into()),
        Step::AnyChild,
        Step::Key(name.into()),
    ]);
    if let Some(parts) = &parts {
        let mut full = vec!["Event", "EventData"];
        full.extend(parts.iter().copied());
        p.nested.push(keys(&full));
        p.nested.push(keys(parts));
    }
    p.nested.push(keys(&[name]));
    // Flat.
    p.flat.push(keys(&[name]));
    if let Some(alias) = flat_alias(name) {
        p.flat.push(keys(&[alias]));
    }
    if let Some(parts) = &parts {
        p.flat.push(keys(parts));
    }
    // ECS (Winlogbeat).
    p.ecs.push(keys(&["winlog", "event_data", name]));
    for path in ecs_system(name) {
        p.ecs.push(keys(path));
    }
    if let Some(parts) = &parts {
        p.ecs.push(keys(parts));
    }
    p.ecs.push(keys(&[name]));
    p
}

impl Fields {
    /// An empty table.
    pub fn new() -> Fields {
        Fields::default()
    }

    /// Interns a field name.
    pub fn intern(&mut self, name: &str) -> FieldId {
        if let Some(id) = self.index.get(name) {
            return *id;
        }
        let id = FieldId(self.names.len() as u32);
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), id);
        self.paths.push(compile_paths(name));
        id
    }

    /// The name of an interned field.
    pub fn name(&self, id: FieldId) -> &str {
        self.names.get(id.0 as usize).map_or("", |s| s.as_str())
    }

    /// The number of interned fields.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when no field was interned.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The last key of every path a field is read from, in all layouts
    /// (`Channel`, `channel` for Winlogbeat's `winlog.channel`, ...), or
    /// `None` when a path does not end in a fixed key. The prefilter uses
    /// it to tell, from the raw text, which keys can hold the field.
    pub fn leaf_keys(&self, id: FieldId) -> Option<Vec<&str>> {
        let paths = self.paths.get(id.0 as usize)?;
        let mut out = Vec::new();
        for p in paths.nested.iter().chain(&paths.flat).chain(&paths.ecs) {
            match p.last() {
                Some(Step::Key(k)) => out.push(&**k),
                _ => return None,
            }
        }
        Some(out)
    }

    /// Resolves a field in an event of the given layout. Objects carrying
    /// element text under `#text` (`"EventID": {"#text": 4688, ...}`) resolve
    /// to that text.
    pub fn resolve<'a>(
        &self,
        id: FieldId,
        layout: Layout,
        root: &'a Map<String, Value>,
    ) -> Option<&'a Value> {
        let paths = self.paths.get(id.0 as usize)?;
        let list = match layout {
            Layout::Nested => &paths.nested,
            Layout::Flat => &paths.flat,
            Layout::Ecs => &paths.ecs,
        };
        list.iter().find_map(|p| walk(root, p)).map(unwrap_text)
    }
}

impl Fields {
    /// The object holding the event data fields of a layout.
    pub fn data_map(layout: Layout, root: &Map<String, Value>) -> Option<&Map<String, Value>> {
        let path: &[&str] = match layout {
            Layout::Nested => &["Event", "EventData"],
            Layout::Flat => return Some(root),
            Layout::Ecs => &["winlog", "event_data"],
        };
        match walk_keys(root, path) {
            Some(Value::Object(m)) => Some(m),
            _ => None,
        }
    }

    /// Fallback for event data names written with spaces (`Source Name`):
    /// the Sigma convention is to strip the spaces (`SourceName`).
    pub fn resolve_spaceless<'a>(
        &self,
        id: FieldId,
        data: &'a Map<String, Value>,
    ) -> Option<&'a Value> {
        let name = self.name(id);
        data.iter()
            .find(|(k, _)| k.contains(' ') && k.chars().filter(|c| *c != ' ').eq(name.chars()))
            .map(|(_, v)| unwrap_text(v))
    }
}

fn unwrap_text(v: &Value) -> &Value {
    match v {
        Value::Object(m) => m.get("#text").unwrap_or(v),
        _ => v,
    }
}

fn walk<'a>(root: &'a Map<String, Value>, path: &[Step]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let next = match first {
        Step::Key(k) => root.get(&**k)?,
        Step::AnyChild => {
            // Only descend into the children that are objects; the first
            // one holding the rest of the path wins.
            return root.values().find_map(|v| match v {
                Value::Object(m) if !rest.is_empty() => walk(m, rest),
                _ => None,
            });
        }
    };
    if rest.is_empty() {
        return Some(next);
    }
    match next {
        Value::Object(m) => walk(m, rest),
        _ => None,
    }
}

/// Reads the event timestamp (as written) from any of the three layouts.
pub fn timestamp(layout: Layout, root: &Map<String, Value>) -> Option<&str> {
    timestamp_paths(layout)
        .iter()
        .find_map(|c| match walk_keys(root, c) {
            Some(Value::String(s)) => Some(s.as_str()),
            Some(Value::Object(m)) => m
                .get("#attributes")
                .and_then(|a| a.get("SystemTime"))
                .and_then(|v| v.as_str()),
            _ => None,
        })
}

/// Where [`timestamp`] looks, in order, for each layout.
fn timestamp_paths(layout: Layout) -> &'static [&'static [&'static str]] {
    match layout {
        Layout::Nested => &[
            &[
                "Event",
                "System",
                "TimeCreated",
                "#attributes",
                "SystemTime",
            ],
            &["Event", "System", "TimeCreated"],
        ],
        Layout::Flat => &[
            &["TimeCreated"],
            &["SystemTime"],
            &["TimeCreated_SystemTime"],
            &["@timestamp"],
            &["UtcTime"],
            &["timestamp"],
        ],
        Layout::Ecs => &[&["@timestamp"], &["event", "created"]],
    }
}

/// The last key of every path [`timestamp`] reads, in any layout (the
/// sparse parse keeps their values, see [`crate::engine::sparse`]).
pub(crate) fn timestamp_leaf_keys() -> impl Iterator<Item = &'static str> {
    [Layout::Nested, Layout::Flat, Layout::Ecs]
        .into_iter()
        .flat_map(timestamp_paths)
        .filter_map(|p| p.last().copied())
}

/// [`walk`] over plain keys, without building a [`Path`] (this runs for
/// every event).
fn walk_keys<'a>(root: &'a Map<String, Value>, path: &[&str]) -> Option<&'a Value> {
    let (last, parents) = path.split_last()?;
    let mut map = root;
    for k in parents {
        match map.get(*k)? {
            Value::Object(m) => map = m,
            _ => return None,
        }
    }
    map.get(*last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn resolves_the_three_layouts() {
        let mut f = Fields::new();
        let image = f.intern("Image");
        let prov = f.intern("Provider_Name");
        let eid = f.intern("EventID");
        let chan = f.intern("Channel");
        let nested = obj(
            json!({"Event": {"System": {"Provider": {"#attributes": {"Name": "P"}},
            "EventID": {"#text": 4688, "#attributes": {"Qualifiers": 0}}, "Channel": "Security"},
            "EventData": {"Image": "a.exe"}}}),
        );
        let l = Layout::detect(&nested);
        assert_eq!(l, Layout::Nested);
        assert_eq!(f.resolve(image, l, &nested), Some(&json!("a.exe")));
        assert_eq!(f.resolve(prov, l, &nested), Some(&json!("P")));
        assert_eq!(f.resolve(eid, l, &nested), Some(&json!(4688)));
        assert_eq!(f.resolve(chan, l, &nested), Some(&json!("Security")));
        let flat = obj(json!({"Provider_Name": "P", "EventID": 1, "Image": "b.exe"}));
        assert_eq!(Layout::detect(&flat), Layout::Flat);
        assert_eq!(f.resolve(image, Layout::Flat, &flat), Some(&json!("b.exe")));
        let ecs = obj(json!({"winlog": {"channel": "Security", "event_id": 4688,
            "event_data": {"Image": "c.exe"}}, "event": {"code": "4688"}}));
        assert_eq!(Layout::detect(&ecs), Layout::Ecs);
        assert_eq!(f.resolve(image, Layout::Ecs, &ecs), Some(&json!("c.exe")));
        assert_eq!(f.resolve(chan, Layout::Ecs, &ecs), Some(&json!("Security")));
        assert_eq!(f.resolve(eid, Layout::Ecs, &ecs), Some(&json!(4688)));
    }

    #[test]
    fn dotted_names_are_paths_then_literal_keys() {
        let mut f = Fields::new();
        let arn = f.intern("userIdentity.arn");
        let e = obj(json!({"userIdentity": {"arn": "x"}}));
        assert_eq!(f.resolve(arn, Layout::Flat, &e), Some(&json!("x")));
        let e = obj(json!({"userIdentity.arn": "y"}));
        assert_eq!(f.resolve(arn, Layout::Flat, &e), None.or(Some(&json!("y"))));
    }

    #[test]
    fn user_data_children() {
        let mut f = Fields::new();
        let p = f.intern("Param1");
        let e = obj(json!({"Event": {"System": {}, "UserData": {"EventXML": {"Param1": "v"}}}}));
        assert_eq!(f.resolve(p, Layout::Nested, &e), Some(&json!("v")));
    }
}
