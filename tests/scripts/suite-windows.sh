#!/usr/bin/env bash
# make test: the Windows build (mingw-w64) and the test suite under Wine.
cd "$(dirname "$0")/../.."
exec bash tests/scripts/windows-test.sh
