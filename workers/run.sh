#!/bin/sh
# run.sh — exitflowd with its workers beside it (what `make run` starts).
#
#   workers/run.sh [exitflowd flags...]
#
# The daemon gets the flags; all three read one configuration (ZPL,
# --config): EXITFLOW_CONFIG when set, else ./var/exitflow.cfg, which the
# first run writes from deploy/exitflow.cfg (the file beside this script's
# folder) and later runs keep as it is: edit it, it is never overwritten.
# Its `exitflowd` section gives the daemon its data directory and
# endpoints, and the workers find the daemon there; its `dq` and `notify`
# sections are the workers' (notify/ops: who hears of DQ errors and stalled
# exits). EXITFLOW_COMMANDS and EXITFLOW_EVENTS, when set, override the
# endpoints for all three; the daemon's --timezone goes to exitflow-dq as
# well. The daemon serves /metrics and /health on http://127.0.0.1:5572
# (EXITFLOW_HTTP=ADDR:PORT for another address, EXITFLOW_HTTP= for none).
# exitflow-web serves the web front end on http://127.0.0.1:8080 (its
# `web` section; the keys frontend_secret and ops_secret below;
# EXITFLOW_WEB_LISTEN=ADDR:PORT for another address), with the demo
# accounts made on the first run.
# BIN is where the programs are (bin).
# Ctrl-C or SIGTERM stops the workers, then the daemon; if the daemon
# exits by itself, the workers are stopped and its status is returned.
#
# Keys: CURVE is on. The first run makes ./var/keys with `exitflow keygen`:
# server{,_secret} (the daemon's), admin, frontend, worker and ops (a
# certificate per role, named after it), and ./var/keys/certs/ holding the
# public halves of the four, which the daemon reads (--certs). Later runs
# keep them: a certificate deleted from ./var/keys/certs stays revoked.
# The workers and the CLI run from this directory find theirs there
# (worker_secret, admin_secret and server) by the default rule.
set -u
BIN=${BIN:-bin}
KEYS=./var/keys
TEMPLATE=$(dirname "$0")/../deploy/exitflow.cfg

# One certificate, unless it exists; a new client certificate's public half
# goes into the daemon's directory.
make_key() {
    [ -e "$KEYS/$1_secret" ] && return 0
    "$BIN/exitflow" keygen "$1" --role "$2" --out "$KEYS" >/dev/null || exit 1
    [ "$1" = server ] || cp "$KEYS/$1" "$KEYS/certs/$1" || exit 1
    made="$made $1"
}

made=
mkdir -p var "$KEYS/certs" && chmod 700 "$KEYS" || exit 1
make_key server admin       # its role is never read: it is not in certs/
for role in admin frontend worker ops; do
    make_key "$role" "$role"
done
[ -n "$made" ] && echo "run.sh: made keys in $KEYS:$made" >&2

# The configuration: written once (through a temporary file, so that an
# interrupted first run leaves none rather than half of one), then kept.
if [ -z "${EXITFLOW_CONFIG:-}" ]; then
    EXITFLOW_CONFIG=./var/exitflow.cfg
    if [ ! -e "$EXITFLOW_CONFIG" ]; then
        { echo "#   Written by make run (workers/run.sh) from deploy/exitflow.cfg;"
          echo "#   yours to edit: later runs read it and never rewrite it."
          cat "$TEMPLATE"
        } >"$EXITFLOW_CONFIG.new" && mv "$EXITFLOW_CONFIG.new" "$EXITFLOW_CONFIG" \
            || exit 1
        echo "run.sh: wrote $EXITFLOW_CONFIG from deploy/exitflow.cfg" >&2
    fi
fi

# The CoC's time zone: a --timezone given to the daemon is exitflow-dq's
# too (the file's exitflowd/timezone both read by themselves).
zone=
prev=
for arg in "$@"; do
    case $arg in --timezone=*) zone=${arg#--timezone=} ;; esac
    [ "$prev" = --timezone ] && zone=$arg
    prev=$arg
done

# /metrics and /health (exitflowd --http): 127.0.0.1:5572, loopback only,
# unless EXITFLOW_HTTP names another ADDR:PORT (set and empty: off) or the
# configuration gives exitflowd an `http` key of its own.
http=${EXITFLOW_HTTP-127.0.0.1:5572}
if [ -z "${EXITFLOW_HTTP+set}" ] \
   && grep -q '^[[:space:]]*http[[:space:]]*=' "$EXITFLOW_CONFIG"; then
    http=
fi

# A program with the file, and the endpoints of the environment when set
# (flags override the file).
start() {
    prog=$1
    shift
    "$BIN/$prog" --config "$EXITFLOW_CONFIG" \
        ${EXITFLOW_COMMANDS:+--commands "$EXITFLOW_COMMANDS"} \
        ${EXITFLOW_EVENTS:+--events "$EXITFLOW_EVENTS"} "$@" &
}

# exitflow-web's demo accounts, `caseworker` and `ops`: made on the first
# run (no ./var/web-users yet, and no web/users key in the configuration)
# with random passwords, printed here once; the file keeps only their
# yescrypt hashes. `bin/exitflow-web passwd NAME --role ROLE --users
# ./var/web-users` changes one.
web_accounts() {
    users=./var/web-users
    [ -e "$users" ] && return 0
    grep -q '^[[:space:]]*users[[:space:]]*=' "$EXITFLOW_CONFIG" && return 0
    for account in caseworker ops; do
        password=$(head -c 12 /dev/urandom | base64 | tr '+/' '-_')
        printf '%s\n' "$password" | "$BIN/exitflow-web" passwd "$account" \
            --role "$account" --users "$users" 2>/dev/null || return 1
        echo "run.sh: web account $account, password $password (shown once)" >&2
    done
}

start exitflowd --server-cert "$KEYS/server_secret" --certs "$KEYS/certs" \
    ${http:+--http "$http"} "$@"
daemon=$!
start exitflow-dq ${zone:+--timezone "$zone"}
dq=$!
start exitflow-notify
notify=$!
web=
if [ -x "$BIN/exitflow-web" ]; then
    web_accounts
    start exitflow-web ${EXITFLOW_WEB_LISTEN:+--listen "$EXITFLOW_WEB_LISTEN"}
    web=$!
fi
echo "run.sh: exitflowd $daemon, exitflow-dq $dq, exitflow-notify $notify," \
    "exitflow-web $web" >&2

stopping=0
stop_all() {
    stopping=1
    kill -TERM "$dq" "$notify" $web 2>/dev/null
    wait "$dq" "$notify" $web 2>/dev/null
    kill -TERM "$daemon" 2>/dev/null
    wait "$daemon"
    exit $?
}
trap stop_all INT TERM

wait "$daemon"
status=$?
[ "$stopping" = 1 ] && exit 0
echo "run.sh: exitflowd exited ($status); stopping the workers and the web" >&2
kill -TERM "$dq" "$notify" $web 2>/dev/null
wait "$dq" "$notify" $web 2>/dev/null
exit "$status"
