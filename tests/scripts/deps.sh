#!/bin/sh
# Install the Debian packages etwhost needs to build and test, if missing.
# As root: apt-get install.  Otherwise: print the exact command.
PKGS="build-essential pkg-config libjansson-dev libzstd-dev zstd librdkafka-dev \
libpcre2-dev libexpat1-dev clang libclang-rt-14-dev abigail-tools kcat python3 python3-pip \
python3-venv openjdk-17-jre-headless maven time \
gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 cmake ninja-build dpkg-dev wine wine64"
# The last line is the Windows build (make windows, make test-windows): the mingw-w64 cross
# compilers, what tests/scripts/win-deps.sh builds the Windows libraries from Debian sources
# with (g++ because the librdkafka CMake project declares C++), and Wine to run the tests.
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# Python module of the tests' .etl oracle (shared/tools/etlscan.py) for compressed files;
# without it those checks skip.
pip_deps() {
    command -v python3 >/dev/null 2>&1 || return 0
    python3 -c 'import dissect.util.compression.lzxpress' 2>/dev/null && return 0
    python3 -m pip install -q dissect.util >/dev/null 2>&1 ||
        python3 -m pip install -q --break-system-packages dissect.util >/dev/null 2>&1 ||
        echo "etwhost: note: 'pip install dissect.util' failed; some .etl checks will skip" >&2
    return 0
}
# The dissect.etl peer of the kernel MOF tests (tests/unit/test_mof_dissect.c), pinned, in
# its own virtual environment build/venv-dissect; without it those tests skip.
venv_deps() {
    root=$(cd "$(dirname "$0")/../.." && pwd)
    venv="$root/build/venv-dissect"
    [ -x "$venv/bin/python3" ] && "$venv/bin/python3" -c 'import dissect.etl' 2>/dev/null && return 0
    command -v python3 >/dev/null 2>&1 || return 0
    mkdir -p "$root/build"
    { python3 -m venv "$venv" &&
      "$venv/bin/python3" -m pip install -q "dissect.etl==3.13" "dissect.cstruct>=4.6,<4.8"; } \
        >/dev/null 2>&1 ||
        echo "etwhost: note: could not set up $venv (dissect.etl); the dissect comparisons will skip" >&2
    return 0
}
[ -z "$missing" ] && { pip_deps; venv_deps; exit 0; }
if [ "$(id -u)" = 0 ]; then
    echo "etwhost: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $missing >/dev/null \
        || { echo "etwhost: apt-get install failed for:$missing" >&2; exit 1; }
else
    echo "etwhost: missing packages:$missing" >&2
    echo "etwhost: run: sudo apt-get install -y$missing" >&2
    exit 1
fi
pip_deps
venv_deps
