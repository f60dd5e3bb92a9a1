#!/usr/bin/env bash
# npm run demo: on a fresh Debian/Ubuntu machine as root, run crossnix's main job end to end on a
# throwaway loopback builder, then remove everything it created.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
[ -d node_modules/commander ] || npm ci --no-audit --no-fund
npm run --silent build
exec npx tsx scripts/demo.ts
