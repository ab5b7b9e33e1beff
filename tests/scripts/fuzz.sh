#!/usr/bin/env bash
# Build every tests/fuzz/fuzz_*.c as a libFuzzer binary (clang,
# -fsanitize=fuzzer,address,undefined) against the host sources and run each
# for FUZZ_SECONDS (default 60).
#
#   FUZZ_SECONDS=600 make fuzz          all targets, 10 minutes each
#   tests/scripts/fuzz.sh fuzz_lz77     only the named targets
#
# Seeds: build/fuzz/corpus/<target> is filled from tests/fuzz/seeds/<name>/,
# tests/data/<name>/ regression inputs, ../shared/corpus (when present) and
# the project's own fixtures (etlgen).  Inputs that crash are saved as
# build/fuzz/crashes/<target>-crash-*; copy them to tests/data/<name>/ to make
# them regression tests.  Other knobs: FUZZ_MAX_LEN, FUZZ_CC, FUZZ_ARGS.
set -u
cd "$(dirname "$0")/../.." || exit 2

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
CC=${FUZZ_CC:-clang}
OUT=build/fuzz
OBJ=$OUT/obj
SHARED=../shared/corpus
CFLAGS="-std=c11 -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined
 -fno-sanitize-recover=undefined -D_FILE_OFFSET_BITS=64 -DETWHOST_VERSION=\"fuzz\"
 -Isdk/include -Ihost -pthread -Wall -Wextra -Wno-unused-parameter"
LIBS="-ljansson -lzstd -lexpat -ldl -lm"

if ! command -v "$CC" >/dev/null 2>&1; then
    echo "fuzz: $CC not found (apt-get install clang libclang-rt-14-dev)" >&2
    exit 2
fi
mkdir -p "$OBJ" "$OUT/crashes" "$OUT/corpus"

# ---- host library with fuzzer-friendly instrumentation ----
# A source that does not compile (someone's work in progress) is reported and
# left out; a target only fails to link if it needs it.
objs=()
while IFS= read -r src; do
    o="$OBJ/${src%.c}.o"
    d="${o%.o}.d"
    mkdir -p "$(dirname "$o")"
    stale=1
    if [ -f "$o" ] && [ -f "$d" ]; then
        stale=0
        for dep in $(sed -e 's/\\$//' -e 's/^[^:]*://' "$d"); do
            if [ "$dep" -nt "$o" ]; then stale=1; break; fi
        done
    fi
    if [ $stale = 1 ]; then
        # shellcheck disable=SC2086
        if ! $CC $CFLAGS -fsanitize=fuzzer-no-link -MMD -MF "$d" -c "$src" -o "$o" 2>"$o.log"; then
            echo "fuzz: $src does not compile, left out:" >&2
            head -5 "$o.log" >&2
            rm -f "$o"
            continue
        fi
    fi
    objs+=("$o")
done < <(find host -name '*.c' ! -path 'host/platform/win/*' ! -name main.c | sort)
rm -f "$OUT/libhost.a"
ar rcs "$OUT/libhost.a" "${objs[@]}"

# ---- seeds ----
etlgen=""
if [ -x build/tools/etlgen ]; then
    etlgen=build/tools/etlgen
elif make -s tools >/dev/null 2>&1 && [ -x build/tools/etlgen ]; then
    etlgen=build/tools/etlgen
fi

fixtures() { # dir: small traces of every kind made by the project's writer
    [ -n "$etlgen" ] || return 0
    local dir=$1 k
    for k in mixed tracelogging kernel wpp; do
        "$etlgen" --kind "$k" --events 120 --cpus 3 --buffer-size 2048 --seed 3 \
            -o "$dir/own-$k.etl" >/dev/null 2>&1
        "$etlgen" --kind "$k" --events 120 --cpus 3 --buffer-size 2048 --seed 4 --ptr 4 \
            --compress --clock system -o "$dir/own-$k-c32.etl" >/dev/null 2>&1
    done
}

