#!/usr/bin/env bash
# Starts a PostgreSQL cluster of its own for the tests (Debian's postgresql,
# installed if missing) and prints the URL to export as
# BRIGADE_TEST_POSTGRES_URL. Run as root: the cluster runs as the postgres
# user, in a fresh folder, on 127.0.0.1:${PGPORT:-55432}, trusting local
# connections. Usage: export BRIGADE_TEST_POSTGRES_URL=$(bash .ci/postgres.sh)
set -euo pipefail
port="${PGPORT:-55432}"
dir="${PGDIR:-/tmp/brigade-ci-postgres}"

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt-get update -qq >&2
  # Install without starting Debian's own cluster service.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"

# A cluster an earlier run left in the folder still holds the port: stop
# it first (it would only notice its folder gone a minute later).
if [ -f "$dir/data/postmaster.pid" ]; then
  su postgres -s /bin/sh -c "'$bin/pg_ctl' -D '$dir/data' -m immediate -w stop" >&2 || true
fi
rm -rf "$dir"
mkdir -p "$dir"
chown postgres:postgres "$dir"
su postgres -s /bin/sh -c "'$bin/initdb' -D '$dir/data' -A trust -U postgres -E UTF8 >'$dir/initdb.log'" >&2
# Tests make a schema each and run in parallel: allow plenty of
# connections. fsync is off: a test cluster holds nothing worth keeping.
su postgres -s /bin/sh -c "'$bin/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w \
  -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off\" start" >&2
su postgres -s /bin/sh -c "'$bin/psql' -h 127.0.0.1 -p $port -U postgres -qc \"CREATE ROLE brigade LOGIN\"" >&2
su postgres -s /bin/sh -c "'$bin/psql' -h 127.0.0.1 -p $port -U postgres -qc \"CREATE DATABASE brigade OWNER brigade\"" >&2
echo "postgres://brigade@127.0.0.1:$port/brigade?sslmode=disable"
