//! EVTX input through the `evtx` crate, whose JSON output is the nested
//! layout (`Event.System`, `Event.EventData`, `#attributes`).

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use evtx::{EvtxParser, ParserSettings};

use crate::input::{self, Compression};
use crate::scan::Work;

/// Records per unit of work.
const RECORDS_PER_WORK: usize = 1024;

/// Parses an EVTX file (possibly compressed) and hands batches of records
/// to `emit`. Unreadable records become errors in the batch; an unreadable
/// file is an `Err`.
pub(crate) fn scan_evtx(
    path: &Path,
    counter: &Arc<AtomicU64>,
    threads: usize,
    emit: &mut dyn FnMut(Vec<Work>),
) -> Result<(), String> {
    let comp = input::compression_of(path).map_err(|e| e.to_string())?;
    let settings = ParserSettings::new()
        .num_threads(threads)
        .separate_json_attributes(false)
        .indent(false);
    let size;
    let plain_whole = comp == Compression::None && {
        let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        len >= HEADER && (len - HEADER).is_multiple_of(CHUNK)
    };
    if plain_whole {
        size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        counter.fetch_add(size, Ordering::Relaxed);
        let parser = EvtxParser::from_path(path)
            .map_err(|e| format!("not a readable EVTX file: {e}"))?
            .with_configuration(settings);
        run(parser, threads, emit);
    } else {
        // Compressed (the parser needs to seek) or truncated: read into
        // memory. A truncated last chunk is padded with zeros so the
        // records it still holds are read rather than dropped.
        let mut data = Vec::new();
        input::open(path, counter.clone())
            .and_then(|mut r| r.read_to_end(&mut data))
            .map_err(|e| format!("read error: {e}"))?;
        size = data.len() as u64;
        let tail = size.saturating_sub(HEADER) % CHUNK;
        if size > HEADER && tail != 0 {
            data.resize(data.len() + (CHUNK - tail) as usize, 0);
        }
        let parser = EvtxParser::from_buffer(data)
            .map_err(|e| format!("not a readable EVTX file: {e}"))?
            .with_configuration(settings);
        run(parser, threads, emit);
    }
    // An EVTX file is a 4 KiB header and whole 64 KiB chunks; a partial
    // chunk is skipped by the parser, so say so instead of losing it.
    let tail = size.saturating_sub(HEADER) % CHUNK;
    if size < HEADER || tail != 0 {
        return Err(format!(
            "truncated EVTX file: {size} bytes, the last chunk is incomplete ({tail} of {CHUNK} bytes); records after the cut are lost"
        ));
    }
    Ok(())
}

const HEADER: u64 = 4096;
const CHUNK: u64 = 65536;

fn run<T: std::io::Read + std::io::Seek>(
    mut parser: EvtxParser<T>,
    threads: usize,
    emit: &mut dyn FnMut(Vec<Work>),
) {
    let per_batch = threads.max(1) * 2;
    let mut batch: Vec<Work> = Vec::with_capacity(per_batch);
    let mut recs = Vec::with_capacity(RECORDS_PER_WORK);
    for r in parser.records_json_value() {
        recs.push(
            r.map(|rec| (rec.event_record_id, rec.data))
                .map_err(|e| format!("unreadable EVTX record: {e}")),
        );
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
}
