#!/bin/sh
# One-shot (temporalio/admin-tools): create Temporal's databases on the shared Postgres and bring
# their schemas up to date. Safe to re-run: existing databases are kept, schemas only move forward.
set -eu

: "${POSTGRES_SEEDS:=postgres}"
: "${DB_PORT:=5432}"
: "${POSTGRES_USER:=postgres}"
: "${SQL_PASSWORD:?set SQL_PASSWORD to the Postgres password}"
export SQL_PASSWORD
SCHEMA_ROOT=/etc/temporal/schema/postgresql/v12

echo "waiting for postgres at ${POSTGRES_SEEDS}:${DB_PORT}"
until nc -z "${POSTGRES_SEEDS}" "${DB_PORT}"; do sleep 1; done

sql() {
  temporal-sql-tool --plugin postgres12 --ep "${POSTGRES_SEEDS}" -p "${DB_PORT}" -u "${POSTGRES_USER}" "$@"
}

for pair in temporal:temporal temporal_visibility:visibility; do
  db=${pair%%:*}
  dir=${pair##*:}
  # `create` fails when the database already exists (a re-run): that is fine, the schema steps
  # below still fail loudly if the server is really unreachable.
  sql --db "${db}" create || echo "database ${db} already exists"
  sql --db "${db}" setup-schema -v 0.0
  sql --db "${db}" update-schema -d "${SCHEMA_ROOT}/${dir}/versioned"
done
echo "temporal schemas are up to date"
