#!/usr/bin/env bash
# Throughput of `sigil hunt` next to the parse floor, measured in the same run.
#
#   scripts/bench.sh [RULES] [THREADS]
#
# RULES defaults to ../shared/corpus/sigma/rules/windows, THREADS to 2.
# For each bench file it prints MB/s, events/s and peak RSS of the whole
# `sigil hunt` process (rule loading included) and of the parse floor
# (every line into serde_json::Value on one thread), and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SIGIL_SHARED:-../shared}
RULES=${1:-$SHARED/corpus/sigma/rules/windows}
THREADS=${2:-2}
cargo build --release -q -p sigma-cli -p sigil-benches --bin sigil --bin parse_floor
SIGIL=target/release/sigil
FLOOR=target/release/parse_floor

TIMES=$(mktemp)
trap 'rm -f "$TIMES"' EXIT
measure() { # prints "seconds peak_kb"
    /usr/bin/time -o "$TIMES" -f "%e %M" "$@" >/dev/null 2>/dev/null || true
    tail -1 "$TIMES"
}

for f in "$SHARED/bench/windows-sample.jsonl" "$SHARED/bench/windows-sample-flat.jsonl"; do
    [ -f "$f" ] || { echo "skipping: $f not found"; continue; }
    bytes=$(stat -c %s "$f")
    events=$(wc -l < "$f")
    read -r fs fk < <(measure "$FLOOR" "$f")
    read -r hs hk < <(measure "$SIGIL" hunt -r "$RULES" --threads "$THREADS" --format jsonl -o /dev/null "$f")
    awk -v name="$(basename "$f")" -v b="$bytes" -v e="$events" -v fs="$fs" -v fk="$fk" -v hs="$hs" -v hk="$hk" 'BEGIN {
        fmb = b / 1e6 / fs; hmb = b / 1e6 / hs;
        printf "%s (%.1f MB, %d events)\n", name, b / 1e6, e;
        printf "  parse floor (1 thread): %7.1f MB/s %9.0f events/s  peak %6.1f MB\n", fmb, e / fs, fk / 1024;
        printf "  sigil hunt  (%s threads): %7.1f MB/s %9.0f events/s  peak %6.1f MB\n", "'"$THREADS"'", hmb, e / hs, hk / 1024;
        printf "  ratio hunt/floor: %.2f\n", hmb / fmb;
    }'
done

# Peak RSS on a 1 GB file made by repeating a bench file (generated under
# /tmp, never committed). SIGIL_BENCH_BIG=0 skips it.
if [ "${SIGIL_BENCH_BIG:-1}" != "0" ] && [ -f "$SHARED/bench/windows-sample.jsonl" ]; then
    big=${TMPDIR:-/tmp}/sigil-bench-1g.jsonl
    src="$SHARED/bench/windows-sample.jsonl"
    if [ ! -f "$big" ] || [ "$(stat -c %s "$big")" -lt 1000000000 ]; then
        : > "$big"
        while [ "$(stat -c %s "$big")" -lt 1000000000 ]; do cat "$src" >> "$big"; done
    fi
    bytes=$(stat -c %s "$big")
    read -r hs hk < <(measure "$SIGIL" hunt -r "$RULES" --threads "$THREADS" --format jsonl -o /dev/null "$big")
    awk -v b="$bytes" -v hs="$hs" -v hk="$hk" 'BEGIN {
        printf "1 GB file (%.0f MB, windows-sample.jsonl repeated)\n", b / 1e6;
        printf "  sigil hunt  (%s threads): %7.1f MB/s  peak %6.1f MB (bar: < 256 MB)\n", "'"$THREADS"'", b / 1e6 / hs, hk / 1024;
    }'
fi
