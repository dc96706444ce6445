#!/usr/bin/env bash
# npm start: install dependencies, provision MongoDB-compatible storage and Redis,
# load demo data (kept across restarts), build the dashboard when its build is missing or
# older than its sources, start every process. Ctrl-C stops them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/ensure-deps.sh
scripts/services.sh start
scripts/ensure-dashboard.sh
node --import tsx scripts/seed.ts --if-empty
exec node --import tsx scripts/run-all.ts
