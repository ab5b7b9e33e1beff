#!/usr/bin/env bash
# Archive benchmark (`make bench` runs every tests/scripts/bench-*.sh).
#
# For each trace in ../shared/corpus/large (skipped when absent), in one run:
#   size   the .etl; the archive (default settings); zstd -19 of the .etl with
#          its buffers inflated (tests/tools/etl_inflate); zstd -3 of the
#          canonical JSON lines (`etwhost dump`);
#   speed  write: .etl -> decode -> archive sink (`etwhost run`, fsync never);
#          replay: archive source -> decode (with the archived schemas) ->
#          null sink; read: the archive reader alone (`etwhost archive info`);
#          BENCH_RUNS interleaved rounds (default 5), each trace's fastest run
#          counts (totals with each trace's median run are shown too).
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

RUNS=${BENCH_RUNS:-5}
# timed1 CLEAN CMD... -> "wall cpu" of one run of CMD (bash's time, to the
# millisecond; cpu = user + sys of all threads).  CLEAN (a file, or "") is
# removed before the run, outside the timing.  CMD's output goes to
# $W/cmd.out and $W/cmd.err (shown, and the script stops, when CMD fails).
timed1() {
    local clean=$1; shift
    local TIMEFORMAT='%3R %3U %3S'
    [ -n "$clean" ] && rm -f "$clean"
    { time "$@" >"$W/cmd.out" 2>"$W/cmd.err"; } 2>"$W/time.txt" || { cat "$W/cmd.err" >&2; return 1; }
    awk 'END { printf "%s %.3f\n", $1, $2 + $3 }' "$W/time.txt"
}
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
size() { stat -c %s "$1"; }
min() { tr ' ' '\n' <<<"$1" | awk 'NF { if (m == "" || $1 < m) m = $1 } END { print m }'; }
median() { tr ' ' '\n' <<<"$1" | awk 'NF' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
sum() { awk -v a="$1" -v b="$2" 'BEGIN { print a + b }'; }

run_conf() { # dir source_json sink_json
    mkdir -p "$1/conf.d"
    printf '{"batch_size": 1024, "sources": [%s]}\n' "$2" > "$1/etwhost.json"
    echo "$3" > "$1/conf.d/10-sink.json"
}

# Sizes and set-up, one trace at a time.
traces=("$CORPUS"/*.etl)
declare -a NAME EV ETL PLAIN Z19 JZ ARC RAW WW WC RW RC DW DC
for i in "${!traces[@]}"; do
    etl=${traces[$i]}
    name=$(basename "$etl" .etl); NAME[$i]=$name
    d=$W/$name; mkdir -p "$d"
    "$B/tools/etl_inflate" "$etl" "$d/plain.etl" 2>/dev/null || cp "$etl" "$d/plain.etl"
    ETL[$i]=$(size "$etl"); PLAIN[$i]=$(size "$d/plain.etl")
    Z19[$i]=$(zstd -19 -T1 -q -c "$d/plain.etl" | wc -c)
    "$E" dump -q "$etl" > "$d/lines.jsonl"
    EV[$i]=$(wc -l < "$d/lines.jsonl")
    JZ[$i]=$(zstd -3 -q -c "$d/lines.jsonl" | wc -c)
    run_conf "$d/w" "{\"type\": \"etl\", \"path\": \"$PWD/$etl\"}" \
        "{\"name\": \"a\", \"plugin\": \"archive\", \"settings\": {\"path\": \"$PWD/$d/a.etwa\", \"fsync\": \"never\"}}"
    rm -f "$d/a.etwa"
    "$E" run -c "$d/w" >/dev/null 2>"$W/cmd.err" || { cat "$W/cmd.err"; exit 1; }
    ARC[$i]=$(size "$d/a.etwa")
    RAW[$i]=$("$E" archive info "$d/a.etwa" | sed -n 's/^raw records: *\([0-9]*\) bytes.*/\1/p')
    run_conf "$d/r" "{\"type\": \"archive\", \"path\": \"$PWD/$d/a.etwa\"}" \
        "{\"name\": \"n\", \"plugin\": \"nullsink\", \"path\": \"$PWD/$B/tests/plugins/nullsink.so\"}"
    # the archive must dump to the same lines
    "$E" dump -q "$d/a.etwa" | cmp -s - "$d/lines.jsonl" || echo "bench-archive: $name: archive dump DIFFERS"
    rm -f "$d/plain.etl" "$d/lines.jsonl"
done

# Speed, in RUNS interleaved rounds (every trace's write, replay and read once
# per round), so that a burst of load on this shared machine hits one run of
# a trace rather than all of them; each trace keeps its fastest run.
#   write:  .etl -> decode -> archive sink (`etwhost run`, fsync never)
#   replay: archive source -> decode (with the archived schemas) -> null sink
#   read:   the archive reader alone (`etwhost archive info`)
for r in $(seq "$RUNS"); do
    for i in "${!traces[@]}"; do
        d=$W/${NAME[$i]}
        read -r w c < <(timed1 "$d/a.etwa" "$E" run -c "$d/w") || exit 1
        WW[$i]="${WW[$i]:-} $w"; WC[$i]="${WC[$i]:-} $c"
        read -r w c < <(timed1 "" "$E" run -c "$d/r") || exit 1
        RW[$i]="${RW[$i]:-} $w"; RC[$i]="${RC[$i]:-} $c"
        read -r w c < <(timed1 "" "$E" archive info "$d/a.etwa") || exit 1
        DW[$i]="${DW[$i]:-} $w"; DC[$i]="${DC[$i]:-} $c"
    done
done

echo "(sizes in bytes; speeds in events/s by wall clock and per CPU second of the process, best"
echo " of $RUNS interleaved rounds, process start included; write MB/s counts the raw records)"
printf '%-22s %7s %9s %9s %8s %9s %8s | %8s %8s %6s | %8s %8s | %8s %8s\n' trace events etl \
    plain-etl 'zstd19' 'json-zst3' archive 'write/s' 'cpu' 'MB/s' 'replay/s' 'cpu' 'read/s' 'cpu'
T_EV=0; T_ARC=0; T_Z19=0; T_JZ=0; T_WS=0; T_RS=0; T_READ=0; T_WSC=0; T_RSC=0; T_RDC=0
T_WSM=0; T_RSM=0; MAXZ=0
for i in "${!traces[@]}"; do
    events=${EV[$i]}
    ws=$(min "${WW[$i]}"); ws_cpu=$(min "${WC[$i]}"); rs=$(min "${RW[$i]}"); rs_cpu=$(min "${RC[$i]}")
    rd=$(min "${DW[$i]}"); rd_cpu=$(min "${DC[$i]}")
    printf '%-22s %7d %9d %9d %8d %9d %8d | %8s %8s %6s | %8s %8s | %8s %8s\n' "${NAME[$i]#perfview__}" \
        "$events" "${ETL[$i]}" "${PLAIN[$i]}" "${Z19[$i]}" "${JZ[$i]}" "${ARC[$i]}" \
        "$(rate "$events" "$ws")" "$(rate "$events" "$ws_cpu")" \
        "$(awk -v b="${RAW[$i]}" -v s="$ws" 'BEGIN { printf "%.0f", b / s / 1e6 }')" \
        "$(rate "$events" "$rs")" "$(rate "$events" "$rs_cpu")" "$(rate "$events" "$rd")" "$(rate "$events" "$rd_cpu")"
    T_EV=$((T_EV + events)); T_ARC=$((T_ARC + ARC[i])); T_Z19=$((T_Z19 + Z19[i])); T_JZ=$((T_JZ + JZ[i]))
    T_WS=$(sum "$T_WS" "$ws"); T_RS=$(sum "$T_RS" "$rs"); T_READ=$(sum "$T_READ" "$rd")
    T_WSC=$(sum "$T_WSC" "$ws_cpu"); T_RSC=$(sum "$T_RSC" "$rs_cpu"); T_RDC=$(sum "$T_RDC" "$rd_cpu")
    T_WSM=$(sum "$T_WSM" "$(median "${WW[$i]}")"); T_RSM=$(sum "$T_RSM" "$(median "${RW[$i]}")")
    MAXZ=$(awk -v a="$MAXZ" -v b="$(ratio "${ARC[$i]}" "${Z19[$i]}")" 'BEGIN { print (b > a) ? b : a }')
done
echo "totals: $T_EV events; archive $T_ARC bytes"
echo "  archive / zstd -19 of the plain .etl: $(ratio "$T_ARC" "$T_Z19"), largest per trace $MAXZ (target <= 1)"
echo "  archive / zstd -3 of JSON lines:      $(ratio "$T_ARC" "$T_JZ") (target <= 0.6)"
echo "  (events/s over all traces by wall clock, then by CPU seconds of the process, then by wall"
echo "   clock with each trace's median run instead of its best)"
echo "  write  (etl -> decode -> archive):    $(rate "$T_EV" "$T_WS") wall, $(rate "$T_EV" "$T_WSC") cpu, $(rate "$T_EV" "$T_WSM") median (target >= 1000000)"
echo "  replay (archive -> decode -> null):   $(rate "$T_EV" "$T_RS") wall, $(rate "$T_EV" "$T_RSC") cpu, $(rate "$T_EV" "$T_RSM") median (target >= 2000000)"
echo "  read   (archive reader alone):        $(rate "$T_EV" "$T_READ") wall, $(rate "$T_EV" "$T_RDC") cpu"

# Steady state: each trace repeated to ~256 MB (tools/etlgen --repeat) and written once,
# so that process start and the last block (compressed after the input ends) weigh little.
echo
echo "write, steady state (each trace repeated to ~256 MB, one run each):"
S_EV=0; S_W=0
for etl in "$CORPUS"/*.etl; do
    name=$(basename "$etl" .etl)
    d=$W/$name
    big=$W/big.etl
    "$B/tools/etlgen" --repeat "$etl" --target-bytes 268435456 -o "$big" >/dev/null || exit 1
    run_conf "$d/b" "{\"type\": \"etl\", \"path\": \"$PWD/$big\"}" \
        "{\"name\": \"a\", \"plugin\": \"archive\", \"settings\": {\"path\": \"$PWD/$d/big.etwa\", \"fsync\": \"never\"}}"
    read -r sw sw_cpu < <(timed1 "$d/big.etwa" "$E" run -c "$d/b") || exit 1
    n=$(sed -n 's/^etwhost: \([0-9]*\) events in .*/\1/p' "$W/cmd.err" | tail -1)
    printf '  %-26s %9d events %6.2f s  %8s ev/s  %8s ev/cpu-s  archive %s bytes\n' "${name#perfview__}" \
        "$n" "$sw" "$(rate "$n" "$sw")" "$(rate "$n" "$sw_cpu")" "$(size "$d/big.etwa")"
    S_EV=$((S_EV + n)); S_W=$(awk -v a="$S_W" -v b="$sw" 'BEGIN { print a + b }')
    rm -f "$big" "$d/big.etwa"
done
echo "  all: $(rate "$S_EV" "$S_W") events/s (target >= 1000000)"
