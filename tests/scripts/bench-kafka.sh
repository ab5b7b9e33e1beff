#!/bin/bash
# make bench-kafka: the kafka sink against `kcat -P` on the same broker and events.
#
# 1. start a single-node Kafka 4.x broker on 127.0.0.1 (tests/kafka/kafka-broker.sh);
# 2. dump N synthetic events as canonical JSON lines (etwhost run, stdout sink);
# 3. etwhost run with the kafka sink on the same N events, timed from start to exit
#    (every event delivered: the sink closes only after the last delivery report);
# 4. kcat -P on the dumped lines with the same producer settings, timed likewise;
# 5. check both topics hold N messages, print messages/s and MB/s (JSON bytes) for both.
# The last line is exactly: kafka sink X msg/s, kcat Y msg/s, ratio R
#
# Environment: BUILD (build), N (1000000), LINGER_MS (5), COMPRESSION (zstd),
# BATCH_SIZE (librdkafka default), ACKS (all), IDEMPOTENCE (true).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
BUILD=${BUILD:-build}
N=${N:-1000000}
LINGER_MS=${LINGER_MS:-5}
COMPRESSION=${COMPRESSION:-zstd}
BATCH_SIZE=${BATCH_SIZE:-}
ACKS=${ACKS:-all}
IDEMPOTENCE=${IDEMPOTENCE:-true}
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
echo "bench-kafka: broker $brokers, $N events, linger.ms=$LINGER_MS compression=$COMPRESSION" \
     "acks=$ACKS idempotence=$IDEMPOTENCE${BATCH_SIZE:+ batch.size=$BATCH_SIZE}"

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

source_json="{\"type\":\"synthetic\",\"count\":$N,\"seed\":1}"
conf() { # name plugin settings
    mkdir -p "$work/$1/conf.d"
    echo "{\"sources\":[$source_json],\"state_dir\":\"$work/$1/state\"}" >"$work/$1/etwhost.json"
    echo "{\"name\":\"out\",\"plugin\":\"$2\",\"settings\":$3}" >"$work/$1/conf.d/50-out.json"
}
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
count() { kcat -Q -b "$brokers" -t "$1:0:-1" 2>/dev/null | awk '{print $NF}'; }

# 1. The events as JSON lines (also the pipeline alone, for reference).
conf dump stdout '{"format":"json"}'
t0=$(now)
"$etwhost" run -q -c "$work/dump" >"$work/events.jsonl" || { echo "bench-kafka: dump failed" >&2; exit 1; }
t_dump=$(calc %.3f "$(now) - $t0")
lines=$(wc -l <"$work/events.jsonl")
bytes=$(( $(stat -c %s "$work/events.jsonl") - lines ))
[ "$lines" -eq "$N" ] || { echo "bench-kafka: dumped $lines events, expected $N" >&2; exit 1; }

# 2. The kafka sink.
conf sink kafka "{\"brokers\":\"$brokers\",\"topic\":\"bench_sink\",\"flush_timeout_ms\":600000,\"rdkafka\":{$rdjson}}"
t0=$(now)
"$etwhost" run -q --stats=3600 -c "$work/sink" >"$work/sink.out" 2>"$work/sink.err" ||
    { tail -20 "$work/sink.err" >&2; echo "bench-kafka: sink run failed" >&2; exit 1; }
t_sink=$(calc %.3f "$(now) - $t0")

# 3. kcat -P on the same lines.
t0=$(now)
kcat -P -b "$brokers" -t bench_kcat "${kx[@]}" -l "$work/events.jsonl" 2>"$work/kcat.err" ||
    { tail -20 "$work/kcat.err" >&2; echo "bench-kafka: kcat failed" >&2; exit 1; }
t_kcat=$(calc %.3f "$(now) - $t0")

n_sink=$(count bench_sink)
n_kcat=$(count bench_kcat)
grep -E " produced=" "$work/sink.err" | tail -1 | sed 's/^ */sink counters: /'
[ "$n_sink" = "$N" ] || echo "bench-kafka: WARNING: topic bench_sink holds $n_sink messages, expected $N" >&2
[ "$n_kcat" = "$N" ] || echo "bench-kafka: WARNING: topic bench_kcat holds $n_kcat messages, expected $N" >&2

rate() { calc %d "$1 / $2"; }
mbs() { calc %.1f "$1 / $2 / 1000000"; }
printf "pipeline alone (stdout sink to file): %d msgs in %.2f s = %s msg/s\n" "$N" "$t_dump" "$(rate "$N" "$t_dump")"
printf "kafka sink: %d msgs (%d JSON bytes) in %.2f s = %s msg/s, %s MB/s\n" \
    "$n_sink" "$bytes" "$t_sink" "$(rate "$N" "$t_sink")" "$(mbs "$bytes" "$t_sink")"
printf "kcat -P:    %d msgs (%d JSON bytes) in %.2f s = %s msg/s, %s MB/s\n" \
    "$n_kcat" "$bytes" "$t_kcat" "$(rate "$N" "$t_kcat")" "$(mbs "$bytes" "$t_kcat")"
ratio=$(calc %.2f "$t_kcat / $t_sink")
echo "kafka sink $(rate "$N" "$t_sink") msg/s, kcat $(rate "$N" "$t_kcat") msg/s, ratio $ratio"
