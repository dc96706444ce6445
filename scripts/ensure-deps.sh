#!/usr/bin/env bash
# Installs npm dependencies when node_modules is missing or older than package-lock.json.
# `npm install` rather than `npm ci`: the npm on these machines writes lockfiles without
# other platforms' optional packages, which `npm ci` then refuses as out of sync; `npm
# install` installs the same locked versions.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[deps] npm install (locked versions)" >&2
  npm install --no-audit --no-fund --loglevel=error
fi
