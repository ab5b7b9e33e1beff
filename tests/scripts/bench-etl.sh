#!/usr/bin/env bash
# ETL decoding benchmark (part of `make bench`): for each trace in
# ../shared/corpus/large, etwhost dump to /dev/null and convert to JSON
# lines, next to the dissect.etl peer (shared/tools/dissect_dump.py --mode
# fixed) on the same file in the same run; then peak RSS of dump on a
# ~1 GB trace made by repeating the 26 MB trace, against the 26 MB trace.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
W=$B/bench/etl
mkdir -p "$W"
corpus=../shared/corpus/large
tools=../shared/tools
py=build/venv-dissect/bin/python3
if [ ! -d "$corpus" ]; then
    echo "  skipped: $corpus not found"
    exit 0
fi
have_peer=1
[ -x "$py" ] && "$py" -c 'import dissect.etl' 2>/dev/null || have_peer=0
[ -f "$tools/dissect_dump.py" ] || have_peer=0

# run_timed OUTFILE CMD... -> prints "seconds maxrss_kb"
run_timed() {
    local out=$1; shift
    /usr/bin/time -f "%e %M" -o "$W/time.txt" "$@" >"$out" 2>"$W/stderr.txt"
    cat "$W/time.txt"
}

printf "  %-36s %9s %8s | %12s %9s | %12s | %12s %8s\n" file events MB "dump ev/s" "MB/s" "jsonl ev/s" "dissect ev/s" ratio
for f in "$corpus"/*.etl; do
    name=$(basename "$f" .etl)
    mb=$(awk -v b="$(stat -c %s "$f")" 'BEGIN { printf "%.1f", b / 1048576 }')
    read -r td _ < <(run_timed /dev/null "$B/etwhost" dump -q "$f")
    events=$("$B/etwhost" dump "$f" 2>&1 >/dev/null | sed -n 's/^etwhost: \([0-9]*\) events.*/\1/p')
    rm -f "$W/out.jsonl"
    read -r tc _ < <(run_timed /dev/null "$B/etwhost" convert -q "$f" -o "$W/out.jsonl")
    rate_d=$(awk -v n="$events" -v s="$td" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
    mbs=$(awk -v m="$mb" -v s="$td" 'BEGIN { printf "%.0f", (s > 0 ? m / s : 0) }')
    rate_c=$(awk -v n="$events" -v s="$tc" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
    if [ $have_peer = 1 ]; then
        read -r tp _ < <(run_timed /dev/null "$py" "$tools/dissect_dump.py" --mode fixed "$f")
        rate_p=$(awk -v n="$events" -v s="$tp" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
        ratio=$(awk -v a="$rate_d" -v b="$rate_p" 'BEGIN { printf "%.0fx", (b > 0 ? a / b : 0) }')
    else
        rate_p="n/a"; ratio="n/a"
    fi
    printf "  %-36s %9s %8s | %12s %9s | %12s | %12s %8s\n" "$name" "$events" "$mb" "$rate_d" "$mbs" "$rate_c" "$rate_p" "$ratio"
done
rm -f "$W/out.jsonl"
[ $have_peer = 1 ] || echo "  (dissect.etl peer not installed: run make deps)"

# Peak RSS: 26 MB trace vs ~1 GB made of it.
small=$corpus/perfview__net.4.5.x86_PerfViewData.etl
if [ -f "$small" ]; then
    big=$W/big.etl
    [ -f "$big" ] || "$B/tools/etlgen" --repeat "$small" --target-bytes 1073741824 -o "$big" >/dev/null
    read -r ts rs < <(run_timed /dev/null "$B/etwhost" dump -q "$small")
    read -r tb rb < <(run_timed /dev/null "$B/etwhost" dump -q "$big")
    nb=$("$B/etwhost" dump "$big" 2>&1 >/dev/null | sed -n 's/^etwhost: \([0-9]*\) events.*/\1/p')
    echo "  peak RSS: $((rs / 1024)) MB on the 26 MB trace, $((rb / 1024)) MB on a $(( $(stat -c %s "$big") / 1048576 )) MB trace" \
         "($nb events, $(awk -v n="$nb" -v s="$tb" 'BEGIN { printf "%.0f", n / s }') events/s);" \
         "ratio $(awk -v a="$rs" -v b="$rb" 'BEGIN { printf "%.2f", b / a }') (target <= 1.10)"
fi
