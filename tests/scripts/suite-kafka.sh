#!/usr/bin/env bash
# make test: the Kafka broker suite (a real single-node Apache Kafka broker).
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build} exec bash tests/scripts/test-kafka.sh
