#!/usr/bin/env bash
# Makes sure Debian's Python can build the Python package (`npm run package:python`): /usr/bin/python3 with setuptools,
# wheel and build (PEP 517). No Python package index is reachable from these machines, so the tools come from apt
# (Debian 12: python3-setuptools 66, python3-wheel 0.38, python3-build 0.9), never from pip.
# Never fails: `npm run package:python` checks again and stops with one line naming what is missing.
exec bash "$(dirname "$0")/apt-ensure.sh" ensure-python "/usr/bin/python3 -c 'import build, setuptools, wheel'" \
  "/usr/bin/python3 -c 'import build, setuptools, sys, wheel; print(f\"Python {sys.version.split()[0]}, setuptools {setuptools.__version__}, wheel {wheel.__version__}, build {build.__version__}\")'" \
  --no-recommends python3 python3-setuptools python3-wheel python3-build
