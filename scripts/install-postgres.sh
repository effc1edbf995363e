#!/usr/bin/env bash
# Install PostgreSQL (Debian's `postgresql` package) for the central decision log's tests, which
# initdb and start a cluster of their own (tests/postgres_fixture.py). Idempotent: a machine that
# has initdb under /usr/lib/postgresql/*/bin is left alone. Runs apt-get as root, or through sudo
# where that exists. Tests running as root start PostgreSQL as the postgres user the package
# creates, through runuser (util-linux, on every Debian machine).
set -euo pipefail

if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-postgres: no apt-get here; install PostgreSQL (initdb, pg_ctl) yourself" >&2
  exit 2
fi
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install-postgres: not root and no sudo: run as root, or install Debian's postgresql" >&2
    exit 2
  fi
  as_root=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q
"${as_root[@]}" apt-get install -y -q --no-install-recommends postgresql
