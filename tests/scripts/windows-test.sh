#!/usr/bin/env bash
# `make test-windows`: build the Windows binaries (mingw-w64) and run the test
# suite under Wine.  Last line: the runner's "N passed, N failed, N skipped".
#
#   tests/scripts/windows-test.sh [FILTER...]
#
# Steps, each timed: the static Windows libraries (tests/scripts/win-deps.sh,
# cached in build-win/deps), `make windows-test-build`, a Wine prefix in
# build-win/wineprefix (created once), then build-win/tests/etwhost-tests.exe
# under Wine with ETWHOST_UNDER_WINE=1 so that tests which cannot work there
# skip with their reason.  A persistent wineserver keeps the per-test process
# start cheap; it is shut down at the end.  docs/windows-build.md has the
# details.
set -uo pipefail
cd "$(dirname "$0")/../.."
MAKE=${MAKE:-make}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
WIN_BUILD=${WIN_BUILD:-build-win}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
T0=$(now)
summary_fail() { # a one-line reason, then a summary line so the caller counts a failure
    echo "windows: $*"
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
}

for tool in x86_64-w64-mingw32-gcc wine wineserver; do
    command -v "$tool" >/dev/null 2>&1 || summary_fail "missing $tool (run: make deps)"
done

t=$(now)
bash tests/scripts/win-deps.sh "$WIN_BUILD/deps" || summary_fail "building the Windows libraries failed"
echo "windows: deps $(elapsed "$t") s"

t=$(now)
log=$WIN_BUILD/build.log
mkdir -p "$WIN_BUILD"
if ! $MAKE --no-print-directory -j"$JOBS" WIN_BUILD="$WIN_BUILD" windows-test-build >"$log" 2>&1; then
    tail -n 40 "$log"
    summary_fail "build failed (log: $log)"
fi
echo "windows: build $(elapsed "$t") s"

export WINEPREFIX=$PWD/$WIN_BUILD/wineprefix
export WINEDEBUG=-all
# No Mono or Gecko installer dialogs: console programs need neither.
export WINEDLLOVERRIDES="mscoree,mshtml="
export WINEARCH=win64
unset DISPLAY
t=$(now)
if [ ! -f "$WINEPREFIX/system.reg" ]; then
    wineboot -i >/dev/null 2>&1
    wineserver -w
    echo "windows: wine prefix created in $(elapsed "$t") s"
fi
# Persistent server: each test process then starts in a fraction of a second.  Wine's own
# background processes (services.exe, winedevice.exe) start with the first program and live
# as long as the server: they get /dev/null, not a pipe that would then never close.
wineserver -p
trap 'wineserver -k >/dev/null 2>&1' EXIT
wine cmd.exe /c exit </dev/null >/dev/null 2>&1

t=$(now)
# The runner re-runs itself per test through CreateProcess inside Wine: no wrapper needed.
raw=$WIN_BUILD/test.raw.log
ETWHOST_UNDER_WINE=1 wine "$WIN_BUILD/tests/etwhost-tests.exe" --root . --build "$WIN_BUILD" "$@" \
    </dev/null >"$raw" 2>&1
tr -d '\r' <"$raw" >"$WIN_BUILD/test.log"
grep -v -E '^[0-9]+ passed, [0-9]+ failed' "$WIN_BUILD/test.log"
echo "windows: wine suite $(elapsed "$t") s; total $(elapsed "$T0") s"
last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$WIN_BUILD/test.log" | tail -n 1)
[ -n "$last" ] || summary_fail "the runner printed no summary (crashed under Wine?)"
echo "$last"
case $last in
*" 0 failed"*) exit 0 ;;
*) exit 1 ;;
esac
