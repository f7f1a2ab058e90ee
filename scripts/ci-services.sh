# Sourced by .ci/run (as root): the services the end-to-end tests need, from
# Debian's packages. Chromium renders the Prefect UI; Postgres is the Prefect
# server's database, reached over the local socket with peer auth (no password).
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v pg_ctlcluster >/dev/null || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi
read -r pg_version pg_cluster _ < <(pg_lsclusters -h | head -1)
pg_ctlcluster "$pg_version" "$pg_cluster" start 2>/dev/null || true
for _ in $(seq 30); do pg_isready -q && break; sleep 1; done
su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='root'\"" | grep -q 1 \
  || su postgres -c "createuser --superuser root"
# one database per pytest-xdist worker (tests/_server.py adds the _gwN suffix)
for db in ragtune_e2e ragtune_e2e_gw0 ragtune_e2e_gw1 ragtune_audit; do
  dropdb --if-exists --force "$db" && createdb "$db"
done
export RAGTUNE_E2E_PREFECT_DB="postgresql+asyncpg:///ragtune_e2e?host=/var/run/postgresql"
# the audit log's Postgres backend (tests/core/test_audit_postgres.py)
export RAGTUNE_TEST_AUDIT_DSN="postgresql:///ragtune_audit?host=/var/run/postgresql"
