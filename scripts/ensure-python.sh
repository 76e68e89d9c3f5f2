#!/usr/bin/env bash
# Makes sure Debian's Python can build the Python package (`npm run package:python`): /usr/bin/python3 with setuptools,
# wheel and build (PEP 517). No Python package index is reachable from these machines, so the tools come from apt
# (Debian 12: python3-setuptools 66, python3-wheel 0.38, python3-build 0.9), never from pip.
# Installs what is missing when this runs as root (as CI does) or with password-less sudo; otherwise says how to.
# Never fails: `npm run package:python` checks again and stops with one line naming what is missing.
set -uo pipefail

PYTHON=/usr/bin/python3
PACKAGES=(python3 python3-setuptools python3-wheel python3-build)

if [ -x "$PYTHON" ] && "$PYTHON" -c 'import build, setuptools, wheel' 2>/dev/null; then
  exit 0
fi

if [ "$(id -u)" = 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "ensure-python: the Python build tools are missing; install them as root: apt-get update && apt-get install -y ${PACKAGES[*]}" >&2
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-python: the Python build tools are missing and there is no apt-get here; install ${PACKAGES[*]} (Debian names)" >&2
  exit 0
fi

echo "ensure-python: installing ${PACKAGES[*]} with apt-get (once)" >&2
export DEBIAN_FRONTEND=noninteractive
install() { "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >&2; }
update() { "${as_root[@]}" apt-get update -qq >&2 || echo "ensure-python: apt-get update failed; trying the install anyway" >&2; }
# apt-get update takes about 15 s: skipped when the package lists already know python3-build (CI's ensure-browser.sh
# has just updated them), and run when they do not or when the install fails on stale lists.
if [[ "$(apt-cache policy python3-build 2>/dev/null)" == *"Candidate: "[0-9]* ]]; then
  install || { update; install; }
else
  update
  install
fi
if [ -x "$PYTHON" ] && "$PYTHON" -c 'import build, setuptools, wheel' 2>/dev/null; then
  echo "ensure-python: $("$PYTHON" -c 'import build, setuptools, sys, wheel; print(f"Python {sys.version.split()[0]}, setuptools {setuptools.__version__}, wheel {wheel.__version__}, build {build.__version__}")')" >&2
else
  echo "ensure-python: installing the Python build tools failed; npm run package:python will fail until they are installed" >&2
fi
exit 0
