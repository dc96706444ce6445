#!/usr/bin/env bash
# The browser the dashboard's tests and bench drive (playwright-core, no browser download): Debian's
# chromium at /usr/bin/chromium, installed with apt-get when missing (as root; otherwise a clear error).
set -euo pipefail
CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "ensure-chromium: $CHROMIUM is missing and this user is not root: run 'sudo apt-get install -y chromium'" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: $CHROMIUM is missing and there is no apt-get: install Debian's chromium package" >&2
  exit 1
fi
echo "ensure-chromium: installing Debian's chromium" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
[ -x "$CHROMIUM" ] || { echo "ensure-chromium: apt-get installed chromium but $CHROMIUM is still missing" >&2; exit 1; }
