#!/usr/bin/env bash
# Archive benchmark (`make bench` runs every tests/scripts/bench-*.sh).
#
# For each trace in ../shared/corpus/large (skipped when absent), in one run:
#   size   the .etl; the archive (default settings); zstd -19 of the .etl with
#          its buffers inflated (tests/tools/etl_inflate); zstd -3 of the
#          canonical JSON lines (`etwhost dump`);
#   speed  write: .etl -> decode -> archive sink (`etwhost run`, fsync never);
#          replay: archive source -> decode (with the archived schemas) ->
#          null sink; read: the archive reader alone (`etwhost archive info`).
# Then write speed in steady state: each trace repeated to ~256 MB and written
# once (on the small traces process start and the last block, compressed
# after the input ends, weigh on 0.05-0.4 s runs).
# Totals over all traces come last, as ratios against the targets
# (archive <= zstd -19 of the plain .etl, <= 0.6x zstd -3 of JSON lines,
# write >= 1 M events/s, replay >= 2 M events/s).
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
CORPUS=../shared/corpus/large
W=$B/bench-archive
if [ ! -d "$CORPUS" ]; then
    echo "bench-archive: SKIP ($CORPUS absent)"
    exit 0
fi
command -v zstd >/dev/null || { echo "bench-archive: SKIP (zstd not installed)"; exit 0; }
make -s BUILD="$B" "$B/etwhost" "$B/plugins/archive.so" "$B/tools/etl_inflate" \
    "$B/tests/plugins/nullsink.so" >/dev/null || exit 1
E=$PWD/$B/etwhost
rm -rf "$W"; mkdir -p "$W"

RUNS=${BENCH_RUNS:-3}
# timed OUTVAR CLEAN CMD...: the best of RUNS runs of CMD (bash's time, to the
# millisecond): wall seconds into OUTVAR, CPU seconds of the process (user +
# sys, all threads) into OUTVAR_cpu.  CLEAN (a file, or "") is removed before
# each run, outside the timing.  CMD's stdout and stderr go to $W/OUTVAR.out
# and $W/OUTVAR.err (shown when CMD fails), apart from time's own line.
timed() {
    local var=$1 clean=$2 i w c bw= bc=; shift 2
    local TIMEFORMAT='%3R %3U %3S'
    for i in $(seq "$RUNS"); do
        [ -n "$clean" ] && rm -f "$clean"
        { time "$@" >"$W/$var.out" 2>"$W/$var.err"; } 2>"$W/time.txt" || { cat "$W/$var.err"; return 1; }
        read -r w c < <(awk 'END { printf "%s %.3f\n", $1, $2 + $3 }' "$W/time.txt")
        bw=$(awk -v a="$bw" -v b="$w" 'BEGIN { print (a == "" || b < a) ? b : a }')
        bc=$(awk -v a="$bc" -v b="$c" 'BEGIN { print (a == "" || b < a) ? b : a }')
    done
    printf -v "$var" '%s' "$bw"
    printf -v "${var}_cpu" '%s' "$bc"
}
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
size() { stat -c %s "$1"; }

run_conf() { # dir source_json sink_json
    mkdir -p "$1/conf.d"
    printf '{"batch_size": 1024, "sources": [%s]}\n' "$2" > "$1/etwhost.json"
    echo "$3" > "$1/conf.d/10-sink.json"
}

printf '%-26s %7s %9s %9s %8s %9s %8s | %8s %8s | %8s %8s | %8s %8s\n' trace events etl \
    plain-etl 'zstd19' 'json-zst3' archive 'write/s' 'cpu' 'replay/s' 'cpu' 'read/s' 'cpu'
