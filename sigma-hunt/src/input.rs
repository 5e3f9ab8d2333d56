//! Input discovery and decoding: folders walked recursively, compression
//! detected from magic bytes, formats from the file name, and line-based
//! files cut into chunks at line boundaries so they can be scanned in
//! parallel with bounded memory.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// How the events of a file are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line (`.jsonl`, `.ndjson`, and anything unknown).
    JsonLines,
    /// `.json`: an array, a single object, or one object per line.
    Json,
    /// Windows event log.
    Evtx,
}

/// Compression wrapping a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain.
    None,
    /// gzip (`1f 8b`).
    Gzip,
    /// zstd (`28 b5 2f fd`).
    Zstd,
}

/// The format from the file name, ignoring a compression suffix.
pub fn format_of(path: &Path) -> Format {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let base = name
        .strip_suffix(".gz")
        .or_else(|| name.strip_suffix(".zst"))
        .or_else(|| name.strip_suffix(".zstd"))
        .unwrap_or(&name);
    if base.ends_with(".evtx") {
        Format::Evtx
    } else if base.ends_with(".json") {
        Format::Json
    } else {
        Format::JsonLines
    }
}

/// The compression of a file, from its first bytes.
pub fn compression_of(path: &Path) -> io::Result<Compression> {
    let mut magic = [0u8; 4];
    let mut f = File::open(path)?;
    let mut n = 0;
    while n < 4 {
        let k = f.read(&mut magic[n..])?;
        if k == 0 {
            break;
        }
        n += k;
    }
    Ok(if n >= 2 && magic[..2] == [0x1f, 0x8b] {
        Compression::Gzip
    } else if n == 4 && magic == [0x28, 0xb5, 0x2f, 0xfd] {
        Compression::Zstd
    } else {
        Compression::None
    })
}

fn is_log_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let base = name
        .strip_suffix(".gz")
        .or_else(|| name.strip_suffix(".zst"))
        .or_else(|| name.strip_suffix(".zstd"))
        .unwrap_or(&name);
    [".json", ".jsonl", ".ndjson", ".evtx"]
        .iter()
        .any(|e| base.ends_with(e))
}

/// Expands the given paths: files are taken as given (whatever their
/// name), folders are walked recursively for log files, sorted so the
/// output order is deterministic.
pub fn discover(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            for entry in walkdir::WalkDir::new(p).follow_links(true) {
                match entry {
                    Ok(e) if e.file_type().is_file() && is_log_file(e.path()) => {
                        found.push(e.into_path())
                    }
                    Ok(_) => {}
                    Err(e) => errors.push((p.clone(), e.to_string())),
                }
            }
            found.sort();
            files.extend(found);
        } else if p.exists() {
            files.push(p.clone());
        } else {
            errors.push((p.clone(), "no such file or directory".to_string()));
        }
    }
    (files, errors)
}

/// Counts the bytes read from disk (compressed bytes for compressed files),
/// for the progress bar and the MB/s figure.
pub struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Opens a file, decompressing it when needed.
pub fn open(path: &Path, count: Arc<AtomicU64>) -> io::Result<Box<dyn Read + Send>> {
    let comp = compression_of(path)?;
    let raw = Counting {
        inner: File::open(path)?,
        count,
    };
    Ok(match comp {
        Compression::None => Box::new(raw),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
            256 * 1024,
            raw,
        ))),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(raw)?),
    })
}

/// The longest line (or JSON array element) read, in bytes without the
/// newline. A longer line is not buffered: it is skipped up to its newline,
/// reported as an input error with its file and line, and counted as read
/// and skipped ([`crate::scan::reason::TOO_LONG`]); the scan goes on with
/// the next line. This bounds the memory a line-based file can take,
/// whatever its content. `ScanOptions::max_line` changes it.
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

/// The largest `.json` file holding a single (pretty-printed) object, read
/// whole because its lines are not events. A larger one is reported as an
/// input error and counted as one event read and skipped
/// ([`crate::scan::reason::TOO_LARGE`]); JSON arrays and JSON lines have no
/// such limit, as they are streamed. `ScanOptions::max_document` changes it.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024 * 1024;

