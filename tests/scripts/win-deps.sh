#!/usr/bin/env bash
# Build the Windows (x86_64-w64-mingw32) libraries etwhost links with, as
# STATIC libraries, from Debian's own source packages: jansson, zstd,
# librdkafka, expat and pcre2.  Debian ships no mingw builds of them.
#
#   tests/scripts/win-deps.sh [DEPS_DIR]      (default build-win/deps)
#
# Result: DEPS_DIR/prefix/{include,lib} for `make windows`.  Each library
# is built once: a stamp file per library (naming the source version) skips
# it on later runs, so only a fresh clone (CI) pays for the build.  The
# builds are kept lean: no shared libraries, docs, tests, examples or tools;
# librdkafka without SSL, SASL, curl or zlib (zstd and its bundled lz4 only).
#
# Needs: gcc/g++-mingw-w64-x86-64, cmake, ninja, make, dpkg-dev, and deb-src
# entries for apt (added here as root when missing).  Prints a timing line
# per library and the total.
set -euo pipefail
cd "$(dirname "$0")/../.."
DEPS=${1:-build-win/deps}
mkdir -p "$DEPS"
DEPS=$(cd "$DEPS" && pwd)
SRC=$DEPS/src
PREFIX=$DEPS/prefix
TOOLCHAIN=$DEPS/mingw-toolchain.cmake
HOST=x86_64-w64-mingw32
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
mkdir -p "$SRC" "$PREFIX/include" "$PREFIX/lib"

now() { date +%s.%N; }
T_ALL=$(now)
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
log() { echo "win-deps: $*"; }

# Debian source package, and the library/header that proves it is installed.
LIBS="jansson libzstd expat pcre2 librdkafka"

all_done() {
    for l in $LIBS; do
        ls "$PREFIX"/.stamp-"$l"-* >/dev/null 2>&1 || return 1
    done
    return 0
}
if all_done; then
    log "all libraries present in $PREFIX (delete it to rebuild)"
    exit 0
fi

for tool in $HOST-gcc $HOST-g++ cmake ninja make dpkg-source; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "win-deps: missing $tool (run: make deps)" >&2
        exit 1
    }
done

# ---- apt-get source needs deb-src entries ------------------------------------------------
have_deb_src() {
    grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/
}
if ! have_deb_src; then
    if [ "$(id -u)" != 0 ]; then
        echo "win-deps: apt has no deb-src entries; as root add" \
             "/etc/apt/sources.list.d/debian-src.sources (see docs/windows-build.md)" >&2
        exit 1
    fi
    log "adding /etc/apt/sources.list.d/debian-src.sources"
    cat >/etc/apt/sources.list.d/debian-src.sources <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    t=$(now)
    apt-get update -qq >/dev/null
    log "apt-get update: $(elapsed "$t") s"
fi

cat >"$TOOLCHAIN" <<EOF
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER $HOST-gcc)
set(CMAKE_CXX_COMPILER $HOST-g++)
set(CMAKE_RC_COMPILER $HOST-windres)
set(CMAKE_FIND_ROOT_PATH /usr/$HOST $PREFIX)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
EOF

