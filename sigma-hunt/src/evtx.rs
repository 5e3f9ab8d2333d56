//! EVTX input through the `evtx` crate, whose JSON output is the nested
//! layout (`Event.System`, `Event.EventData`, `#attributes`).
//!
//! The parser needs to seek, so a compressed (or truncated) file is first
//! decompressed into an anonymous temporary file, never into memory, up to
//! [`crate::input::MAX_EVTX_BYTES`]. The parser is third-party code run on
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
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let plain_whole =
        comp == Compression::None && len >= HEADER && (len - HEADER).is_multiple_of(CHUNK);
    let mut problems = Vec::new();
    let size = if plain_whole {
        counter.fetch_add(len, Ordering::Relaxed);
        let parser = guarded(|| EvtxParser::from_path(path))?
            .map_err(|e| format!("not a readable EVTX file: {e}"))?
            .with_configuration(settings);
        if let Err(e) = run(parser, threads, emit) {
            problems.push(e);
        }
        len
    } else {
        // Compressed or truncated: spooled to a temporary file. A truncated
        // last chunk is padded with zeros so the records it still holds
        // are read rather than dropped; a read error (a corrupt gzip
        // stream) keeps what was decompressed before it.
        let (spool, size, read_error) = spool(path, counter, max_bytes)?;
        if let Some(e) = read_error {
            problems.push(e);
        }
        // A parser that cannot start still leaves the read error and the
        // truncation note below to explain why.
        match guarded(|| EvtxParser::from_read_seek(BufReader::new(spool))) {
            Ok(Ok(parser)) => {
                if let Err(e) = run(parser.with_configuration(settings), threads, emit) {
                    problems.push(e);
                }
            }
            Ok(Err(e)) => problems.push(format!("not a readable EVTX file: {e}")),
            Err(e) => problems.push(e),
        }
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
    let tail = size.saturating_sub(HEADER) % CHUNK;
    if size > HEADER && tail != 0 {
        out.set_len(size + (CHUNK - tail)).map_err(spool_error)?;
    }
    out.seek(SeekFrom::Start(0)).map_err(spool_error)?;
    Ok((out, size, read_error))
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