/// The most bytes a compressed EVTX file is decompressed to.
/// The EVTX parser needs to seek, so such a file is first written to an
/// anonymous temporary file (not held in memory); this limit keeps a
/// decompression bomb from filling the disk. A larger file is reported as
/// an input error and not read. `ScanOptions::max_evtx` changes it.
pub const MAX_EVTX_BYTES: u64 = 16 * 1024 * 1024 * 1024;

/// A piece of a line-based file that ends at a line boundary.
pub struct Chunk {
    /// The bytes (whole lines).
    pub data: Vec<u8>,
    /// The line number of the first line (1-based).
    pub first_line: u64,
    /// Lines longer than the chunker's limit that were skipped without
    /// being read whole: (line number, length in bytes without the
    /// newline). Each stands as an empty line in `data`.
    pub oversized: Vec<(u64, u64)>,
}

impl Chunk {
    /// A chunk of whole lines starting at `first_line`.
    pub fn new(data: Vec<u8>, first_line: u64) -> Chunk {
        Chunk {
            data,
            first_line,
            oversized: Vec::new(),
        }
    }
}

/// Cuts a stream into chunks of about `size` bytes at line boundaries.
/// A line longer than `size` makes a larger chunk: lines are never split.
/// A line longer than the maximum line length ([`MAX_LINE_BYTES`] unless
/// set with [`Chunker::with_max_line`]) is skipped without being buffered
/// and listed in [`Chunk::oversized`].
pub struct Chunker<R> {
    reader: R,
    size: usize,
    max_line: usize,
    carry: Vec<u8>,
    next_line: u64,
    done: bool,
    /// A read error met while skipping a long line, returned by the next
    /// call.
    error: Option<io::Error>,
}

impl<R: Read> Chunker<R> {
    /// A chunker over a reader.
    pub fn new(reader: R, size: usize) -> Chunker<R> {
        Chunker {
            reader,
            size: size.max(4096),
            max_line: MAX_LINE_BYTES,
            carry: Vec::new(),
            next_line: 1,
            done: false,
            error: None,
        }
    }

    /// Sets the maximum line length (at least 1 byte).
    pub fn with_max_line(mut self, max_line: usize) -> Chunker<R> {
        self.max_line = max_line.max(1);
        self
    }

