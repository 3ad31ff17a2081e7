#!/usr/bin/env bash
# Installs what the build and the tests need, and only what is missing: nats-server, the
# PostgreSQL 15 server binaries, psql, openssl, procps, psycopg2 and a C++ toolchain (better-sqlite3
# builds the audit index's SQLite when no prebuilt binary can be fetched) from Debian, and with
# --tests Chromium for the web UI's tests and sudo, iproute2 and pebble (an ACME CA) for the guide walk; node_modules with npm ci.
# Silent when nothing is missing. Runs as root in CI; elsewhere uses sudo for apt-get if present.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PG_MAJOR=15
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
fi

say() { echo "ensure-deps: $*"; }

# Runs a command with its output kept back, shown only if it fails.
quietly() {
  local log
  log="$(mktemp)"
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
}

# Debian installs nats-server into /usr/sbin, which a non-root PATH may lack.
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

missing=()
have nats-server || missing+=(nats-server)
[ -x "/usr/lib/postgresql/$PG_MAJOR/bin/postgres" ] && [ -x "/usr/lib/postgresql/$PG_MAJOR/bin/initdb" ] ||
  missing+=("postgresql-$PG_MAJOR")
have psql || missing+=(postgresql-client)
have openssl || missing+=(openssl)
have g++ || missing+=(g++)
have make || missing+=(make)
have python3 || missing+=(python3)
have ps || missing+=(procps) # the tests find leftover processes with ps
# A client family besides node-postgres for the compatibility tests, in Debian's own Python.
/usr/bin/python3 -c 'import psycopg2' >/dev/null 2>&1 || missing+=(python3-psycopg2)
# The web UI's tests drive Debian's Chromium (playwright-core brings no browser of its own).
if [ "${1:-}" = "--tests" ]; then
  have chromium || missing+=(chromium fonts-dejavu-core) # a font, for screenshots that show text
  # The guide walk types the guides' commands as written, sudo included; it makes hosts with ip and nsenter.
  have sudo || missing+=(sudo)
  have ip || missing+=(iproute2)
  have nsenter || missing+=(util-linux)
  have pebble || missing+=(pebble) # the ACME CA guide 001's cluster gets its certificate from
fi

if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]} with apt-get (a minute or two)"
  # Package scripts must not start a cluster on 5432: this machine may already run its own there.
  # policy-rc.d exiting 101 forbids service starts during the install.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    trap '$SUDO rm -f "$policy"' EXIT
  fi
  quietly $SUDO apt-get update
  quietly $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

# Without a prebuilt better-sqlite3 (none can be fetched offline) node-gyp compiles it, and downloads
# Node's headers unless told where they are: the ones installed with Node, when there are.
node_prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
if [ -z "$(npm config get nodedir 2>/dev/null | grep -v '^undefined$')" ] && [ -f "$node_prefix/include/node/node.h" ]; then
  export npm_config_nodedir="$node_prefix"
fi

if [ ! -d node_modules ]; then
  say "npm ci: node_modules is missing (1-4 minutes the first time; it may compile SQLite for better-sqlite3)"
  quietly npm ci --no-audit --no-fund
elif [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci: package-lock.json is newer than node_modules (1-4 minutes)"
  quietly npm ci --no-audit --no-fund
fi
