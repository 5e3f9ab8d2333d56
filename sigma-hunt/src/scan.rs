//! The scanner: reads inputs, evaluates events in parallel, and reports
//! hits, errors and statistics to a [`Sink`] in a deterministic order.
//!
//! Line-based files are cut into 1 MiB chunks at line boundaries; the
//! calling thread reads them and hands each to the rayon pool at once (at
//! most `4 × threads` in flight), and hands the results of each chunk to
//! the sink in file order as soon as they are ready. Memory is thus bounded
//! by the chunk size times the number of threads, whatever the file size,
//! and the output never depends on thread scheduling. EVTX records go in
//! batches (the crate's `evtx` module).
//!
//! A chunk holds whole lines, so one line can make a larger chunk: lines
//! are read up to [`input::MAX_LINE_BYTES`] (64 MiB) and longer ones are
//! skipped without being buffered, so the bound is (chunk size + the line
//! limit) × chunks in flight. A `.json` file holding one pretty-printed
//! object is read whole, up to [`input::MAX_DOCUMENT_BYTES`] (256 MiB);
//! compressed EVTX files are decompressed to a temporary file, not memory.
//! Each limit is a [`ScanOptions`] field; what goes past one is reported
//! and counted, never silently dropped.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::engine::{Engine, Scratch};
use crate::input::{self, Chunk, Chunker, Format};
use crate::layout::{timestamp, Layout};
use crate::prefilter::LineCheck;
use crate::time_range::TimeRange;

/// Options of a scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Worker threads (0 = all cores).
    pub threads: usize,
    /// Target chunk size in bytes.
    pub chunk_size: usize,
    /// Only events at or after this instant (ISO 8601, an offset allowed;
    /// see [`TimeRange`]).
    pub from: Option<String>,
    /// Only events at or before this instant; the bound covers the span
    /// its text names (a date includes the whole day, see [`TimeRange`]).
    pub to: Option<String>,
    /// Attach the whole event to each hit.
    pub full: bool,
    /// The longest line or JSON array element read, in bytes
    /// ([`input::MAX_LINE_BYTES`] by default); longer ones are skipped
    /// and reported.
    pub max_line: usize,
    /// The largest `.json` file holding a single object, in bytes
    /// ([`input::MAX_DOCUMENT_BYTES`] by default); a larger one is
    /// reported and skipped.
    pub max_document: usize,
    /// The most bytes a compressed EVTX file is decompressed
    /// to ([`input::MAX_EVTX_BYTES`] by default); a larger one is reported
    /// and not read.
    pub max_evtx: u64,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            threads: 0,
            // Small enough to keep every worker busy to the end of a file
            // of a few MB, large enough that per-chunk work is negligible.
            chunk_size: 1024 * 1024,
            from: None,
            to: None,
            full: false,
            max_line: input::MAX_LINE_BYTES,
            max_document: input::MAX_DOCUMENT_BYTES,
            max_evtx: input::MAX_EVTX_BYTES,
        }
    }
}

/// Where an event came from.
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    /// The file.
    pub file: Arc<Path>,
    /// 1-based line (line-based files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// 0-based position in a JSON array.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub element: Option<u64>,
    /// EVTX record id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_id: Option<u64>,
}

/// One rule matching one event.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Index into [`Engine::rules`].
    pub rule: u32,
    /// The source of the event.
    pub source: Source,
    /// The event timestamp as written.
    pub timestamp: Option<String>,
    /// The fields the rule reads that the event has.
    pub fields: Map<String, Value>,
    /// The whole event (`--full`).
    pub event: Option<Value>,
}

/// A problem with an input: a whole file or one line/record.
#[derive(Debug, Clone, Serialize)]
pub struct InputError {
    /// Where.
    #[serde(flatten)]
    pub source: Source,
    /// What.
    pub message: String,
}

/// Counters of a scan. `events_read == events_evaluated + skipped total`.
#[derive(Debug, Default, Clone, Serialize)]
pub struct ScanStats {
    /// Files opened.
    pub files: u64,
    /// Bytes read from disk.
    pub bytes: u64,
    /// Events (non-blank lines, array elements, EVTX records) read.
    pub events_read: u64,
    /// Events evaluated against the rules.
    pub events_evaluated: u64,
    /// Events not evaluated, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Hits.
    pub hits: u64,
    /// Input errors (files and records).
    pub errors: u64,
}

