#!/bin/bash
# The entry point of deploy/docker/postgres.Dockerfile: the subset of the registry image's
# docker-entrypoint.sh that deploy/compose.yaml relies on. As root it fixes the ownership of the data
# directory and starts itself again as postgres; on an empty PGDATA it runs initdb with POSTGRES_USER and
# POSTGRES_PASSWORD, creates POSTGRES_DB, runs /docker-entrypoint-initdb.d/*.sql and *.sh, then execs the
# server (any other command runs as given).
set -Eeuo pipefail
if [[ "${1:-}" == -* ]]; then set -- postgres "$@"; fi
if [[ "${1:-}" != postgres ]]; then exec "$@"; fi

if [[ "$(id -u)" == 0 ]]; then
  install -d -o postgres -g postgres -m 0700 "$PGDATA"
  chown -R postgres:postgres "$PGDATA"
  install -d -o postgres -g postgres -m 2775 /var/run/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
fi

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set (POSTGRES_HOST_AUTH_METHOD=trust of the registry image is not supported)}"
  POSTGRES_USER="${POSTGRES_USER:-postgres}"
  POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") --encoding=UTF8 \
    --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 ${POSTGRES_INITDB_ARGS:-} >/dev/null
  printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
  # The first start listens on no port and on a private socket: nobody (pg_isready either) sees it.
  init_socket="$(mktemp -d)"
  pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -c unix_socket_directories=$init_socket" start >/dev/null
  psql=(psql -v ON_ERROR_STOP=1 --no-password --no-psqlrc -h "$init_socket" --username "$POSTGRES_USER")
  if [[ "$POSTGRES_DB" != postgres ]]; then
    "${psql[@]}" --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";' >/dev/null
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sql) echo "init: running $f"; "${psql[@]}" --dbname "$POSTGRES_DB" -f "$f" ;;
      *.sh) echo "init: running $f"; PGHOST="$init_socket" bash "$f" ;;
      *) [[ -e "$f" ]] && echo "init: ignoring $f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  rmdir "$init_socket"
  echo "init: database $POSTGRES_DB of $POSTGRES_USER ready"
fi
exec "$@"
