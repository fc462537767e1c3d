#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests.
#
#   tests/pg.sh start DIR   create and start a cluster in DIR (127.0.0.1, a free port, trust auth),
#                           create databases hub_ledger and hub_erp, print the base URL
#                           postgresql+psycopg://USER@127.0.0.1:PORT
#   tests/pg.sh restart DIR restart it in place (fast shutdown: sessions are cut)
#   tests/pg.sh stop DIR    stop it and remove DIR
#
# Installs Debian's postgresql package when no initdb is found. PostgreSQL refuses to run as root,
# so as root the cluster belongs to the `postgres` user (created if missing) and runs via runuser.
set -euo pipefail

usage() { echo "usage: $0 start|restart|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
dir=$2

find_bindir() {
    if command -v initdb >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v initdb)")"  # e.g. a symlink into /usr/lib/postgresql/15/bin
    else
        ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
    fi
}

install_postgres() {
    [ "$(id -u)" -eq 0 ] || { echo "pg.sh: PostgreSQL is not installed and we are not root" >&2; exit 1; }
    echo "pg.sh: installing PostgreSQL from Debian's packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2
    apt-get install -y postgresql >&2
}

# run a command as the cluster's owner
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    local bindir port user
    bindir=$(find_bindir)
    if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
        install_postgres
        bindir=$(find_bindir)
    fi
    [ -x "$bindir/initdb" ] || { echo "pg.sh: no initdb found after installing" >&2; exit 1; }

    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    cd /  # the cluster's owner may not be allowed into the caller's directory
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
        chown postgres "$dir"
        as_owner test -x "$dir" || { echo "pg.sh: user postgres cannot reach $dir (check the parent directories' permissions)" >&2; exit 1; }
    fi
    user=postgres
    port=$(free_port)

    as_owner "$bindir/initdb" -D "$dir/data" -U "$user" --auth=trust --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    echo "$bindir" >"$dir/bindir"
    # fsync off: the cluster is thrown away, durability buys nothing here
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >&2 \
        || { cat "$dir/server.log" >&2; exit 1; }
    for db in hub_ledger hub_erp; do
        "$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$user" "$db"
    done
    echo "postgresql+psycopg://$user@127.0.0.1:$port"
}

stop() {
    [ -d "$dir/data" ] || { echo "pg.sh: no cluster in $dir" >&2; exit 1; }
    as_owner "$(cat "$dir/bindir")/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    rm -rf "$dir"
}

# a restart in place (the same port and options), for tests of a database that goes away
restart() {
    [ -d "$dir/data" ] || { echo "pg.sh: no cluster in $dir" >&2; exit 1; }
    cd /
    as_owner "$(cat "$dir/bindir")/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 restart >&2
}

case "$action" in
    start) start ;;
    stop) stop ;;
    restart) restart ;;
    *) usage ;;
esac
