#!/bin/bash
# make test-kafka: the kafka sink's tests against a real Apache Kafka 4.x broker.
#
# Starts a single-node KRaft broker on 127.0.0.1 (jars resolved from Maven Central
# into build/kafka/ on first use), runs every test whose name contains "kafka_"
# with ETWHOST_KAFKA_DIR pointing at it, stops the broker and ends with the test
# runner's "N passed, N failed, N skipped" line.  Exit status: the runner's.
#
# Environment: BUILD (default build), KAFKA_TEST_FILTER (default kafka_), KAFKA_JVM_OPTS
# (default: C1 JIT only, which starts the test brokers faster and leaves more CPU to the
# code under test on a small machine; throughput is bench-kafka's business).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
BUILD=${BUILD:-build}
filter=${KAFKA_TEST_FILTER:-kafka_}
runner="$BUILD/tests/etwhost-tests"
[ -x "$runner" ] || { echo "test-kafka: $runner not built (make test-build)" >&2; exit 1; }

export KAFKA_JVM_OPTS=${KAFKA_JVM_OPTS:--XX:TieredStopAtLevel=1}
dir="$root/$BUILD/kafka-broker"
tests/kafka/kafka-broker.sh stop "$dir" 2>/dev/null
rm -rf "$dir"
t0=$(date +%s)
if ! brokers=$(tests/kafka/kafka-broker.sh start "$dir"); then
    echo "test-kafka: could not start the Kafka broker (logs in $dir/logs)" >&2
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
fi
trap 'tests/kafka/kafka-broker.sh stop "$dir"' EXIT
echo "test-kafka: broker $brokers ready after $(( $(date +%s) - t0 )) s"

report="$BUILD/tests/kafka-report.txt"
mkdir -p "$BUILD/tests"
rm -f "$report"
log="$BUILD/tests/kafka-tests.log"
ETWHOST_KAFKA_DIR="$dir" "$runner" --root . --build "$BUILD" --timeout 280 "$filter" >"$log" 2>&1
rc=$?
# Everything but the summary line, then what the tests measured, then the summary.
sed '$d' "$log"
if [ -s "$report" ]; then
    echo "--- kafka test report ---"
    cat "$report"
fi
if [ $rc -ne 0 ] && [ -f "$dir/logs/server.log" ]; then
    echo "--- broker log (tail) ---"
    tail -20 "$dir/logs/server.log"
fi
tail -1 "$log"
exit $rc
