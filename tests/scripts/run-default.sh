#!/usr/bin/env bash
# `make run`: the main job with no extra input.
#  1. decode a trace written by the project's own ETL writer (TraceLogging,
#     manifest events with embedded TDH metadata, kernel MOF, WPP; two CPUs,
#     compressed buffers) to canonical JSON lines;
#  2. run the default config folder conf/ (synthetic source -> stdout sink).
set -eu
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
mkdir -p "$B/sample"
sample=$B/sample/sample.etl
[ -f "$sample" ] || "$B/tools/etlgen" --kind mixed --events 200 --cpus 2 --compress --seed 1 -o "$sample" >/dev/null
echo "== etwhost dump $sample" >&2
"$B/etwhost" dump "$sample"
echo "== etwhost run -c conf" >&2
exec "$B/etwhost" run -c conf
