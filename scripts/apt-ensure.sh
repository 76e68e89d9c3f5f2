#!/usr/bin/env bash
# Installs Debian packages when a check fails: `apt-ensure.sh <name> <check> <describe> [--no-recommends] <package>...`.
# <check> and <describe> are shell commands: the first succeeds when nothing is missing, the second prints what was
# installed. Installs when this runs as root (as CI does) or with password-less sudo; otherwise says how to.
# Never fails: the callers' tests and commands check again and name what is missing.
set -uo pipefail

name=$1 check=$2 describe=$3
shift 3
options=()
if [ "${1:-}" = --no-recommends ]; then
  options=(--no-install-recommends)
  shift
fi
packages=("$@")

if bash -c "$check" 2>/dev/null; then
  exit 0
fi

if [ "$(id -u)" = 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "$name: ${packages[*]} missing; install as root: apt-get update && apt-get install -y ${packages[*]}" >&2
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "$name: ${packages[*]} missing and there is no apt-get here; install them (Debian names)" >&2
  exit 0
fi

echo "$name: installing ${packages[*]} with apt-get (once)" >&2
export DEBIAN_FRONTEND=noninteractive
install() { "${as_root[@]}" apt-get install -y -qq "${options[@]}" "${packages[@]}" >&2; }
update() { "${as_root[@]}" apt-get update -qq >&2 || echo "$name: apt-get update failed; trying the install anyway" >&2; }
# apt-get update takes about 15 s: skipped when the package lists already know the last package (an earlier call has
# just updated them), and run when they do not or when the install fails on stale lists.
if [[ "$(apt-cache policy "${packages[-1]}" 2>/dev/null)" == *"Candidate: "[0-9]* ]]; then
  install || { update; install; }
else
  update
  install
fi
if bash -c "$check" 2>/dev/null; then
  echo "$name: $(bash -c "$describe" 2>/dev/null)" >&2
else
  echo "$name: installing ${packages[*]} failed; the tests that need them fail until they are installed" >&2
fi
exit 0
