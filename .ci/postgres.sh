#!/usr/bin/env bash
# Starts Debian's PostgreSQL 15 cluster on loopback for the PostgreSQL MetaStore suites, trusting local
# TCP connections (a test machine: nothing else listens). Serves:
#
#   TRIBUTARY_TEST_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
#
# Run as root after apt-get update. Idempotent.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
	apt-get install -y --no-install-recommends postgresql-15
fi
HBA=/etc/postgresql/15/main/pg_hba.conf
if ! grep -q "tributary-test" "$HBA"; then
	sed -i '1i host all all 127.0.0.1/32 trust # tributary-test\nhost all all ::1/128 trust # tributary-test' "$HBA"
	pg_ctlcluster 15 main status >/dev/null 2>&1 && pg_ctlcluster 15 main reload || true
fi
pg_ctlcluster 15 main status >/dev/null 2>&1 || pg_ctlcluster 15 main start
for i in $(seq 1 30); do
	if pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
		echo "postgres: ready on 127.0.0.1:5432"
		exit 0
	fi
	sleep 1
done
echo "postgres: not ready after 30 s" >&2
exit 1