impl ScanStats {
    /// Total skipped events.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    fn merge(&mut self, o: &ScanStats) {
        self.events_read += o.events_read;
        self.events_evaluated += o.events_evaluated;
        for (k, v) in &o.skipped {
            *self.skipped.entry(k.clone()).or_default() += v;
        }
        self.hits += o.hits;
        self.errors += o.errors;
    }

    fn skip(&mut self, reason: &str) {
        *self.skipped.entry(reason.to_string()).or_default() += 1;
    }
}

/// Receives the results of a scan, in order.
pub trait Sink {
    /// A hit.
    fn hit(&mut self, engine: &Engine, hit: &Hit);
    /// An input error.
    fn error(&mut self, err: &InputError);
    /// Progress: bytes read so far over all files.
    fn progress(&mut self, _bytes: u64) {}
}

/// Reasons for skipping events.
pub mod reason {
    /// Not valid JSON.
    pub const MALFORMED: &str = "malformed JSON";
    /// JSON but not an object.
    pub const NOT_OBJECT: &str = "not a JSON object";
    /// A line or array element longer than [`super::ScanOptions::max_line`].
    pub const TOO_LONG: &str = "line too long";
    /// A single-object `.json` file larger than
    /// [`super::ScanOptions::max_document`].
    pub const TOO_LARGE: &str = "document too large";
    /// EVTX record that failed to parse.
    pub const BAD_RECORD: &str = "unreadable EVTX record";
    /// Outside --from/--to.
    pub const OUT_OF_RANGE: &str = "outside --from/--to";
    /// No timestamp while --from/--to is set.
    pub const NO_TIME: &str = "no timestamp (with --from/--to)";
    /// A timestamp that cannot be read as an instant while --from/--to is
    /// set.
    pub const BAD_TIME: &str = "unreadable timestamp (with --from/--to)";
}

#[derive(Default)]
struct Out {
    hits: Vec<Hit>,
    errors: Vec<InputError>,
    stats: ScanStats,
}

struct Ctx<'a> {
    engine: &'a Engine,
    opts: &'a ScanOptions,
    file: Arc<Path>,
    pool: &'a rayon::ThreadPool,
    /// `opts.from`/`opts.to`, parsed.
    range: TimeRange,
    /// Lines are elements of a JSON array (see [`input::ArrayLines`]).
    array: bool,
}

