#!/bin/sh
# Compare the ABI probe library against the committed baseline.
# Usage: abi-check.sh PROBE.so   (exit 0 = compatible)
set -u
probe="$1"
here=$(dirname "$0")
base="$here/etwhost-abi-1.xml"
if ! command -v abidiff >/dev/null 2>&1; then
    echo "abi-check: abidiff not found (apt-get install abigail-tools)" >&2
    exit 2
fi
out=$(abidiff --suppressions "$here/etwhost.suppr" "$base" "$probe" 2>&1)
rc=$?
if [ $rc -ne 0 ]; then
    echo "abi-check: FAILED (abidiff exit $rc): the plugin ABI changed incompatibly" >&2
    echo "$out" >&2
    exit 1
fi
echo "abi-check: OK (SDK types match sdk/abi/etwhost-abi-1.xml; only end-appends allowed)"
