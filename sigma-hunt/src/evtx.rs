//! EVTX input through the `evtx` crate, whose JSON output is the nested
//! layout (`Event.System`, `Event.EventData`, `#attributes`).
//!
//! The parser needs to seek, so a compressed file is first decompressed
//! into an anonymous temporary file, never into memory, up to
//! [`crate::input::MAX_EVTX_BYTES`]; an uncompressed file is read in place,
//! a truncated one with its last chunk padded with zeros on the fly. The parser is third-party code run on
//! hostile input: a panic inside it ends that file with an input error
//! (the records before it are kept), and the scan goes on.

use std::any::Any;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use evtx::{EvtxParser, ParserSettings};
use serde_json::Value;

use crate::input::{self, Compression};
use crate::scan::Work;

/// Records per unit of work.
const RECORDS_PER_WORK: usize = 1024;

/// Parses an EVTX file (possibly compressed) and hands batches of records
/// to `emit`. Unreadable records become errors in the batch; an unreadable
/// file, one that decompresses to more than `max_bytes`, or a parser
/// failure is an `Err` (after the records read before it were emitted).
pub(crate) fn scan_evtx(
    path: &Path,
    counter: &Arc<AtomicU64>,
    threads: usize,
    max_bytes: u64,
    emit: &mut dyn FnMut(Vec<Work>),
) -> Result<(), String> {
    let comp = input::compression_of(path).map_err(|e| e.to_string())?;
    let settings = ParserSettings::new()
        .num_threads(threads)
        .separate_json_attributes(false)
        .indent(false);
    let mut problems = Vec::new();
    let size = if comp == Compression::None {
        // Read in place; a truncated file (a partial copy of a live log)
        // has its last chunk padded with zeros on the fly so the records
        // it still holds are read rather than dropped (a whole file reads
        // as it is).
        let file = File::open(path).map_err(|e| format!("read error: {e}"))?;
        let len = file
            .metadata()
            .map_err(|e| format!("read error: {e}"))?
            .len();
        counter.fetch_add(len, Ordering::Relaxed);
        let reader = Padded {
            file,
            len,
            padded: padded_len(len),
            pos: 0,
        };
        parse_seekable(reader, settings, threads, emit, &mut problems);
        len
    } else {
        // Compressed: decompressed to a temporary file (padded the same
        // way); a read error (a corrupt gzip stream) keeps what was
        // decompressed before it.
        let (spool, size, read_error) = spool(path, counter, max_bytes)?;
        if let Some(e) = read_error {
            problems.push(e);
        }
        parse_seekable(spool, settings, threads, emit, &mut problems);
        size
    };
    // An EVTX file is a 4 KiB header and whole 64 KiB chunks; a partial
    // chunk is skipped by the parser, so say so instead of losing it.
    let tail = size.saturating_sub(HEADER) % CHUNK;
    if size < HEADER || tail != 0 {
        problems.push(format!(
            "truncated EVTX file: {size} bytes, the last chunk is incomplete ({tail} of {CHUNK} bytes); records after the cut are lost"
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

const HEADER: u64 = 4096;
const CHUNK: u64 = 65536;

/// Decompresses `path` into an anonymous temporary file, padded to whole
/// chunks: the file (at its start), the bytes decompressed, and the read
/// error that cut it short, if any. More than `max_bytes` is an `Err`.
fn spool(
    path: &Path,
    counter: &Arc<AtomicU64>,
    max_bytes: u64,
) -> Result<(File, u64, Option<String>), String> {
    let mut reader = input::open(path, counter.clone()).map_err(|e| format!("read error: {e}"))?;
    let mut out = tempfile::tempfile()
        .map_err(|e| format!("cannot create a temporary file to decompress into: {e}"))?;
    let spool_error = |e: std::io::Error| format!("cannot write the decompressed file: {e}");
    let mut block = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    let mut read_error = None;
    loop {
        let n = match reader.read(&mut block) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                read_error = Some(format!("read error after {size} decompressed bytes: {e}"));
                break;
            }
        };
        size += n as u64;
        if size > max_bytes {
            return Err(format!(
                "EVTX file decompresses to more than {max_bytes} bytes (the limit); not read"
            ));
        }
        out.write_all(block.get(..n).unwrap_or_default())
            .map_err(spool_error)?;
    }
    if padded_len(size) != size {
        out.set_len(padded_len(size)).map_err(spool_error)?;
    }
    out.seek(SeekFrom::Start(0)).map_err(spool_error)?;
    Ok((out, size, read_error))
}

/// The length of a file of `len` bytes with its last, partial chunk
/// padded to a whole one.
fn padded_len(len: u64) -> u64 {
    let tail = len.saturating_sub(HEADER) % CHUNK;
    if len > HEADER && tail != 0 {
        len + (CHUNK - tail)
    } else {
        len
    }
}

/// Runs the parser over a seekable EVTX stream; a parser that cannot
/// start is one more problem (the read error and the truncation note the
/// caller adds still explain why).
fn parse_seekable<T: Read + Seek + Send + 'static>(
    reader: T,
    settings: ParserSettings,
    threads: usize,
    emit: &mut dyn FnMut(Vec<Work>),
    problems: &mut Vec<String>,
) {
    match guarded(|| EvtxParser::from_read_seek(BufReader::new(reader))) {
        Ok(Ok(parser)) => {
            if let Err(e) = run(parser.with_configuration(settings), threads, emit) {
                problems.push(e);
            }
        }
        Ok(Err(e)) => problems.push(format!("not a readable EVTX file: {e}")),
        Err(e) => problems.push(e),
    }
}

/// A file read as if zeros followed it up to `padded` bytes: a truncated
/// EVTX file's last chunk completed without copying the file.
struct Padded {
    file: File,
    /// The file's length when opened.
    len: u64,
    /// The length it is read as.
    padded: u64,
    /// The read position; the file's own position is `min(pos, len)`.
    pos: u64,
}

impl Read for Padded {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos < self.len {
            let want = usize::try_from(self.len - self.pos)
                .unwrap_or(usize::MAX)
                .min(buf.len());
            let n = self.file.read(buf.get_mut(..want).unwrap_or_default())?;
            if n > 0 || want == 0 {
                self.pos += n as u64;
                return Ok(n);
            }
            // The file shrank since it was opened: zeros from here on.
            self.len = self.pos;
        }
        let zeros = usize::try_from(self.padded.saturating_sub(self.pos))
            .unwrap_or(usize::MAX)
            .min(buf.len());
        buf.get_mut(..zeros).unwrap_or_default().fill(0);
        self.pos += zeros as u64;
        Ok(zeros)
    }
}

