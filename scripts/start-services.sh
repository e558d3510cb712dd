#!/usr/bin/env bash
# Starts the servers the tests need on loopback — a real PostgreSQL (Debian's postgresql package)
# with a `candor` role and an empty `candor_test` database — and prints the environment the tests
# read, for `eval "$(scripts/start-services.sh)"`:
#   CANDOR_TEST_POSTGRES  URL of the test database (the store's PostgreSQL tests run against it)
# Idempotent: a running cluster is reused and the test database is recreated empty.
set -euo pipefail
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/sh -c "$*"; else sudo -u postgres sh -c "$*"; fi
}
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | awk '{print $1, $2}' | grep -q "^$version main$"; then
  as_postgres "pg_createcluster $version main" >&2
fi
if ! pg_lsclusters -h | grep -q "^$version *main .* online"; then
  if [ "$(id -u)" -eq 0 ]; then pg_ctlcluster "$version" main start >&2; else sudo pg_ctlcluster "$version" main start >&2; fi
fi
for _ in $(seq 1 50); do
  as_postgres "psql -qtAc 'select 1'" >/dev/null 2>&1 && break
  sleep 0.2
done
as_postgres "psql -qtAc \"DO \\\$\\\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'candor') THEN CREATE ROLE candor LOGIN PASSWORD 'candor-test' CREATEDB; END IF; END \\\$\\\$;\"" >&2
as_postgres "dropdb --if-exists candor_test" >&2
as_postgres "createdb -O candor candor_test" >&2
echo "export CANDOR_TEST_POSTGRES=postgres://candor:candor-test@127.0.0.1:5432/candor_test"
