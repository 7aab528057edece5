#!/bin/sh
# initdb on first start (superuser password from POSTGRES_PASSWORD, never on the command line), then
# PostgreSQL in the foreground with the arguments given ("-c name=value" ...).
set -eu
PGDATA=/var/lib/postgresql/data
BIN=/usr/lib/postgresql/15/bin
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    "$BIN/initdb" -D "$PGDATA" -U postgres --pwfile="$pwfile" --auth-host=scram-sha-256 \
        --auth-local=peer -E UTF8 --locale=C.UTF-8
    rm -f "$pwfile"
    # Clients come through the engine's port forwarding, not loopback: password auth from anywhere (the
    # port is published on the host's loopback only).
    printf 'host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
fi
unset POSTGRES_PASSWORD
exec "$BIN/postgres" -D "$PGDATA" "$@"
