#!/usr/bin/env bash
# Installs npm dependencies when node_modules is missing or older than package-lock.json,
# with `npm ci`: exactly the committed lockfile, which is never rewritten. The lockfile
# holds every platform's optional packages (test/integration/fresh-clone.test.ts checks
# that `npm ci` accepts it), so this works on any machine, as in the Dockerfile.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -L node_modules ]; then
  # A node_modules linked from another checkout is shared: `npm ci` would empty it for
  # everyone. Whoever owns it installs there.
  exit 0
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[deps] npm ci (the committed lockfile)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
