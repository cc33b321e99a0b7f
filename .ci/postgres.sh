# Sourced by .ci/run: a throwaway PostgreSQL server for the store tests (tests/modeling/test_store*).
#
# Installs Debian's `postgresql` package when no server binaries are found, then initializes a
# cluster in a temporary folder (initdb), starts it on a free local port with pg_ctl (no systemd;
# as the `postgres` user when run as root), creates the database `vbc_test` and exports
# VBC_TEST_POSTGRES_DSN and VBC_REQUIRE_POSTGRES=1, so a missing server fails the store tests
# instead of skipping them. `stop_ci_postgres` (run at exit by .ci/run) stops it and removes it.

ci_postgres_bin() {
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -n "$found" ] && [ -x "$found/initdb" ]; then
        echo "$found"
    elif command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(command -v initdb)"
    fi
}

ci_as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then
        su postgres -s /bin/sh -c "$*"
    else
        sh -c "$*"
    fi
}

start_ci_postgres() {
    if [ -z "$(ci_postgres_bin)" ]; then
        echo "== installing postgresql (apt)"
        if [ "$(id -u)" -eq 0 ]; then
            apt-get update && apt-get install -y --no-install-recommends postgresql
        else
            sudo apt-get update && sudo apt-get install -y --no-install-recommends postgresql
        fi
    fi
    CI_PG_BIN=$(ci_postgres_bin)
    if [ -z "$CI_PG_BIN" ]; then
        echo "no PostgreSQL server binaries (initdb, pg_ctl) after installing postgresql" >&2
        return 1
    fi
    if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
        useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin postgres
    fi
    CI_PG_DIR=$(mktemp -d /tmp/vbc-ci-postgres.XXXXXX)
    CI_PG_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    local password
    password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    printf '%s\n' "$password" >"$CI_PG_DIR/pwfile"
    chmod 600 "$CI_PG_DIR/pwfile"
    if [ "$(id -u)" -eq 0 ]; then
        chown -R postgres "$CI_PG_DIR"
    fi
    echo "== starting PostgreSQL ($CI_PG_BIN) on 127.0.0.1:$CI_PG_PORT"
    ci_as_postgres "'$CI_PG_BIN/initdb' -D '$CI_PG_DIR/data' -U postgres -A scram-sha-256 --pwfile='$CI_PG_DIR/pwfile' >'$CI_PG_DIR/initdb.log'"
    ci_as_postgres "'$CI_PG_BIN/pg_ctl' -D '$CI_PG_DIR/data' -l '$CI_PG_DIR/server.log' -w -t 60 -o \"-p $CI_PG_PORT -c listen_addresses=127.0.0.1 -k '$CI_PG_DIR' -c max_connections=200\" start"
    export VBC_TEST_POSTGRES_DSN="host=127.0.0.1 port=$CI_PG_PORT user=postgres password=$password dbname=vbc_test"
    PGPASSWORD="$password" "$CI_PG_BIN/createdb" -h 127.0.0.1 -p "$CI_PG_PORT" -U postgres vbc_test
    export VBC_REQUIRE_POSTGRES=1
}

stop_ci_postgres() {
    if [ -n "${CI_PG_DIR:-}" ] && [ -d "$CI_PG_DIR/data" ]; then
        ci_as_postgres "'$CI_PG_BIN/pg_ctl' -D '$CI_PG_DIR/data' -m fast -w stop" >/dev/null || true
        rm -rf "$CI_PG_DIR"
    fi
}
