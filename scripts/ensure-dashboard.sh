#!/usr/bin/env bash
# Builds the dashboard (npm run dashboard:build, into dashboard/dist) when the build is missing or
# older than any of its sources (dashboard/ outside dist/, and the published schema it is typed
# from). Without the dashboard sources or the script, it says so and the system starts without it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dist=dashboard/dist
stamp="$dist/index.html"
if [ ! -d dashboard ] || ! node -e 'process.exit(require("./package.json").scripts?.["dashboard:build"] ? 0 : 1)'; then
  echo "[start] no dashboard to build yet (dashboard/ or the dashboard:build script is missing): /dashboard/ answers 503" >&2
  exit 0
fi
if [ -f "$stamp" ] && [ -z "$(find dashboard docs/schema.graphql -path "$dist" -prune -o -type f -newer "$stamp" -print -quit 2>/dev/null)" ]; then
  exit 0
fi
echo "[start] building the dashboard (npm run dashboard:build)" >&2
if ! npm run -s dashboard:build; then
  echo "[start] the dashboard did not build: the graph starts without it (/dashboard/ answers 503)" >&2
fi
