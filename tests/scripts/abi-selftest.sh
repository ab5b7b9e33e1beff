#!/usr/bin/env bash
# Prove that `make abi-check` can fail: build the probe against a copy of the
# SDK header with a member inserted mid-struct (must be rejected) and with a
# member appended at the end (must be accepted).
set -eu
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/inc/etwhost"
probe() { cc -std=c11 -g -O0 -fPIC -shared -fvisibility=hidden -I"$tmp/inc" -o "$tmp/p.so" sdk/abi/probe.c; }

cp sdk/include/etwhost/plugin.h "$tmp/inc/etwhost/"
sed -i 's|^    /\* Log one finished line|    uint32_t inserted_member;\n&|' "$tmp/inc/etwhost/plugin.h"
grep -q inserted_member "$tmp/inc/etwhost/plugin.h"
probe
if sh sdk/abi/abi-check.sh "$tmp/p.so" >/dev/null 2>&1; then
    echo "abi-check accepted a member inserted in the middle of etwhost_host_api"; exit 1
fi

cp sdk/include/etwhost/plugin.h "$tmp/inc/etwhost/"
sed -i 's|^    etwhost_status(ETWHOST_CALL \*stats)(void \*inst, char \*buf, size_t cap, size_t \*needed);|&\n    void(ETWHOST_CALL *appended_member)(void);|' "$tmp/inc/etwhost/plugin.h"
grep -q appended_member "$tmp/inc/etwhost/plugin.h"
probe
sh sdk/abi/abi-check.sh "$tmp/p.so"
echo "abi-check rejects a mid-struct insertion and accepts an end append"
