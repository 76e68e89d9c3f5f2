#!/usr/bin/env bash
# Makes sure Debian's Chromium is at /usr/bin/chromium for the browser tests (test/label, test/report), which drive it
# with playwright-core. `npx playwright install` cannot download browsers here, so Chromium comes from apt.
# Installs it when missing and this runs as root (as CI does) or with password-less sudo; otherwise says how to.
# Never fails: a machine without Chromium still runs the other tests, and the browser tests fail naming this script.
set -uo pipefail

CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  exit 0
fi

if [ "$(id -u)" = 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "ensure-browser: $CHROMIUM is missing; install it as root: apt-get update && apt-get install -y chromium" >&2
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-browser: $CHROMIUM is missing and there is no apt-get here; install Chromium at $CHROMIUM" >&2
  exit 0
fi

echo "ensure-browser: installing chromium with apt-get (once)" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq >&2 || echo "ensure-browser: apt-get update failed; trying the install anyway" >&2
if "${as_root[@]}" apt-get install -y -qq chromium >&2 && [ -x "$CHROMIUM" ]; then
  echo "ensure-browser: $("$CHROMIUM" --version 2>/dev/null)" >&2
else
  echo "ensure-browser: installing chromium failed; the browser tests will fail until $CHROMIUM exists" >&2
fi
exit 0
