#!/bin/bash
# A single-node Apache Kafka 4.x broker (KRaft, combined broker+controller) for tests.
#
#   kafka-broker.sh fetch                 resolve the broker jars (Maven Central -> build/kafka/)
#   kafka-broker.sh prepare DIR           choose ports and format DIR, do not start; prints
#                                         the bootstrap address (for "broker absent" tests)
#   kafka-broker.sh start DIR             format DIR on first use, start, wait until ready
#   kafka-broker.sh stop DIR              SIGTERM (controlled shutdown), SIGKILL after 30 s
#   kafka-broker.sh kill DIR              SIGKILL now (crash), data dir kept for a restart
#   kafka-broker.sh status DIR            exit 0 iff the broker process is alive
#   kafka-broker.sh brokers DIR           print the bootstrap address (127.0.0.1:PORT)
#
# DIR holds everything of one broker: server.properties, data/, logs/server.log, tmp/,
# kafka.pid, ports.  The ports are chosen free on first start and kept, so a restart
# after "kill" comes back on the same address (clients reconnect).  Everything listens
# on 127.0.0.1 only.
#
# Environment: KAFKA_VERSION (default 4.1.1), KAFKA_CACHE (default <repo>/build/kafka),
# KAFKA_HEAP (default 512m), KAFKA_MESSAGE_MAX_BYTES (default 4194304), KAFKA_JVM_OPTS
# (extra JVM options, e.g. -XX:TieredStopAtLevel=1 to start faster on a small machine).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
KAFKA_VERSION=${KAFKA_VERSION:-4.1.1}
KAFKA_CACHE=${KAFKA_CACHE:-$root/build/kafka}
KAFKA_HEAP=${KAFKA_HEAP:-512m}
KAFKA_MESSAGE_MAX_BYTES=${KAFKA_MESSAGE_MAX_BYTES:-4194304}
libs="$KAFKA_CACHE/libs-$KAFKA_VERSION"

die() { echo "kafka-broker: $*" >&2; exit 1; }

need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found ($2)"; }

