#!/usr/bin/env bash
# npm run bench: build crossnix, then run every benchmark on the loopback test bed (as root, on a
# machine prepared by scripts/install-test-deps.sh) and rewrite BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build
exec npx tsx bench/run.ts