T_EV=0; T_ARC=0; T_Z19=0; T_JZ=0; T_WS=0; T_RS=0; T_READ=0; T_WSC=0; T_RSC=0; T_RDC=0
for etl in "$CORPUS"/*.etl; do
    name=$(basename "$etl" .etl)
    d=$W/$name; mkdir -p "$d"
    "$B/tools/etl_inflate" "$etl" "$d/plain.etl" 2>/dev/null || cp "$etl" "$d/plain.etl"
    z19=$(zstd -19 -T1 -q -c "$d/plain.etl" | wc -c)
    "$E" dump -q "$etl" > "$d/lines.jsonl"
    events=$(wc -l < "$d/lines.jsonl")
    jz=$(zstd -3 -q -c "$d/lines.jsonl" | wc -c)
    # write
    run_conf "$d/w" "{\"type\": \"etl\", \"path\": \"$PWD/$etl\"}" \
        "{\"name\": \"a\", \"plugin\": \"archive\", \"settings\": {\"path\": \"$PWD/$d/a.etwa\", \"fsync\": \"never\"}}"
    timed ws "$d/a.etwa" "$E" run -c "$d/w" || exit 1
    arc=$(size "$d/a.etwa")
    # replay through the chain (decode with the archived schemas) into the null sink
    run_conf "$d/r" "{\"type\": \"archive\", \"path\": \"$PWD/$d/a.etwa\"}" \
        "{\"name\": \"n\", \"plugin\": \"nullsink\", \"path\": \"$PWD/$B/tests/plugins/nullsink.so\"}"
    timed rs "" "$E" run -c "$d/r" || exit 1
    # the reader alone
    timed rd "" "$E" archive info "$d/a.etwa"
    # the archive must dump to the same lines
    "$E" dump -q "$d/a.etwa" | cmp -s - "$d/lines.jsonl" || echo "bench-archive: $name: archive dump DIFFERS"
    printf '%-26s %7d %9d %9d %8d %9d %8d | %8s %8s | %8s %8s | %8s %8s\n' "${name#perfview__}" \
        "$events" "$(size "$etl")" "$(size "$d/plain.etl")" "$z19" "$jz" "$arc" \
        "$(rate "$events" "$ws")" "$(rate "$events" "$ws_cpu")" "$(rate "$events" "$rs")" \
        "$(rate "$events" "$rs_cpu")" "$(rate "$events" "$rd")" "$(rate "$events" "$rd_cpu")"
    T_EV=$((T_EV + events)); T_ARC=$((T_ARC + arc)); T_Z19=$((T_Z19 + z19)); T_JZ=$((T_JZ + jz))
    T_WS=$(awk -v a="$T_WS" -v b="$ws" 'BEGIN { print a + b }')
    T_RS=$(awk -v a="$T_RS" -v b="$rs" 'BEGIN { print a + b }')
    T_READ=$(awk -v a="$T_READ" -v b="$rd" 'BEGIN { print a + b }')
    T_WSC=$(awk -v a="$T_WSC" -v b="$ws_cpu" 'BEGIN { print a + b }')
    T_RSC=$(awk -v a="$T_RSC" -v b="$rs_cpu" 'BEGIN { print a + b }')
    T_RDC=$(awk -v a="$T_RDC" -v b="$rd_cpu" 'BEGIN { print a + b }')
    rm -f "$d/plain.etl" "$d/lines.jsonl"
done
echo "totals: $T_EV events; archive $T_ARC bytes"
echo "  archive / zstd -19 of the plain .etl: $(ratio "$T_ARC" "$T_Z19") (target <= 1)"
echo "  archive / zstd -3 of JSON lines:      $(ratio "$T_ARC" "$T_JZ") (target <= 0.6)"
echo "  (events/s by wall clock, then by CPU seconds of the process, best of $RUNS runs: the"
echo "   second is steadier on a shared machine; both include process start and plugin loading)"
echo "  write  (etl -> decode -> archive):    $(rate "$T_EV" "$T_WS") wall, $(rate "$T_EV" "$T_WSC") cpu (target >= 1000000)"
echo "  replay (archive -> decode -> null):   $(rate "$T_EV" "$T_RS") wall, $(rate "$T_EV" "$T_RSC") cpu (target >= 2000000)"
echo "  read   (archive reader alone):        $(rate "$T_EV" "$T_READ") wall, $(rate "$T_EV" "$T_RDC") cpu"

# Steady state: each trace repeated to ~256 MB (tools/etlgen --repeat) and written once,
# so that process start and the last block (compressed after the input ends) weigh little.
echo
echo "write, steady state (each trace repeated to ~256 MB, one run each):"
S_EV=0; S_W=0; RUNS=1
for etl in "$CORPUS"/*.etl; do
    name=$(basename "$etl" .etl)
    d=$W/$name
    big=$W/big.etl
    "$B/tools/etlgen" --repeat "$etl" --target-bytes 268435456 -o "$big" >/dev/null || exit 1
    run_conf "$d/b" "{\"type\": \"etl\", \"path\": \"$PWD/$big\"}" \
        "{\"name\": \"a\", \"plugin\": \"archive\", \"settings\": {\"path\": \"$PWD/$d/big.etwa\", \"fsync\": \"never\"}}"
    timed sw "$d/big.etwa" "$E" run -c "$d/b" || exit 1
    n=$(sed -n 's/^etwhost: \([0-9]*\) events in .*/\1/p' "$W/sw.err" | tail -1)
    printf '  %-26s %9d events %6.2f s  %8s ev/s  %8s ev/cpu-s  archive %s bytes\n' "${name#perfview__}" \
        "$n" "$sw" "$(rate "$n" "$sw")" "$(rate "$n" "$sw_cpu")" "$(size "$d/big.etwa")"
    S_EV=$((S_EV + n)); S_W=$(awk -v a="$S_W" -v b="$sw" 'BEGIN { print a + b }')
    rm -f "$big" "$d/big.etwa"
done
echo "  all: $(rate "$S_EV" "$S_W") events/s (target >= 1000000)"