# Unpack the Debian source package $1 (Debian patches applied) under $SRC;
# prints the tree's path.  Re-uses an unpacked tree.
fetch() {
    local pkg=$1 dir
    dir=$(find "$SRC" -maxdepth 1 -mindepth 1 -type d -name "$pkg-[0-9]*" | head -n 1)
    if [ -z "$dir" ]; then
        # The newest version first; when the mirror no longer has it (a security update
        # the index still lists), every other version apt knows, newest first.
        local v ok=0
        for v in "" $(apt-cache showsrc "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | sort -rV); do
            if (cd "$SRC" && apt-get source -qq "$pkg${v:+=$v}" >/dev/null 2>>"$SRC/$pkg.fetch.log"); then
                ok=1
                break
            fi
        done
        [ "$ok" = 1 ] || { cat "$SRC/$pkg.fetch.log" >&2; return 1; }
        dir=$(find "$SRC" -maxdepth 1 -mindepth 1 -type d -name "$pkg-[0-9]*" | head -n 1)
    fi
    [ -n "$dir" ] || { echo "win-deps: no source tree for $pkg" >&2; return 1; }
    echo "$dir"
}

cmake_build() { # source dir, build dir, cmake args...
    local s=$1 b=$2
    shift 2
    cmake -S "$s" -B "$b" -G Ninja -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" \
        -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$PREFIX" \
        -DCMAKE_POSITION_INDEPENDENT_CODE=ON "$@" >"$b.log" 2>&1 ||
        { tail -n 30 "$b.log" >&2; return 1; }
}

stamp() { # package, source dir
    rm -f "$PREFIX"/.stamp-"$1"-*
    touch "$PREFIX/.stamp-$1-$(basename "$2")"
}

build_one() {
    local pkg=$1 s b t
    if ls "$PREFIX"/.stamp-"$pkg"-* >/dev/null 2>&1; then
        log "$pkg: present"
        return 0
    fi
    t=$(now)
    s=$(fetch "$pkg")
    log "$pkg: source $(basename "$s") fetched in $(elapsed "$t") s"
    b=$s/build-mingw
    rm -rf "$b"
    case $pkg in
    jansson)
        cmake_build "$s" "$b" -DJANSSON_BUILD_SHARED_LIBS=OFF -DJANSSON_BUILD_DOCS=OFF \
            -DJANSSON_EXAMPLES=OFF -DJANSSON_WITHOUT_TESTS=ON -DUSE_URANDOM=OFF
        ninja -C "$b" -j "$JOBS" install >"$b/ninja.log" 2>&1 || { tail -n 30 "$b/ninja.log" >&2; return 1; }
        ;;
    libzstd)
        # Plain make: one static library with the multi-threaded API, no C++ needed.
        make -C "$s/lib" -j "$JOBS" libzstd.a-mt CC=$HOST-gcc AR=$HOST-ar \
            RANLIB=$HOST-ranlib TARGET_SYSTEM=Windows_NT >"$s/make-mingw.log" 2>&1 ||
            { tail -n 30 "$s/make-mingw.log" >&2; return 1; }
        cp "$s/lib/libzstd.a" "$PREFIX/lib/"
        cp "$s/lib/zstd.h" "$s/lib/zstd_errors.h" "$s/lib/zdict.h" "$PREFIX/include/"
        make -C "$s/lib" clean >/dev/null 2>&1 || true
        ;;
    expat)
        cmake_build "$s/expat" "$b" -DEXPAT_SHARED_LIBS=OFF -DEXPAT_BUILD_TOOLS=OFF \
            -DEXPAT_BUILD_EXAMPLES=OFF -DEXPAT_BUILD_TESTS=OFF -DEXPAT_BUILD_DOCS=OFF \
            -DEXPAT_BUILD_PKGCONFIG=OFF -DEXPAT_MSVC_STATIC_CRT=OFF
        # CMake writes "#define XML_DTD" with no value, but Debian's patches test
        # "#if XML_DTD == 1" (its autotools build defines 1): give it the value.
        sed -i 's/^#define XML_DTD$/#define XML_DTD 1/' "$b/expat_config.h"
        ninja -C "$b" -j "$JOBS" install >"$b/ninja.log" 2>&1 || { tail -n 30 "$b/ninja.log" >&2; return 1; }
        ;;
    pcre2)
        cmake_build "$s" "$b" -DBUILD_SHARED_LIBS=OFF -DBUILD_STATIC_LIBS=ON \
            -DPCRE2_BUILD_PCRE2_8=ON -DPCRE2_BUILD_PCRE2_16=OFF -DPCRE2_BUILD_PCRE2_32=OFF \
            -DPCRE2_BUILD_PCRE2GREP=OFF -DPCRE2_BUILD_TESTS=OFF -DPCRE2_SUPPORT_JIT=OFF \
            -DPCRE2_SUPPORT_LIBBZ2=OFF -DPCRE2_SUPPORT_LIBZ=OFF -DPCRE2_SUPPORT_LIBEDIT=OFF \
            -DPCRE2_SUPPORT_LIBREADLINE=OFF
        ninja -C "$b" -j "$JOBS" install >"$b/ninja.log" 2>&1 || { tail -n 30 "$b/ninja.log" >&2; return 1; }
        ;;
    librdkafka)
        # Only the C library target: the C++ wrapper, examples and tests are not built.
        cmake_build "$s" "$b" -DRDKAFKA_BUILD_STATIC=ON -DRDKAFKA_BUILD_EXAMPLES=OFF \
            -DRDKAFKA_BUILD_TESTS=OFF -DWITH_SSL=OFF -DWITH_SASL=OFF -DWITH_ZLIB=OFF \
            -DWITH_CURL=OFF -DWITH_ZSTD=ON -DENABLE_LZ4_EXT=OFF \
            -DZSTD_INCLUDE_DIR="$PREFIX/include" -DZSTD_LIBRARY="$PREFIX/lib/libzstd.a"
        ninja -C "$b" -j "$JOBS" rdkafka >"$b/ninja.log" 2>&1 || { tail -n 30 "$b/ninja.log" >&2; return 1; }
        mkdir -p "$PREFIX/include/librdkafka"
        cp "$b/src/librdkafka.a" "$PREFIX/lib/"
        cp "$s/src/rdkafka.h" "$s/src/rdkafka_mock.h" "$PREFIX/include/librdkafka/"
        ;;
    esac
    rm -rf "$b"
    stamp "$pkg" "$s"
    log "$pkg: built in $(elapsed "$t") s"
}

# zstd before librdkafka, which links it.
for l in $LIBS; do
    build_one "$l"
done
log "total $(elapsed "$T_ALL") s; libraries in $PREFIX/lib:"
ls -l "$PREFIX/lib"/*.a | awk '{ printf "  %-16s %8d bytes\n", $NF, $5 }' | sed "s|$PREFIX/lib/||"