impl Ctx<'_> {
    fn src(&self, line: Option<u64>, element: Option<u64>, record_id: Option<u64>) -> Source {
        Source {
            file: self.file.clone(),
            line,
            element,
            record_id,
        }
    }

    /// Evaluates one parsed value.
    fn event(&self, v: Value, src: Source, scratch: &mut Scratch, out: &mut Out) {
        out.stats.events_read += 1;
        let Value::Object(root) = v else {
            out.stats.skip(reason::NOT_OBJECT);
            out.stats.errors += 1;
            out.errors.push(InputError {
                source: src,
                message: "not a JSON object".into(),
            });
            return;
        };
        let layout = Layout::detect(&root);
        let ts = timestamp(layout, &root);
        if let Err(r) = self.range.check(ts) {
            out.stats.skip(r);
            return;
        }
        out.stats.events_evaluated += 1;
        let mut rules = Vec::new();
        self.engine.evaluate_prefiltered(&root, scratch, &mut rules);
        if rules.is_empty() {
            return;
        }
        let ts = ts.map(String::from);
        let full = if self.opts.full {
            Some(Value::Object(root.clone()))
        } else {
            None
        };
        for r in rules {
            out.stats.hits += 1;
            out.hits.push(Hit {
                rule: r,
                source: src.clone(),
                timestamp: ts.clone(),
                fields: self.engine.matched_fields(r, &root),
                event: full.clone(),
            });
        }
    }

    fn line(&self, bytes: &[u8], line: u64, scratch: &mut Scratch, out: &mut Out) {
        let bytes = trim_ascii(bytes);
        if bytes.is_empty() {
            return;
        }
        let check = self.engine.prefilter(bytes, scratch);
        if check == LineCheck::Nothing
            && self.range.is_unbounded()
            && crate::prefilter::valid_object(bytes)
        {
            // No rule can match: evaluated by the prefilter, never parsed.
            out.stats.events_read += 1;
            out.stats.events_evaluated += 1;
            return;
        }
        let src = if self.array {
            self.src(None, Some(line.saturating_sub(1)), None)
        } else {
            self.src(Some(line), None, None)
        };
        if check == LineCheck::Candidates && !self.opts.full {
            // Only what the candidates read; anything unusual (a keyword
            // rule, a line the sparse parse rejects) takes the full parse
            // below, so errors are reported exactly as before.
            if let Some(Ok(Some(root))) = self.engine.parse_candidates(bytes, scratch) {
                self.event(Value::Object(root), src, scratch, out);
                return;
            }
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(v) => self.event(v, src, scratch, out),
            Err(e) => {
                if std::str::from_utf8(bytes).is_err() {
                    // Invalid UTF-8: report it, then evaluate the lossy text
                    // so no detection is lost to one bad byte.
                    let text = String::from_utf8_lossy(bytes);
                    out.stats.errors += 1;
                    out.errors.push(InputError {
                        source: src.clone(),
                        message: "invalid UTF-8 (replaced with U+FFFD and evaluated)".into(),
                    });
                    if let Ok(v) = serde_json::from_str::<Value>(&text) {
                        scratch.forget_prefilter();
                        self.event(v, src, scratch, out);
                        return;
                    }
                }
                out.stats.events_read += 1;
                out.stats.skip(reason::MALFORMED);
                out.stats.errors += 1;
                out.errors.push(InputError {
                    source: src,
                    message: format!("malformed JSON: {e}"),
                });
            }
        }
    }

    /// A line longer than the limit: counted as read and skipped, and
    /// reported.
    fn too_long(&self, line: u64, len: u64, out: &mut Out) {
        out.stats.events_read += 1;
        out.stats.skip(reason::TOO_LONG);
        out.stats.errors += 1;
        let (src, what) = if self.array {
            (
                self.src(None, Some(line.saturating_sub(1)), None),
                "element",
            )
        } else {
            (self.src(Some(line), None, None), "line")
        };
        out.errors.push(InputError {
            source: src,
            message: format!(
                "{what} too long: {len} bytes, over the limit of {} bytes; skipped",
                self.opts.max_line
            ),
        });
    }

    fn chunk(&self, c: &Chunk) -> Out {
        let mut out = Out::default();
        let mut scratch = Scratch::default();
        let mut oversized = c.oversized.iter().peekable();
        // Line ends found with memchr (a byte-by-byte split was 3 % of a
        // scan).
        let mut start = 0;
        let ends = memchr::memchr_iter(b'\n', &c.data).chain(std::iter::once(c.data.len()));
        for (line, end) in (c.first_line..).zip(ends) {
            if let Some(l) = c.data.get(start..end) {
                if let Some(&(_, len)) = oversized.next_if(|(n, _)| *n == line) {
                    // Skipped by the chunker without being read whole.
                    self.too_long(line, len, &mut out);
                } else if l.len() > self.opts.max_line {
                    self.too_long(line, l.len() as u64, &mut out);
                } else {
                    self.line(l, line, &mut scratch, &mut out);
                }
            }
            start = end + 1;
        }
        out
    }
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    b.get(start..end).unwrap_or(&[])
}

/// Scans files and folders; results go to the sink in input order.
pub fn scan_paths(
    engine: &Engine,
    paths: &[PathBuf],
    opts: &ScanOptions,
    sink: &mut dyn Sink,
) -> ScanStats {
    let range = match TimeRange::parse(opts.from.as_deref(), opts.to.as_deref()) {
        Ok(r) => r,
        Err(e) => return setup_error(sink, e),
    };
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()
    {
        Ok(p) => p,
        Err(e) => return setup_error(sink, format!("cannot start worker threads: {e}")),
    };
    scan_in_pool(engine, paths, opts, range, sink, &pool)
}

/// A scan that cannot start: one error, nothing read.
fn setup_error(sink: &mut dyn Sink, message: String) -> ScanStats {
    let mut stats = ScanStats::default();
    stats.errors += 1;
    sink.error(&InputError {
        source: Source {
            file: Arc::from(Path::new("")),
            line: None,
            element: None,
            record_id: None,
        },
        message,
    });
    stats
}

