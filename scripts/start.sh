#!/usr/bin/env bash
# npm start: install dependencies, provision MongoDB-compatible storage and Redis,
# load demo data (kept across restarts), start every process. Ctrl-C stops them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/ensure-deps.sh
scripts/services.sh start
node --import tsx scripts/seed.ts --if-empty
exec node --import tsx scripts/run-all.ts