fetch() {
    if [ -f "$libs/.complete" ]; then
        return 0
    fi
    need java "install openjdk-17-jre-headless"
    need mvn "install maven"
    mkdir -p "$KAFKA_CACHE"
    rm -rf "$libs.part"
    echo "kafka-broker: resolving Apache Kafka $KAFKA_VERSION jars from Maven Central" >&2
    # A private local repository under build/ keeps a fresh clone self-contained.
    mvn -B -q -f "$here/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
        -Dmaven.repo.local="$KAFKA_CACHE/m2" \
        dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs.part" \
        >"$KAFKA_CACHE/mvn.log" 2>&1 || { tail -30 "$KAFKA_CACHE/mvn.log" >&2; die "mvn failed"; }
    ls "$libs.part"/kafka_2.13-*.jar >/dev/null 2>&1 || die "mvn produced no kafka_2.13 jar"
    ls "$libs.part"/log4j-slf4j-impl-*.jar >/dev/null 2>&1 || die "mvn produced no log4j binding"
    touch "$libs.part/.complete"
    rm -rf "$libs"
    mv "$libs.part" "$libs"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

jopts() {
    local d=$1
    echo "-Xms$KAFKA_HEAP -Xmx$KAFKA_HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20" \
        "-XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent" \
        "-Djava.awt.headless=true -Djava.io.tmpdir=$d/tmp -Dkafka.logs.dir=$d/logs" \
        "-Dlog4j2.configurationFile=$d/log4j2.properties ${KAFKA_JVM_OPTS:-}"
}

alive() {
    local d=$1
    [ -f "$d/kafka.pid" ] && kill -0 "$(cat "$d/kafka.pid")" 2>/dev/null
}

configure() {
    local d=$1 port cport
    mkdir -p "$d/data" "$d/logs" "$d/tmp"
    port=$(free_port)
    cport=$(free_port)
    while [ "$cport" = "$port" ]; do cport=$(free_port); done
    echo "$port $cport" >"$d/ports"
    # .properties has no trailing comments, so comments stay on their own lines.
    # Retention is off: test events carry their own (old) timestamps, and time-based
    # retention would delete them at the next check, five minutes after start.
    cat >"$d/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$d/data
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
message.max.bytes=$KAFKA_MESSAGE_MAX_BYTES
replica.fetch.max.bytes=$KAFKA_MESSAGE_MAX_BYTES
log.segment.bytes=268435456
log.retention.ms=-1
log.retention.bytes=-1
EOF
    cat >"$d/log4j2.properties" <<'EOF'
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
EOF
    # shellcheck disable=SC2046
    java $(jopts "$d") -cp "$libs/*" kafka.tools.StorageTool format --standalone \
        --cluster-id 4L6g3nShT-eMCtK--X86sw --config "$d/server.properties" \
        >"$d/logs/format.log" 2>&1 || { cat "$d/logs/format.log" >&2; die "format failed"; }
}

brokers() {
    local d=$1
    [ -f "$d/ports" ] || die "$d: not a broker dir (no ports file)"
    echo "127.0.0.1:$(cut -d' ' -f1 "$d/ports")"
}

start() {
    local d=$1 bs i
    fetch
    need kcat "install kcat"
    d=$(mkdir -p "$d" && cd "$d" && pwd)
    alive "$d" && die "$d: broker already running (pid $(cat "$d/kafka.pid"))"
    [ -f "$d/server.properties" ] || configure "$d"
    bs=$(brokers "$d")
    # shellcheck disable=SC2046
    nohup java $(jopts "$d") -cp "$libs/*" kafka.Kafka "$d/server.properties" \
        >>"$d/logs/stdout.log" 2>&1 </dev/null &
    echo $! >"$d/kafka.pid"
    # The PLAINTEXT socket only opens once the broker is unfenced, so an answered
    # Metadata request means it can host new partitions.
    for i in $(seq 120); do
        if kcat -b "$bs" -L -m 1 >/dev/null 2>&1; then
            echo "$bs"
            return 0
        fi
        if ! alive "$d"; then
            tail -40 "$d/logs/server.log" "$d/logs/stdout.log" >&2 2>/dev/null || true
            die "broker exited during startup (see $d/logs)"
        fi
        sleep 0.5
    done
    tail -40 "$d/logs/server.log" >&2 2>/dev/null || true
    die "broker not ready after 60 s (see $d/logs)"
}

stop() {
    local d=$1 pid i
    alive "$d" || { rm -f "$d/kafka.pid"; return 0; }
    pid=$(cat "$d/kafka.pid")
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$d/kafka.pid"
}

crash() {
    local d=$1 pid i
    alive "$d" || die "$d: broker not running"
    pid=$(cat "$d/kafka.pid")
    kill -KILL "$pid"
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$d/kafka.pid"
}

prepare() {
    local d=$1
    fetch
    d=$(mkdir -p "$d" && cd "$d" && pwd)
    [ -f "$d/server.properties" ] || configure "$d"
    brokers "$d"
}

cmd=${1:-}
case "$cmd" in
fetch) fetch; echo "$libs" ;;
prepare) [ $# -eq 2 ] || die "usage: $0 prepare DIR"; prepare "$2" ;;
start) [ $# -eq 2 ] || die "usage: $0 start DIR"; start "$2" ;;
stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; stop "$2" ;;
kill) [ $# -eq 2 ] || die "usage: $0 kill DIR"; crash "$2" ;;
status) [ $# -eq 2 ] || die "usage: $0 status DIR"; alive "$2" ;;
brokers) [ $# -eq 2 ] || die "usage: $0 brokers DIR"; brokers "$2" ;;
*) die "usage: $0 fetch|prepare DIR|start DIR|stop DIR|kill DIR|status DIR|brokers DIR" ;;
esac