fn scan_in_pool(
    engine: &Engine,
    paths: &[PathBuf],
    opts: &ScanOptions,
    range: TimeRange,
    sink: &mut dyn Sink,
    pool: &rayon::ThreadPool,
) -> ScanStats {
    let mut stats = ScanStats::default();
    let (files, errors) = input::discover(paths);
    for (p, msg) in errors {
        stats.errors += 1;
        sink.error(&InputError {
            source: Source {
                file: Arc::from(p.as_path()),
                line: None,
                element: None,
                record_id: None,
            },
            message: msg,
        });
    }
    let counter = Arc::new(AtomicU64::new(0));
    for f in files {
        stats.files += 1;
        let ctx = Ctx {
            engine,
            opts,
            file: Arc::from(f.as_path()),
            pool,
            range,
            array: false,
        };
        let res = match input::format_of(&f) {
            Format::Evtx => crate::evtx::scan_evtx(
                &ctx.file,
                &counter,
                pool.current_num_threads(),
                opts.max_evtx,
                &mut |batch| emit_batch(&ctx, batch, &mut stats, sink, &counter),
            ),
            Format::Json => scan_json(&ctx, &counter, &mut stats, sink),
            Format::JsonLines => scan_lines(&ctx, &counter, &mut stats, sink),
        };
        if let Err(msg) = res {
            stats.errors += 1;
            sink.error(&InputError {
                source: ctx.src(None, None, None),
                message: msg,
            });
        }
        sink.progress(counter.load(Ordering::Relaxed));
    }
    stats.bytes = counter.load(Ordering::Relaxed);
    stats
}

/// A unit of work for the pool.
pub(crate) enum Work {
    /// Whole lines.
    Lines(Chunk),
    /// Parsed EVTX records (record id, JSON) or record errors.
    Records(Vec<Result<(u64, Value), String>>),
}

fn emit_batch(
    ctx: &Ctx<'_>,
    batch: Vec<Work>,
    stats: &mut ScanStats,
    sink: &mut dyn Sink,
    counter: &AtomicU64,
) {
    let outs: Vec<Out> = ctx.pool.install(|| {
        batch
            .into_par_iter()
            .map(|w| match w {
                Work::Lines(c) => ctx.chunk(&c),
                Work::Records(recs) => {
                    let mut out = Out::default();
                    let mut scratch = Scratch::default();
                    for r in recs {
                        match r {
                            Ok((id, v)) => {
                                ctx.event(v, ctx.src(None, None, Some(id)), &mut scratch, &mut out)
                            }
                            Err(msg) => {
                                out.stats.events_read += 1;
                                out.stats.skip(reason::BAD_RECORD);
                                out.stats.errors += 1;
                                out.errors.push(InputError {
                                    source: ctx.src(None, None, None),
                                    message: msg,
                                });
                            }
                        }
                    }
                    out
                }
            })
            .collect()
    });
    for o in outs {
        emit_out(ctx, o, stats, sink);
    }
    sink.progress(counter.load(Ordering::Relaxed));
}

/// Hands one unit's results to the sink.
fn emit_out(ctx: &Ctx<'_>, o: Out, stats: &mut ScanStats, sink: &mut dyn Sink) {
    stats.merge(&o.stats);
    for e in &o.errors {
        sink.error(e);
    }
    for h in &o.hits {
        sink.hit(ctx.engine, h);
    }
}

fn scan_lines(
    ctx: &Ctx<'_>,
    counter: &Arc<AtomicU64>,
    stats: &mut ScanStats,
    sink: &mut dyn Sink,
) -> Result<(), String> {
    let reader = input::open(&ctx.file, counter.clone()).map_err(|e| e.to_string())?;
    scan_stream(ctx, reader, counter, stats, sink)
}