impl Seek for Padded {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let new = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.padded.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        }
        .ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek out of range")
        })?;
        self.file.seek(SeekFrom::Start(new.min(self.len)))?;
        self.pos = new;
        Ok(new)
    }
}

/// Runs `f`, turning a panic into an error message.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
        format!(
            "the EVTX parser failed ({}); records after the last one read are lost",
            panic_text(p.as_ref())
        )
    })
}

fn panic_text(p: &(dyn Any + Send)) -> &str {
    p.downcast_ref::<&str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("panic")
}

fn run<T: Read + Seek>(
    mut parser: EvtxParser<T>,
    threads: usize,
    emit: &mut dyn FnMut(Vec<Work>),
) -> Result<(), String> {
    let records = parser.records_json_value().map(|r| {
        r.map(|rec| (rec.event_record_id, rec.data))
            .map_err(|e| format!("unreadable EVTX record: {e}"))
    });
    drain(records, threads, emit)
}

/// Hands the records to `emit` in batches. Each step of the iterator (the
/// parser's work) runs under `catch_unwind`: after a panic the records
/// already read are emitted and the panic is returned as an error.
fn drain(
    mut records: impl Iterator<Item = Result<(u64, Value), String>>,
    threads: usize,
    emit: &mut dyn FnMut(Vec<Work>),
) -> Result<(), String> {
    let per_batch = threads.max(1) * 2;
    let mut batch: Vec<Work> = Vec::with_capacity(per_batch);
    let mut recs = Vec::with_capacity(RECORDS_PER_WORK);
    let mut failure = Ok(());
    loop {
        let r = match guarded(|| records.next()) {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => {
                failure = Err(e);
                break;
            }
        };
        recs.push(r);
        if recs.len() == RECORDS_PER_WORK {
            batch.push(Work::Records(std::mem::take(&mut recs)));
            if batch.len() == per_batch {
                emit(std::mem::take(&mut batch));
            }
        }
    }
    if !recs.is_empty() {
        batch.push(Work::Records(recs));
    }
    if !batch.is_empty() {
        emit(batch);
    }
    failure
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Padded` reads and seeks exactly like the file followed by zeros
    /// (what the compressed path writes to its temporary file).
    #[test]
    fn padded_reads_as_the_file_then_zeros() {
        let data: Vec<u8> = (0..HEADER + 3 * 1000)
            .map(|i| (i % 251) as u8 + 1)
            .collect();
        let mut file = tempfile::tempfile().expect("tempfile");
        file.write_all(&data).expect("write");
        file.seek(SeekFrom::Start(0)).expect("seek");
        let len = data.len() as u64;
        assert_eq!(padded_len(len), HEADER + CHUNK);
        let mut want = data.clone();
        want.resize((HEADER + CHUNK) as usize, 0);
        let mut p = Padded {
            file,
            len,
            padded: padded_len(len),
            pos: 0,
        };
        let mut got = Vec::new();
        p.read_to_end(&mut got).expect("read");
        assert_eq!(got, want);
        // Seeks into the data, into the padding, and back.
        for (to, at) in [
            (SeekFrom::Start(10), 10u64),
            (SeekFrom::End(-5), HEADER + CHUNK - 5),
            (SeekFrom::Start(len - 2), len - 2),
            // The read at len - 2 stops at the end of the file (2 bytes).
            (SeekFrom::Current(-100), len - 100),
        ] {
            assert_eq!(p.seek(to).expect("seek"), at);
            let mut buf = [0xAAu8; 7];
            let n = p.read(&mut buf).expect("read");
            let at = at as usize;
            assert_eq!(&buf[..n], &want[at..(at + n).min(want.len())], "at {at}");
            assert!(n > 0 || at == want.len());
        }
        assert!(p.seek(SeekFrom::Current(-1_000_000)).is_err());
        // Whole or tiny files are not padded.
        assert_eq!(padded_len(HEADER + CHUNK), HEADER + CHUNK);
        assert_eq!(padded_len(100), 100);
    }

    #[test]
    fn a_panic_in_the_parser_keeps_the_records_before_it() {
        let mut n = 0u64;
        let records = std::iter::from_fn(move || {
            n += 1;
            if n == 2500 {
                panic!("corrupt chunk {n}");
            }
            Some(Ok((n, Value::Null)))
        });
        let mut emitted = 0;
        let res = drain(records, 2, &mut |batch| {
            for w in batch {
                if let Work::Records(r) = w {
                    emitted += r.len();
                }
            }
        });
        assert_eq!(emitted, 2499);
        let err = res.expect_err("the panic is an error");
        assert!(err.contains("corrupt chunk 2500"), "{err}");
        assert!(err.contains("EVTX parser failed"), "{err}");
    }

    #[test]
    fn panic_payloads_become_text() {
        assert_eq!(
            guarded(|| -> u8 { std::panic::panic_any(7u32) }).expect_err("panics"),
            "the EVTX parser failed (panic); records after the last one read are lost"
        );
        assert!(guarded(|| -> u8 { panic!("static") })
            .expect_err("panics")
            .contains("(static)"));
        assert_eq!(guarded(|| 5), Ok(5));
    }
}
