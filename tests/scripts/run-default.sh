#!/usr/bin/env bash
# `make run`: the main job on the default config folder, no extra input.
set -eu
cd "$(dirname "$0")/../.."
exec build/etwhost run -c conf