    /// The next chunk, `None` at the end. A read error ends the stream
    /// (the data before it has been returned in earlier chunks).
    pub fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if self.done && self.carry.is_empty() {
            return Ok(None);
        }
        let mut buf = std::mem::take(&mut self.carry);
        buf.reserve(self.size);
        let mut search_from = 0;
        loop {
            if !self.done {
                let start = buf.len();
                // Geometric growth for a long line, but not past the line
                // limit: a line over it costs the limit and one read.
                let room = self
                    .max_line
                    .saturating_add(1)
                    .saturating_sub(start)
                    .max(self.size);
                let want = self.size.max(start / 2).min(room);
                buf.reserve_exact(want);
                buf.resize(start + want, 0);
                let mut filled = start;
                while filled < buf.len() {
                    match self.reader.read(&mut buf[filled..]) {
                        Ok(0) => {
                            self.done = true;
                            break;
                        }
                        Ok(n) => filled += n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            buf.truncate(filled);
                            self.done = true;
                            // Hand back what was read, then the error next time.
                            self.carry = buf;
                            return Err(e);
                        }
                    }
                }
                buf.truncate(filled);
            }
            // No newline before `search_from`: the last one is after it.
            let last_newline = buf
                .get(search_from..)
                .and_then(|tail| memchr::memrchr(b'\n', tail))
                .map(|p| search_from + p);
            let partial = buf.len() - last_newline.map_or(0, |p| p + 1);
            if partial > self.max_line {
                let Some(p) = last_newline else {
                    // The buffer is the start of one line that is too long.
                    return self.skip_long_line(buf).map(Some);
                };
                // The whole lines first; the long one on the next call.
                self.carry = buf.split_off(p + 1);
                return Ok(Some(self.whole_lines(buf)));
            }
            if self.done {
                return Ok(if buf.is_empty() {
                    None
                } else {
                    Some(self.whole_lines(buf))
                });
            }
            if let Some(p) = last_newline {
                self.carry = buf.split_off(p + 1);
                return Ok(Some(self.whole_lines(buf)));
            }
            // No newline yet: a long line; keep reading.
            search_from = buf.len();
        }
    }

    /// A chunk of `data` (whole lines, the last one possibly without its
    /// newline at the end of the stream), numbered from the next line.
    fn whole_lines(&mut self, data: Vec<u8>) -> Chunk {
        let first_line = self.next_line;
        self.next_line += memchr::memchr_iter(b'\n', &data).count() as u64;
        Chunk::new(data, first_line)
    }

    /// Reads past the end of a line too long to keep, `block` holding the
    /// part already read (no newline in it), in blocks of the chunk size
    /// without keeping them. The bytes after its newline are kept for the
    /// next chunk.
    fn skip_long_line(&mut self, mut block: Vec<u8>) -> io::Result<Chunk> {
        let mut len = block.len() as u64;
        block.resize(self.size, 0);
        while !self.done {
            match self.reader.read(&mut block) {
                Ok(0) => self.done = true,
                Ok(n) => {
                    let read = block.get(..n).unwrap_or_default();
                    if let Some(p) = memchr::memchr(b'\n', read) {
                        len += p as u64;
                        self.carry = read.get(p + 1..).unwrap_or_default().to_vec();
                        break;
                    }
                    len += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // Report the line, then the error.
                    self.done = true;
                    self.error = Some(e);
                }
            }
        }
        let line = self.next_line;
        self.next_line += 1;
        Ok(Chunk {
            data: b"\n".to_vec(),
            first_line: line,
            oversized: vec![(line, len)],
        })
    }

    /// After an error: the bytes read before it (whole or partial lines).
    pub fn take_rest(&mut self) -> Option<Chunk> {
        if self.carry.is_empty() {
            return None;
        }
        let data = std::mem::take(&mut self.carry);
        Some(self.whole_lines(data))
    }
}

/// Turns a stream holding one JSON array into one element per line, so
/// a huge `.json` array is scanned in chunks like JSON lines instead of
/// being read whole. Element `k` (0-based) becomes line `k + 1`.
///
/// Newlines between tokens of a pretty-printed element become spaces (a
/// JSON string cannot hold a raw newline, so no value changes); the commas
/// between elements become newlines. Anything after the closing bracket
/// goes on its own line, where it is reported as malformed.
pub struct ArrayLines<R> {
    inner: R,
    buf: Vec<u8>,
    state: ArrayState,
    depth: u32,
    in_string: bool,
    escaped: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArrayState {
    /// Before the opening `[`.
    Before,
    /// Inside the array.
    Inside,
    /// After the closing `]`.
    After,
}

impl<R: Read> ArrayLines<R> {
    /// An adapter over a stream whose first non-blank byte is `[`.
    pub fn new(inner: R) -> ArrayLines<R> {
        ArrayLines {
            inner,
            buf: vec![0; 64 * 1024],
            state: ArrayState::Before,
            depth: 0,
            in_string: false,
            escaped: false,
        }
    }

