#!/usr/bin/env bash
# `make test`: every suite, one summary.  Each suite prints its own
# "N passed, N failed[, N skipped]" line; this script adds them up and
# prints the grand total as its last line.  Exit 0 iff nothing failed.
set -u
cd "$(dirname "$0")/../.."
MAKE=${MAKE:-make}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
# Tests run JOBS at a time (timing-sensitive ones alone, see tests/runner.c).
export ETWHOST_TEST_JOBS=${ETWHOST_TEST_JOBS:-$JOBS}
P=0; F=0; S=0
log_dir=build/test-logs
mkdir -p "$log_dir"

add_line() { # add the counts of a "N passed, N failed, N skipped" line
    local line="$1" p f s
    p=$(echo "$line" | sed -n 's/.*\b\([0-9]\+\) passed.*/\1/p')
    f=$(echo "$line" | sed -n 's/.*\b\([0-9]\+\) failed.*/\1/p')
    s=$(echo "$line" | sed -n 's/.*\b\([0-9]\+\) skipped.*/\1/p')
    P=$((P + ${p:-0})); F=$((F + ${f:-0})); S=$((S + ${s:-0}))
}

# One pass/fail step that is not a test runner (a build, a check script).
step() { # name, command...
    local name="$1"; shift
    local log="$log_dir/$name.log"
    if "$@" >"$log" 2>&1; then
        echo "ok   [$name]"
        P=$((P + 1))
    else
        echo "FAIL [$name] (log: $log)"
        tail -n 40 "$log"
        F=$((F + 1))
        return 1
    fi
}

# A suite whose last line is a runner summary.
suite() { # name, command...
    local name="$1"; shift
    local log="$log_dir/$name.log"
    echo "== $name"
    "$@" 2>&1 | tee "$log" | grep -E '^(FAIL|skip)|^  ' | head -n 200
    local last
    last=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -z "$last" ]; then
        echo "FAIL [$name]: no summary line (log: $log)"
        tail -n 40 "$log"
        F=$((F + 1))
    else
        echo "   $name: $last"
        add_line "$last"
    fi
}

echo "== build (gcc)"
if step build-gcc $MAKE -j"$JOBS" all test-build; then
    suite unit "build/tests/etwhost-tests" --root . --build build
else
    echo "build failed: skipping the suites that need it"
fi

# A bare `make` (the README's build) must build the host and every plugin,
# whatever rules included fragments define first.
bare_make_builds_all() {
    local plan
    plan=$($MAKE -n BUILD=build/bare 2>&1) || return 1
    for want in build/bare/etwhost build/bare/plugins/stdout.so build/bare/plugins/file.so; do
        grep -q -- "-o $want\b" <<<"$plan" || { echo "bare make does not build $want"; return 1; }
    done
}
step bare-make bare_make_builds_all

echo "== build (clang, -Werror)"
step build-clang $MAKE -j"$JOBS" CC=clang BUILD=build/clang all test-build

echo "== ABI baseline (abidiff)"
step abi-check $MAKE abi-check
step abi-check-detects-breaks bash tests/scripts/abi-selftest.sh

echo "== ASan + UBSan"
if step build-asan $MAKE -j"$JOBS" BUILD=build/asan SAN=1 OPT=-O1 all test-build; then
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        suite asan build/asan/tests/etwhost-tests --root . --build build/asan
fi

for extra in tests/scripts/suite-*.sh; do
    [ -f "$extra" ] || continue
    name=$(basename "$extra" .sh); name=${name#suite-}
    suite "$name" bash "$extra"
done

echo "$P passed, $F failed, $S skipped"
[ "$F" -eq 0 ]
