#!/bin/sh
# The `db-init` one-shot of docker-compose.yml: database, roles and schemas, as the native stack does them
# (libs/devstack/src/pm_devstack/bootstrap.py):
#   - database $PM_DATABASE (default playlistmgr); PUBLIC gets nothing on it nor on its public schema;
#   - per schema in $PM_SCHEMAS a login role pm_<schema>, password from PG_PASSWORD_<SCHEMA>, owning schema
#     <schema>, with search_path = <schema>, CONNECT and TEMPORARY on the database and nothing else.
# Idempotent: run on every `docker compose up`. Passwords are re-set each run, so .env stays the truth.
# Connects with the libpq variables (PGHOST, PGPORT, PGUSER, PGPASSWORD) as the superuser. Passwords reach
# psql through the environment (\getenv), never through its command line.
set -eu

: "${PM_DATABASE:=playlistmgr}"
: "${PM_SCHEMAS:?PM_SCHEMAS must list the services schemas, space-separated}"

valid_identifier() {
    case "$1" in
        '' | [!a-z_]* | *[!a-z0-9_]*) return 1 ;;
    esac
}

password_variable() {
    printf 'PG_PASSWORD_%s' "$(printf '%s' "$1" | tr '[:lower:]' '[:upper:]')"
}

psql_run() {
    PGOPTIONS="-c client_min_messages=warning" psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 "$@"
}

# Check every input before changing anything.
valid_identifier "$PM_DATABASE" || { echo "init-db: bad database name '$PM_DATABASE'" >&2; exit 2; }
for schema in $PM_SCHEMAS; do
    valid_identifier "$schema" || { echo "init-db: bad schema name '$schema'" >&2; exit 2; }
    variable="$(password_variable "$schema")"
    eval "password=\${$variable:-}"
    [ -n "$password" ] || { echo "init-db: $variable is not set" >&2; exit 2; }
done

# depends_on waits for a healthy server; this covers a restart of it in between.
tries=0
until pg_isready --quiet --dbname=postgres; do
    tries=$((tries + 1))
    [ "$tries" -lt 30 ] || { echo "init-db: PostgreSQL at ${PGHOST:-localhost} is not ready" >&2; exit 1; }
    sleep 1
done

psql_run --dbname=postgres --set db="$PM_DATABASE" <<'SQL'
SELECT format('CREATE DATABASE %I', :'db')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL

psql_run --dbname="$PM_DATABASE" --single-transaction --set db="$PM_DATABASE" <<'SQL'
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
REVOKE CREATE, USAGE ON SCHEMA public FROM PUBLIC;
SQL

for schema in $PM_SCHEMAS; do
    eval "PM_ROLE_PASSWORD=\${$(password_variable "$schema")}"
    export PM_ROLE_PASSWORD
    psql_run --dbname="$PM_DATABASE" --single-transaction \
        --set db="$PM_DATABASE" --set schema="$schema" --set role="pm_$schema" <<'SQL'
\getenv password PM_ROLE_PASSWORD
SELECT format('CREATE ROLE %I', :'role')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', :'role', :'password') \gexec
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"role";
CREATE SCHEMA IF NOT EXISTS :"schema" AUTHORIZATION :"role";
ALTER SCHEMA :"schema" OWNER TO :"role";
ALTER ROLE :"role" SET search_path = :"schema";
SQL
    unset PM_ROLE_PASSWORD
    echo "init-db: role pm_$schema owns schema $schema"
done
echo "init-db: database $PM_DATABASE ready"