    fn map(&mut self, b: u8) -> Option<u8> {
        match self.state {
            ArrayState::Before => {
                if b == b'[' {
                    self.state = ArrayState::Inside;
                    None
                } else if b.is_ascii_whitespace() {
                    None
                } else {
                    // Not an array after all: pass it through unchanged.
                    self.state = ArrayState::After;
                    Some(b)
                }
            }
            ArrayState::After => Some(b),
            ArrayState::Inside => {
                if self.in_string {
                    if self.escaped {
                        self.escaped = false;
                    } else if b == b'\\' {
                        self.escaped = true;
                    } else if b == b'"' {
                        self.in_string = false;
                    }
                    return Some(b);
                }
                match b {
                    b'"' => {
                        self.in_string = true;
                        Some(b)
                    }
                    b'{' | b'[' => {
                        self.depth += 1;
                        Some(b)
                    }
                    b']' if self.depth == 0 => {
                        self.state = ArrayState::After;
                        Some(b'\n')
                    }
                    b'}' | b']' => {
                        self.depth = self.depth.saturating_sub(1);
                        Some(b)
                    }
                    b',' if self.depth == 0 => Some(b'\n'),
                    b'\n' | b'\r' => Some(b' '),
                    _ => Some(b),
                }
            }
        }
    }
}

impl<R: Read> Read for ArrayLines<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            let want = out.len().min(self.buf.len());
            let n = self.inner.read(&mut self.buf[..want])?;
            if n == 0 {
                return Ok(0);
            }
            let mut w = 0;
            for i in 0..n {
                let b = self.buf[i];
                if let Some(m) = self.map(b) {
                    out[w] = m;
                    w += 1;
                }
            }
            if w > 0 {
                return Ok(w);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_at_line_boundaries() {
        let text: String = (0..10_000).map(|i| format!("{{\"n\":{i}}}\n")).collect();
        let mut c = Chunker::new(text.as_bytes(), 4096);
        let mut lines = 0;
        let mut expect_line = 1;
        while let Some(ch) = c.next_chunk().expect("read") {
            assert_eq!(ch.first_line, expect_line);
            assert_eq!(ch.data.last(), Some(&b'\n'));
            let n = memchr::memchr_iter(b'\n', &ch.data).count() as u64;
            expect_line += n;
            lines += n;
        }
        assert_eq!(lines, 10_000);
    }

    #[test]
    fn long_lines_are_kept_whole() {
        let long = "x".repeat(50_000);
        let text = format!("a\n{long}\nb");
        let mut c = Chunker::new(text.as_bytes(), 4096);
        let mut all = Vec::new();
        while let Some(ch) = c.next_chunk().expect("read") {
            all.extend(ch.data);
        }
        assert_eq!(all, text.as_bytes());
    }

    /// A reader that hands out at most `step` bytes per call and counts
    /// what it has handed out.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(out.len()).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn lines_over_the_limit_are_skipped_without_buffering() {
        let long = "y".repeat(200_000);
        let text = format!("a\n{long}\nb\nc\n{long}");
        for step in [1000, 4096, 1 << 20] {
            let reader = Trickle {
                data: text.as_bytes(),
                step,
            };
            let mut c = Chunker::new(reader, 4096).with_max_line(10_000);
            let mut kept = Vec::new();
            let mut oversized = Vec::new();
            let mut biggest = 0;
            let mut next_line = 1;
            while let Some(ch) = c.next_chunk().expect("read") {
                assert_eq!(ch.first_line, next_line, "step {step}");
                next_line += memchr::memchr_iter(b'\n', &ch.data).count() as u64;
                biggest = biggest.max(ch.data.capacity());
                oversized.extend(ch.oversized);
                kept.extend(ch.data);
            }
            assert_eq!(oversized, vec![(2, 200_000), (5, 200_000)], "step {step}");
            assert_eq!(kept, b"a\n\nb\nc\n\n", "step {step}");
            // Never more than the limit plus a read or two in memory.
            assert!(biggest < 40_000, "step {step}: {biggest}");
        }
    }

    #[test]
    fn arrays_become_lines() {
        let text = "  [\n {\"a\": [1, 2],\n  \"b\": \"x,]\\\"\"},\n 3, \"s\" ,{}\n]\n";
        let mut out = String::new();
        ArrayLines::new(text.as_bytes())
            .read_to_string(&mut out)
            .expect("read");
        let lines: Vec<&str> = out.lines().map(str::trim).collect();
        assert_eq!(
            lines,
            vec![r#"{"a": [1, 2],   "b": "x,]\""}"#, "3", r#""s""#, "{}", ""]
        );
        let v: serde_json::Value = serde_json::from_str(lines[0]).expect("element parses");
        assert_eq!(v["b"], r#"x,]""#);
    }

    #[test]
    fn formats() {
        assert_eq!(format_of(Path::new("a.evtx.gz")), Format::Evtx);
        assert_eq!(format_of(Path::new("a.JSON")), Format::Json);
        assert_eq!(format_of(Path::new("a.ndjson.zst")), Format::JsonLines);
    }
}
