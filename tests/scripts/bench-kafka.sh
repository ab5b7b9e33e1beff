#!/bin/bash
# make bench-kafka: the kafka sink against `kcat -P` on the same broker and events.
#
# 1. start a single-node Kafka 4.x broker on 127.0.0.1 (tests/kafka/kafka-broker.sh);
# 2. dump N synthetic events as canonical JSON lines (etwhost run, stdout sink);
# 3. warm the broker's JIT with one unmeasured kcat run (a cold JVM would penalise
#    whichever side runs first);
#    The sink sends three headers per message (provider, event_id, host) by default, so
#    kcat sends three static headers of the same size (-H); HEADERS=0 turns them off on
#    both sides.
# 4. ROUNDS rounds, alternating which side goes first:
#    - etwhost run with the kafka sink on the same N events, timed from start to
#      exit (the sink closes only after the last delivery report);
#    - kcat -P on the dumped lines with the same producer settings, timed likewise;
# 5. check every topic holds N messages; print messages/s and MB/s (JSON bytes) of
#    each run and of the best run per side.
# The last line is exactly: kafka sink X msg/s, kcat Y msg/s, ratio R   (best runs)
#
# Environment: BUILD (build), N (1000000), ROUNDS (2), LINGER_MS (5), COMPRESSION (zstd),
# BATCH_SIZE (librdkafka default), ACKS (all), IDEMPOTENCE (true), HEADERS (1).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
BUILD=${BUILD:-build}
N=${N:-1000000}
ROUNDS=${ROUNDS:-2}
LINGER_MS=${LINGER_MS:-5}
COMPRESSION=${COMPRESSION:-zstd}
BATCH_SIZE=${BATCH_SIZE:-}
ACKS=${ACKS:-all}
IDEMPOTENCE=${IDEMPOTENCE:-true}
HEADERS=${HEADERS:-1}
etwhost="$root/$BUILD/etwhost"
[ -x "$etwhost" ] || { echo "bench-kafka: $etwhost not built" >&2; exit 1; }
command -v kcat >/dev/null || { echo "bench-kafka: kcat not installed" >&2; exit 1; }

work="$root/$BUILD/kafka-bench"
dir="$work/broker"
tests/kafka/kafka-broker.sh stop "$dir" 2>/dev/null
rm -rf "$work"
mkdir -p "$work"
brokers=$(tests/kafka/kafka-broker.sh start "$dir") || exit 1
trap 'tests/kafka/kafka-broker.sh stop "$dir"' EXIT
echo "bench-kafka: broker $brokers, $N events, $ROUNDS rounds, linger.ms=$LINGER_MS" \
     "compression=$COMPRESSION acks=$ACKS idempotence=$IDEMPOTENCE${BATCH_SIZE:+ batch.size=$BATCH_SIZE}" \
     "headers=$HEADERS"

# The producer settings both sides use, as rdkafka JSON and as kcat -X options.
props=("linger.ms=$LINGER_MS" "compression.codec=$COMPRESSION" "acks=$ACKS"
       "enable.idempotence=$IDEMPOTENCE")
[ -n "$BATCH_SIZE" ] && props+=("batch.size=$BATCH_SIZE")
rdjson=""
kx=()
for p in "${props[@]}"; do
    rdjson="$rdjson${rdjson:+,}\"${p%%=*}\":\"${p#*=}\""
    kx+=(-X "$p")
done
host=$(hostname -s 2>/dev/null || echo unknown)
if [ "$HEADERS" = 1 ]; then
    sink_headers=true
    kx+=(-H "provider=Etwhost-Synthetic-Process" -H "event_id=1" -H "host=$host")
else
    sink_headers=false
fi

source_json="{\"type\":\"synthetic\",\"count\":$N,\"seed\":1}"
conf() { # name plugin settings
    mkdir -p "$work/$1/conf.d"
    echo "{\"sources\":[$source_json],\"state_dir\":\"$work/$1/state\"}" >"$work/$1/etwhost.json"
    echo "{\"name\":\"out\",\"plugin\":\"$2\",\"settings\":$3}" >"$work/$1/conf.d/50-out.json"
}
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
count() { kcat -Q -b "$brokers" -t "$1:0:-1" 2>/dev/null | awk '{print $NF}'; }
rate() { calc %d "$1 / $2"; }
mbs() { calc %.1f "$1 / $2 / 1000000"; }

