#!/usr/bin/env bash
# `make bench`: throughput numbers for README.  Never part of `make test`.
# Host chain: synthetic -> 0, 1, 8 filters -> null sink; JSON rendering next
# to jansson; the file sink.  Then every tests/scripts/bench-*.sh (ETL
# decoding vs dissect.etl, archive vs zstd, Kafka sink vs kcat).
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
N=${BENCH_EVENTS:-2000000}
W=$B/bench
rm -rf "$W"; mkdir -p "$W"
nullsink=$PWD/$B/tests/plugins/nullsink.so
[ -f "$nullsink" ] || make -s BUILD="$B" "$B/tests/plugins/nullsink.so" >/dev/null

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }

echo "machine: $(nproc) cores, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//')"
echo "events per run: $N"

# chain_dir NAME NFILTERS RULE SINK_JSON
chain_dir() {
    local d=$W/$1 i
    mkdir -p "$d/conf.d"
    printf '{"batch_size": 1024, "sources": [{"type": "synthetic", "count": %s, "seed": 7, "pool": 4096}]}\n' "$N" > "$d/etwhost.json"
    for i in $(seq 1 "$2"); do
        printf '{"name": "f%02d", "plugin": "filter", "settings": {"mode": "include", "rule": %s}}\n' "$i" "$3" > "$d/conf.d/10-f$(printf %02d "$i").json"
    done
    echo "$4" > "$d/conf.d/90-sink.json"
    echo "$d"
}

time_run() { # dir -> seconds
    local t0 t1
    t0=$(now)
    "$B/etwhost" run -c "$1" -q >/dev/null 2>"$W/last.err" || { echo "run failed: $(cat "$W/last.err")" >&2; echo 0; return; }
    t1=$(now)
    secs "$t0" "$t1"
}

NULL_SINK="{\"name\": \"null\", \"plugin\": \"nullsink\", \"path\": \"$nullsink\"}"
echo
echo "== chain: synthetic -> filters -> null sink (decode included, no JSON)"
declare -A T
for nf in 0 1 8; do
    d=$(chain_dir "chain$nf" "$nf" '{"level_max": 5}' "$NULL_SINK")
    T[$nf]=$(time_run "$d")
    echo "  $nf filters (record stage, level_max): ${T[$nf]} s, $(rate "$N" "${T[$nf]}") events/s"
done
per=$(awk -v a="${T[0]}" -v b="${T[8]}" -v n="$N" 'BEGIN { v = (b - a) / 8 / n * 1e9; if (v < 0) v = 0; printf "%.1f", v }')
echo "  cost per filter per event: $per ns (target <= 30 ns)"
d=$(chain_dir "chainprop" 8 '{"prop": "ProcessId", "gt": 0}' "$NULL_SINK")
tp=$(time_run "$d")
perp=$(awk -v a="${T[0]}" -v b="$tp" -v n="$N" 'BEGIN { v = (b - a) / 8 / n * 1e9; if (v < 0) v = 0; printf "%.1f", v }')
echo "  8 event-stage property filters: $tp s, $(rate "$N" "$tp") events/s, $perp ns per filter per event"

echo
echo "== one filter, decoded events in memory (tests/tools/bench_filters)"
"$B/tools/bench_filters" "$B/plugins" 300 | sed 's/^/  /'

echo
echo "== JSON rendering (10-property event)"
if [ -x "$B/tools/bench_json" ]; then
    "$B/tools/bench_json" | sed 's/^/  /'
else
    echo "  (bench_json not built)"
fi

echo
echo "== file sink: synthetic -> file (JSON lines)"
d=$(chain_dir "filesink" 0 '{}' "{\"name\": \"out\", \"plugin\": \"file\", \"settings\": {\"path\": \"$PWD/$W/out.jsonl\", \"fsync\": \"never\"}}")
tf=$(time_run "$d")
bytes=$(stat -c %s "$W/out.jsonl" 2>/dev/null || echo 0)
echo "  $tf s, $(rate "$N" "$tf") events/s, $(awk -v b="$bytes" -v s="$tf" 'BEGIN { printf "%.1f", b / s / 1048576 }') MB/s ($((bytes / 1048576)) MB written)"
rm -f "$W/out.jsonl"

for extra in tests/scripts/bench-*.sh; do
    [ -f "$extra" ] || continue
    echo
    echo "== $(basename "$extra" .sh)"
    BUILD="$B" bash "$extra"
done