lz77_seeds() { # dir: compressed buffer streams, prefixed with their inflated size
    local dir=$1 files=()
    [ -d "$SHARED/etl" ] && files+=("$SHARED"/etl/*.etl)
    files+=("$dir"/../fuzz_etl_walk/own-*-c32.etl)
    python3 - "$dir" "${files[@]}" <<'EOF' 2>/dev/null || true
import os, struct, sys
out, n = sys.argv[1], 0
for path in sys.argv[2:]:
    try:
        f = open(path, 'rb').read()
    except OSError:
        continue
    off = 0
    while off + 0x48 <= len(f) and n < 200:
        bs = struct.unpack_from('<I', f, off)[0]
        if bs < 0x48 or bs > len(f) - off:
            break
        end, flags = struct.unpack_from('<IH', f, off + 0x30)
        if flags & 0x40 and end >= 0x48:
            open(os.path.join(out, 'buf-%d' % n), 'wb').write(
                struct.pack('<I', end - 0x48) + f[off + 0x48:off + bs])
            n += 1
        off += bs
EOF
}

seed() { # target
    local t=$1 name=${1#fuzz_} dir="$OUT/corpus/$1"
    mkdir -p "$dir"
    [ -d "tests/fuzz/seeds/$name" ] && cp -n tests/fuzz/seeds/"$name"/* "$dir"/ 2>/dev/null
    [ -d "tests/data/$name" ] && cp -n tests/data/"$name"/* "$dir"/ 2>/dev/null
    case "$name" in
    etl*)
        [ -d "$SHARED/etl" ] && cp -n "$SHARED"/etl/*.etl "$dir"/ 2>/dev/null
        [ -d tests/data/etl ] && cp -n tests/data/etl/* "$dir"/ 2>/dev/null
        fixtures "$dir"
        ;;
    lz77*)
        mkdir -p "$OUT/corpus/fuzz_etl_walk"
        fixtures "$OUT/corpus/fuzz_etl_walk"
        lz77_seeds "$dir"
        ;;
    esac
    return 0
}

# ---- build and run ----
targets=("$@")
if [ ${#targets[@]} = 0 ]; then
    for f in tests/fuzz/fuzz_*.c; do targets+=("$(basename "${f%.c}")"); done
fi
status=0
summary=""
for t in "${targets[@]}"; do
    src=tests/fuzz/$t.c
    bin=$OUT/$t
    # shellcheck disable=SC2086
    if ! $CC $CFLAGS -fsanitize=fuzzer "$src" "$OUT/libhost.a" -o "$bin" $LIBS; then
        echo "fuzz: cannot build $t" >&2
        status=1
        summary+="$t: build failed"$'\n'
        continue
    fi
    seed "$t"
    before=$(ls "$OUT/crashes" | grep -c "^$t-" || true)
    log=$OUT/$t.log
    echo "fuzz: $t for ${FUZZ_SECONDS}s (corpus $OUT/corpus/$t, log $log)"
    # shellcheck disable=SC2086
    "$bin" -max_total_time="$FUZZ_SECONDS" -timeout=20 -rss_limit_mb=2048 \
        -max_len="${FUZZ_MAX_LEN:-131072}" -use_value_profile=1 -print_final_stats=1 \
        -artifact_prefix="$OUT/crashes/$t-" ${FUZZ_ARGS:-} "$OUT/corpus/$t" >"$log" 2>&1
    rc=$?
    after=$(ls "$OUT/crashes" | grep -c "^$t-" || true)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    summary+="$t: exit $rc, ${execs:-?} runs, ${cov:-cov ?}, $((after - before)) new crash files"$'\n'
    if [ $rc != 0 ] || [ "$after" != "$before" ]; then
        status=1
        tail -40 "$log" >&2
    fi
done
printf '%s' "$summary"
exit $status
