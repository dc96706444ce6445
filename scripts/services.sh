#!/usr/bin/env bash
# Local MongoDB-compatible server (FerretDB 1.24, SQLite backend) and Redis.
# Usage: scripts/services.sh install|start|stop|status
# Installs what is missing, starts both on loopback, waits until they answer.
# When MONGO_URL / REDIS_URL are set, the matching service is left alone
# (an existing server is used). Running any command twice is harmless.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${AVRR_SERVICES_DIR:-$ROOT/.services}"
FERRETDB_VERSION="v1.24.2"
FERRETDB_BIN="$STATE/bin/ferretdb"
# Names the version and the patches applied, so a binary built with other patches is rebuilt
# (and a running one restarted) without anyone bumping a number; so does a change of the build recipe.
FERRETDB_BUILD="$FERRETDB_VERSION+$({ cat "$ROOT"/tools/ferretdb/patches/*.patch; sed -n '/^install_ferretdb()/,/^}/p' "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-12)"
FERRETDB_PORT="${AVRR_FERRETDB_PORT:-27027}"
REDIS_PORT="${AVRR_REDIS_PORT:-6389}"

log() { printf '[services] %s\n' "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

install_redis() {
  if command -v redis-server >/dev/null 2>&1; then return; fi
  log "installing redis-server from Debian's packages"
  if [ "$(id -u)" != 0 ]; then log "redis-server is missing and this is not root: install the 'redis-server' package"; exit 1; fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  # Debian starts its own instance on 6379; we run ours on $REDIS_PORT, so stop that one.
  (service redis-server stop || systemctl stop redis-server) >/dev/null 2>&1 || true
}

install_ferretdb() {
  # grep without -q reads all input: an early exit would SIGPIPE ferretdb and, with pipefail, fail the test.
  if [ -x "$FERRETDB_BIN" ] && [ "$(cat "$FERRETDB_BIN.build" 2>/dev/null)" = "$FERRETDB_BUILD" ]; then return; fi
  command -v go >/dev/null 2>&1 || { log "Go is required to build FerretDB (go install from the Go module proxy)"; exit 1; }
  log "building FerretDB $FERRETDB_VERSION from the Go module proxy (about a minute)"
  # tools/ferretdb pins FerretDB and its dependencies (go.sum). The module as served by the
  # proxy lacks build/version/version.txt, which FerretDB's own main refuses to run without,
  # so we build from a copy of the downloaded module with that file written.
  local modcache src
  (cd "$ROOT/tools/ferretdb" && go mod download github.com/FerretDB/FerretDB)
  modcache="$(cd "$ROOT/tools/ferretdb" && go list -m -f '{{.Dir}}' github.com/FerretDB/FerretDB)"
  src="$STATE/build/ferretdb-src"
  rm -rf "$src"; mkdir -p "$(dirname "$src")" "$STATE/bin"
  cp -r "$modcache" "$src"; chmod -R u+w "$src"
  echo "$FERRETDB_VERSION" > "$src/build/version/version.txt"
  # Fixes to FerretDB 1.24's SQLite backend (tools/ferretdb/patches, applied in order, each
  # explained in its diff and in the README): _id lookups, `_id` `$in` lists and ranges use
  # the _id index instead of scanning the table, `sort: {_id: ±1}` is read in index order
  # (a limit then stops early), an update command with many statements no longer
  # exhausts the database's connections and hangs, and writes cost less CPU (08-10).
  # The copy is made its own git repository: inside this checkout's, `git apply` would take
  # the patches' paths as relative to the checkout and skip them without failing.
  (cd "$src" && git init -q)
  # Patches 08 and 09 change two modules FerretDB depends on (its SQLite driver and that
  # driver's C library): their pinned versions are copied into the build copy for the
  # patches to apply to (the patches' go.mod hunks replace the modules with the copies).
  local module moddir
  for module in modernc.org/libc modernc.org/sqlite; do
    (cd "$src" && go mod download "$module")
    moddir="$(cd "$src" && go list -m -f '{{.Dir}}' "$module")"
    mkdir -p "$src/third_party/$(dirname "$module")"
    cp -r "$moddir" "$src/third_party/$module"; chmod -R u+w "$src/third_party/$module"
  done
  local patch
  for patch in "$ROOT"/tools/ferretdb/patches/*.patch; do
    (cd "$src" && git apply -p1 "$patch") || { log "could not apply $(basename "$patch") to FerretDB $FERRETDB_VERSION"; exit 1; }
  done
  (cd "$src" && CGO_ENABLED=0 go build -trimpath -o "$FERRETDB_BIN" ./cmd/ferretdb)
  rm -rf "$STATE/build"
  echo "$FERRETDB_BUILD" > "$FERRETDB_BIN.build"
  "$FERRETDB_BIN" --version 2>&1 | sed -n 1p >&2
}

wait_for() { # name port seconds
  local i=0
  while ! port_open "$2"; do
    i=$((i + 1)); if [ "$i" -gt $(($3 * 10)) ]; then log "$1 did not answer on 127.0.0.1:$2 within $3 s"; return 1; fi
    sleep 0.1
  done
}

start_redis() {
  if [ -n "${REDIS_URL:-}" ]; then log "REDIS_URL is set: using the existing Redis"; return; fi
  install_redis
  if [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; then log "redis already running on $REDIS_PORT"; return; fi
  mkdir -p "$STATE/redis"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes \
    --dir "$STATE/redis" --pidfile "$STATE/redis.pid" --logfile "$STATE/redis.log" \
    --appendonly yes --appendfsync everysec --save "" --maxmemory-policy noeviction >/dev/null
  wait_for redis "$REDIS_PORT" 20
  until [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; do sleep 0.1; done
  log "redis ready on 127.0.0.1:$REDIS_PORT"
}

start_ferretdb() {
  if [ -n "${MONGO_URL:-}" ]; then log "MONGO_URL is set: using the existing MongoDB-compatible server"; return; fi
  install_ferretdb
  if port_open "$FERRETDB_PORT"; then
    if [ -f "$STATE/ferretdb.pid" ] && kill -0 "$(cat "$STATE/ferretdb.pid")" 2>/dev/null; then
      if [ "$(cat "$STATE/ferretdb.running-build" 2>/dev/null)" = "$FERRETDB_BUILD" ]; then
        log "ferretdb already running on $FERRETDB_PORT"
        return
      fi
      log "ferretdb on $FERRETDB_PORT runs an older build: restarting it"
      stop_pidfile ferretdb "$STATE/ferretdb.pid"
    else
      log "WARNING: something not started from $STATE answers on 127.0.0.1:$FERRETDB_PORT; using it (stop it, or set AVRR_FERRETDB_PORT, to get this checkout's own)"
      return
    fi
  fi
  mkdir -p "$STATE/ferretdb-data"
  # GOGC=400: FerretDB decodes every document it reads into short-lived objects; collecting
  # less often cut a page read by about a third here, for some more memory.
  GOGC="${AVRR_FERRETDB_GOGC:-400}" nohup "$FERRETDB_BIN" --handler=sqlite --sqlite-url="file:$STATE/ferretdb-data/" \
    --listen-addr="127.0.0.1:$FERRETDB_PORT" --debug-addr=- --state-dir="$STATE" \
    --telemetry=disable --log-level=warn --log-format=json \
    --test-enable-nested-pushdown \
    >"$STATE/ferretdb.log" 2>&1 &
  echo $! > "$STATE/ferretdb.pid"
  echo "$FERRETDB_BUILD" > "$STATE/ferretdb.running-build"
  # A data directory of an older build is upgraded before FerretDB listens (indexes rebuilt,
  # the types of indexed paths recorded: seconds at 10,000 cases, minutes at a million).
  local waited=0
  until port_open "$FERRETDB_PORT" || ! kill -0 "$(cat "$STATE/ferretdb.pid")" 2>/dev/null || [ "$waited" -ge 36000 ]; do
    sleep 0.1; waited=$((waited + 1))
    [ $((waited % 100)) -eq 0 ] && [ "$waited" -ge 300 ] && log "ferretdb is upgrading its data ($((waited / 10)) s; $STATE/ferretdb.log)"
  done
  if ! port_open "$FERRETDB_PORT"; then
    log "ferretdb's last words ($STATE/ferretdb.log):"; tail -n 3 "$STATE/ferretdb.log" | cut -c1-600 >&2
    log "a database file it cannot read (e.g. left by a crash) stops it: remove that file from $STATE/ferretdb-data, or the folder to start afresh"
    exit 1
  fi
  log "ferretdb ready on 127.0.0.1:$FERRETDB_PORT (data in $STATE/ferretdb-data)"
}

stop_pidfile() { # name pidfile
  local pid
  [ -f "$2" ] || return 0
  pid="$(cat "$2")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    log "$1 stopped"
  fi
  rm -f "$2"
}

case "${1:-start}" in
  install) [ -n "${REDIS_URL:-}" ] || install_redis; [ -n "${MONGO_URL:-}" ] || install_ferretdb ;;
  start) mkdir -p "$STATE"; start_redis; start_ferretdb ;;
  stop)
    [ -n "${REDIS_URL:-}" ] || { redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true; stop_pidfile redis "$STATE/redis.pid"; }
    [ -n "${MONGO_URL:-}" ] || stop_pidfile ferretdb "$STATE/ferretdb.pid" ;;
  status)
    port_open "$REDIS_PORT" && echo "redis: up (127.0.0.1:$REDIS_PORT)" || echo "redis: down"
    port_open "$FERRETDB_PORT" && echo "ferretdb: up (127.0.0.1:$FERRETDB_PORT)" || echo "ferretdb: down" ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
