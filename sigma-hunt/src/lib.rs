//! # sigma-hunt: Sigma rules as an in-process matcher over exported logs
//!
//! Incident responders hand a folder of exported logs and a folder of
//! rules to `sigil hunt` and expect every true detection, fast, with nothing
//! lost. This crate is the engine behind it. Like ripgrep, it is built from
//! a few small pieces with one job each:
//!
//! * [`layout`] knows where a Sigma field lives in an event. The nested
//!   EVTX-to-JSON layout, the flat layout and Winlogbeat/ECS are detected
//!   per event from the top-level keys; each field name is interned once and
//!   compiled into the paths to try for each layout, so reading a field
//!   never allocates.
//! * [`routing`] turns a rule's `logsource` into conditions on the event
//!   (Channel, EventID) and field renames (Security 4688 for
//!   `process_creation`). Rules without a route are reported, never run
//!   against everything.
//! * [`compile`] turns each rule, once, into an evaluation tree. All string
//!   values of an item are merged into one [`strmatch::StrSet`]: one
//!   Aho-Corasick automaton per shape (equals, starts, ends, contains), one
//!   `RegexSet` for wildcards and `re`; AND children are ordered cheapest
//!   first.
//! * [`eval`] evaluates a tree against one event with exact Sigma/pySigma
//!   semantics (case-insensitive strings, numbers versus numeric strings,
//!   null versus missing, keywords over every value).
//! * [`engine`] indexes the compiled rules by channel so an event only meets
//!   the rules routed to it, and carries the load report (loaded, unrouted,
//!   unsupported, skipped, each with a reason).
//! * [`input`] and [`scan`] read files and folders (JSON lines, JSON, EVTX,
//!   gzip or zstd), cut line-based files into chunks at line boundaries,
//!   hand each chunk to the rayon pool as soon as it is read, and hand
//!   hits, errors and statistics to a [`Sink`] in file order. Memory is
//!   bounded by (chunk size + the line limit) × the 4 × threads chunks in
//!   flight: a chunk holds whole lines, each up to
//!   [`input::MAX_LINE_BYTES`] (longer lines are skipped unbuffered); a
//!   single-object `.json` is read whole up to
//!   [`input::MAX_DOCUMENT_BYTES`]; compressed
//!   EVTX is decompressed to a temporary file, up to
//!   [`input::MAX_EVTX_BYTES`]. A malformed or oversized line is counted,
//!   reported with its file and line, and the scan goes on.
//! * [`plan`] and [`prefilter`] sit between [`input`] and [`engine`]: the
//!   literals each rule needs, searched in each raw line with the small
//!   Aho-Corasick automaton of the line's (channel, EventID) group, decide
//!   which rules are worth evaluating and whether the line needs parsing at
//!   all; [`Engine::parse_candidates`] then builds only the fields those
//!   rules read. [`Engine::evaluate`] is the exact evaluator this faster
//!   path must agree with (`tests/differential.rs`, `tests/adversarial.rs`).
//! * [`incident`] works on hits, after the scan: correlation rules
//!   (`event_count`, `value_count`, `temporal`, ...) over the hits of the
//!   rules they reference, in event-time order with bounded state, and the
//!   grouping of hits into incidents per host (entities, ATT&CK tactics,
//!   severity, timeline) with their JSON and HTML reports. It sees hits
//!   only, never the engine, so it can be fed from any source.
//! * [`replay`] runs rule tests (SigmaHQ regression folders, case lists,
//!   inline `tests:`): event files go through the same loading and
//!   scanning as a hunt, so a passing case means `sigil hunt` detects
//!   those events; inline events meet the detection logic only (no
//!   routing, so they need no `Channel`).
//!
//! ```
//! use sigma_hunt::{Engine, EngineOptions, Scratch};
//!
//! let set = sigma_core::parse_str(r#"
//! title: Whoami
//! logsource: {category: process_creation, product: windows}
//! detection:
//!     selection:
//!         Image|endswith: '\whoami.exe'
//!     condition: selection
//! "#, None);
//! let engine = Engine::build(&set, EngineOptions::default());
//! let event: serde_json::Value = serde_json::json!({
//!     "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
//!     "Image": "C:\\Windows\\System32\\WHOAMI.EXE"});
//! let mut hits = Vec::new();
//! engine.evaluate(event.as_object().unwrap(), &mut Scratch::default(), &mut hits);
//! assert_eq!(hits, vec![0]);
//!
//! // The fast path the scanner takes for each raw line.
//! use sigma_hunt::prefilter::LineCheck;
//! let mut scratch = Scratch::default();
//! let mut fast = Vec::new();
//! for line in [
//!     &br#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Image": "C:\\Windows\\System32\\WHOAMI.EXE"}"#[..],
//!     br#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Image": "C:\\Windows\\notepad.exe"}"#,
//! ] {
//!     if engine.prefilter(line, &mut scratch) == LineCheck::Nothing {
//!         continue; // no rule can match: the scanner only validates the line
//!     }
//!     let root = match engine.parse_candidates(line, &mut scratch) {
//!         Some(Ok(Some(sparse))) => sparse,
//!         _ => serde_json::from_slice(line).unwrap(),
//!     };
//!     engine.evaluate_prefiltered(&root, &mut scratch, &mut fast);
//! }
//! assert_eq!(fast, vec![0]);
//! ```
#![deny(missing_docs)]

pub mod compile;
pub mod engine;
pub mod eval;
pub mod incident;
pub mod layout;
mod lazy;
pub mod replay;
pub mod routing;
pub mod strmatch;
pub mod time_range;
mod validate;
mod values;

pub use engine::{load_rules, Engine, EngineOptions, LoadReport, RuleInfo, Scratch};
pub use engine::{plan, prefilter};
mod evtx;
pub mod input;
pub mod scan;

pub use scan::{scan_paths, Collect, Hit, InputError, ScanOptions, ScanStats, Sink, Source};
pub use time_range::TimeRange;

/// The Rust examples of `docs/lint.md` (the lint API of sigma-core and
/// [`replay`]), compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/lint.md")]
pub struct LintDocTests;

/// The Rust example of `docs/hunt.md` (loading, building, scanning),
/// compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../docs/hunt.md")]
pub struct HuntDocTests;

/// The Rust example of `docs/incidents.md`, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../docs/incidents.md")]
pub struct IncidentDocTests;
