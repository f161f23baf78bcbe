#!/bin/sh
# Builds the C load generator into perf/bin/ (gitignored). Idempotent; run from anywhere.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$here/bin"
cc -O2 -Wall -Wextra -o "$here/bin/echo-load" "$here/echo-load.c"
