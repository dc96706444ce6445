#!/usr/bin/env bash
# npm test: everything CI checks, against real FerretDB and Redis that this script provisions.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
step() { printf '\n== %s\n' "$*"; }
step "dependencies"; scripts/ensure-deps.sh
step "services"; scripts/services.sh start
# The compose file is validated by `docker compose config` where a Docker client exists;
# Debian's docker-compose stands in when the client lacks the compose plugin.
if command -v docker >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  step "docker-compose (validator)"
  (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; }) || echo "could not install docker-compose" >&2
fi
step "type-check"; npx tsc -p .
# The dashboard (DOM, JSX) has a tsconfig of its own; its browser tests need chromium and a build.
step "type-check (dashboard)"; npx tsc -p dashboard
step "chromium"; scripts/ensure-chromium.sh
step "dashboard build"; npm run -s dashboard:build
step "lint"; npx eslint .
step "formatting"; npx prettier --check .
step "supergraph composition"; node --import tsx scripts/compose.ts --check
step "tests (unit and integration)"; npx vitest run