/// Scans a stream of lines as a pipeline: this thread reads chunks and
/// hands each to the pool as soon as it is read, keeping a bounded number
/// in flight (4 per worker), and emits the results of each chunk in file
/// order as soon as that chunk and all before it are done. Workers never
/// wait for a whole batch, and memory stays bounded by the chunks in
/// flight, whatever the input size.
fn scan_stream(
    ctx: &Ctx<'_>,
    reader: Box<dyn std::io::Read + Send>,
    counter: &Arc<AtomicU64>,
    stats: &mut ScanStats,
    sink: &mut dyn Sink,
) -> Result<(), String> {
    let mut chunker = Chunker::new(reader, ctx.opts.chunk_size).with_max_line(ctx.opts.max_line);
    let in_flight = ctx.pool.current_num_threads().max(1) * 4;
    let mut failure = None;
    ctx.pool.in_place_scope_fifo(|scope| {
        let mut pending: VecDeque<mpsc::Receiver<Out>> = VecDeque::new();
        let mut more = true;
        loop {
            while more && pending.len() < in_flight {
                let chunk = match chunker.next_chunk() {
                    Ok(Some(c)) => Some(c),
                    Ok(None) => {
                        more = false;
                        None
                    }
                    Err(e) => {
                        failure = Some(format!("read error: {e}"));
                        more = false;
                        chunker.take_rest()
                    }
                };
                if let Some(c) = chunk {
                    let (tx, rx) = mpsc::sync_channel(1);
                    scope.spawn_fifo(move |_| {
                        // The receiver only goes away if this thread
                        // panicked, which the scope reports anyway.
                        let _ = tx.send(ctx.chunk(&c));
                    });
                    pending.push_back(rx);
                }
            }
            let Some(rx) = pending.pop_front() else {
                break;
            };
            if let Ok(out) = rx.recv() {
                emit_out(ctx, out, stats, sink);
                sink.progress(counter.load(Ordering::Relaxed));
            }
        }
    });
    match failure {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

fn scan_json(
    ctx: &Ctx<'_>,
    counter: &Arc<AtomicU64>,
    stats: &mut ScanStats,
    sink: &mut dyn Sink,
) -> Result<(), String> {
    let mut reader = input::open(&ctx.file, counter.clone()).map_err(|e| e.to_string())?;
    // Peek at the start: up to the first newline, however long the first
    // line is up to the line limit (a JSON-lines file whose first event
    // is longer than any fixed peek must still be read as JSON lines).
    let mut head = Vec::new();
    let mut block = [0u8; 64 * 1024];
    let mut eof = false;
    let mut newline = false;
    while !newline && head.len() <= ctx.opts.max_line {
        match reader.read(&mut block) {
            Ok(0) => {
                eof = true;
                break;
            }
            Ok(n) => {
                let new = block.get(..n).unwrap_or_default();
                newline = memchr::memchr(b'\n', new).is_some();
                head.extend_from_slice(new);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("read error: {e}")),
        }
    }
    let first = head.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let first_line = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let rest = std::io::Cursor::new(head.clone()).chain(reader);
    if first == Some(b'[') {
        // An array, streamed element by element.
        let array_ctx = Ctx {
            engine: ctx.engine,
            opts: ctx.opts,
            file: ctx.file.clone(),
            pool: ctx.pool,
            range: ctx.range,
            array: true,
        };
        let lines = input::ArrayLines::new(rest);
        return scan_stream(&array_ctx, Box::new(lines), counter, stats, sink);
    }
    let one_per_line = eof || serde_json::from_slice::<Value>(trim_ascii(first_line)).is_ok();
    if first != Some(b'{') || one_per_line {
        return scan_stream(ctx, Box::new(rest), counter, stats, sink);
    }
    // A single pretty-printed object: read it whole, up to the limit.
    let limit = ctx.opts.max_document;
    let mut data = Vec::new();
    let read = rest
        .take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut data);
    if read.is_ok() && data.len() > limit {
        let mut out = Out::default();
        out.stats.events_read += 1;
        out.stats.skip(reason::TOO_LARGE);
        out.stats.errors += 1;
        out.errors.push(InputError {
            source: ctx.src(Some(1), None, None),
            message: format!(
                "a single JSON document over the limit of {limit} bytes; skipped (write one event per line or a JSON array to have it streamed)"
            ),
        });
        emit_out(ctx, out, stats, sink);
        return Ok(());
    }
    if read.is_ok() {
        if let Ok(v) = serde_json::from_slice::<Value>(&data) {
            let mut out = Out::default();
            let mut scratch = Scratch::default();
            ctx.event(v, ctx.src(Some(1), None, None), &mut scratch, &mut out);
            stats.merge(&out.stats);
            out.errors.iter().for_each(|e| sink.error(e));
            out.hits.iter().for_each(|h| sink.hit(ctx.engine, h));
            return Ok(());
        }
    }
    // Not one object either: report it line by line.
    let chunk = Chunk::new(data, 1);
    emit_batch(ctx, vec![Work::Lines(chunk)], stats, sink, counter);
    read.map(|_| ()).map_err(|e| format!("read error: {e}"))
}

use std::io::Read as _;

/// A sink that keeps everything in memory (tests, benches, embedding).
#[derive(Debug, Default)]
pub struct Collect {
    /// Hits in output order.
    pub hits: Vec<Hit>,
    /// Input errors in order.
    pub errors: Vec<InputError>,
}

impl Sink for Collect {
    fn hit(&mut self, _engine: &Engine, hit: &Hit) {
        self.hits.push(hit.clone());
    }

    fn error(&mut self, err: &InputError) {
        self.errors.push(err.clone());
    }
}