# The events as JSON lines (also the pipeline alone, for reference).
conf dump stdout '{"format":"json"}'
t0=$(now)
"$etwhost" run -q -c "$work/dump" >"$work/events.jsonl" || { echo "bench-kafka: dump failed" >&2; exit 1; }
t_dump=$(calc %.3f "$(now) - $t0")
lines=$(wc -l <"$work/events.jsonl")
bytes=$(( $(stat -c %s "$work/events.jsonl") - lines ))
[ "$lines" -eq "$N" ] || { echo "bench-kafka: dumped $lines events, expected $N" >&2; exit 1; }
printf "pipeline alone (stdout sink to a file): %d events, %.1f MB of JSON, in %.2f s = %s msg/s\n" \
    "$N" "$(calc %.1f "$bytes / 1000000")" "$t_dump" "$(rate "$N" "$t_dump")"

run_kcat() { # topic -> seconds
    local t0
    t0=$(now)
    kcat -P -b "$brokers" -t "$1" "${kx[@]}" -l "$work/events.jsonl" 2>"$work/kcat.err" ||
        { tail -20 "$work/kcat.err" >&2; echo "bench-kafka: kcat failed" >&2; exit 1; }
    calc %.3f "$(now) - $t0"
}
run_sink() { # topic -> seconds
    local t0
    conf "sink_$1" kafka "{\"brokers\":\"$brokers\",\"topic\":\"$1\",\"headers\":$sink_headers,\"host\":\"$host\",\"flush_timeout_ms\":600000,\"rdkafka\":{$rdjson}}"
    t0=$(now)
    "$etwhost" run -q --stats=3600 -c "$work/sink_$1" >/dev/null 2>"$work/sink_$1.err" ||
        { tail -20 "$work/sink_$1.err" >&2; echo "bench-kafka: sink run failed" >&2; exit 1; }
    calc %.3f "$(now) - $t0"
}
check() { # topic
    local n
    n=$(count "$1")
    [ "$n" = "$N" ] || { echo "bench-kafka: topic $1 holds $n messages, expected $N" >&2; exit 1; }
}

t_warm=$(run_kcat bench_warmup)
printf "warm-up (kcat, not counted): %.2f s\n" "$t_warm"
best_sink=""
best_kcat=""
for r in $(seq "$ROUNDS"); do
    if [ $((r % 2)) -eq 1 ]; then
        ts=$(run_sink "bench_sink_$r")
        tk=$(run_kcat "bench_kcat_$r")
    else
        tk=$(run_kcat "bench_kcat_$r")
        ts=$(run_sink "bench_sink_$r")
    fi
    check "bench_sink_$r"
    check "bench_kcat_$r"
    printf "round %d: kafka sink %.2f s = %s msg/s, %s MB/s; kcat -P %.2f s = %s msg/s, %s MB/s\n" \
        "$r" "$ts" "$(rate "$N" "$ts")" "$(mbs "$bytes" "$ts")" \
        "$tk" "$(rate "$N" "$tk")" "$(mbs "$bytes" "$tk")"
    grep -E " produced=" "$work/sink_bench_sink_$r.err" | tail -1 | sed 's/^ */  sink counters: /'
    if [ -z "$best_sink" ] || [ "$(calc %d "$ts < $best_sink")" = 1 ]; then best_sink=$ts; fi
    if [ -z "$best_kcat" ] || [ "$(calc %d "$tk < $best_kcat")" = 1 ]; then best_kcat=$tk; fi
done
printf "best: kafka sink %.2f s = %s msg/s, %s MB/s; kcat -P %.2f s = %s msg/s, %s MB/s\n" \
    "$best_sink" "$(rate "$N" "$best_sink")" "$(mbs "$bytes" "$best_sink")" \
    "$best_kcat" "$(rate "$N" "$best_kcat")" "$(mbs "$bytes" "$best_kcat")"
echo "kafka sink $(rate "$N" "$best_sink") msg/s, kcat $(rate "$N" "$best_kcat") msg/s, ratio $(calc %.2f "$best_kcat / $best_sink")"
