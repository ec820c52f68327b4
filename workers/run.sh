#!/bin/sh
# run.sh — exitflowd with its workers beside it (what `make run` starts).
#
#   workers/run.sh [exitflowd flags...]
#
# The daemon gets the flags; the workers find it at the same endpoints:
# EXITFLOW_COMMANDS and EXITFLOW_EVENTS (default tcp://127.0.0.1:5570 and
# :5571) are passed to all three, and EXITFLOW_CONFIG (a ZPL file such as
# deploy/exitflow.cfg) too when set; the daemon's --timezone goes to
# exitflow-dq as well. BIN is where the programs are (bin).
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
COMMANDS=${EXITFLOW_COMMANDS:-tcp://127.0.0.1:5570}
EVENTS=${EXITFLOW_EVENTS:-tcp://127.0.0.1:5571}
KEYS=./var/keys

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

# The CoC's time zone: the daemon's --timezone is exitflow-dq's too (with
# EXITFLOW_CONFIG, the dq worker also reads exitflowd/timezone).
zone=
prev=
for arg in "$@"; do
    case $arg in --timezone=*) zone=${arg#--timezone=} ;; esac
    [ "$prev" = --timezone ] && zone=$arg
    prev=$arg
done

set -- --commands "$COMMANDS" --events "$EVENTS" \
    --server-cert "$KEYS/server_secret" --certs "$KEYS/certs" "$@"
common="--commands $COMMANDS --events $EVENTS"
if [ -n "${EXITFLOW_CONFIG:-}" ]; then
    set -- --config "$EXITFLOW_CONFIG" "$@"
    common="--config $EXITFLOW_CONFIG $common"
fi

"$BIN/exitflowd" "$@" &
daemon=$!
# shellcheck disable=SC2086  # $common is words by design
"$BIN/exitflow-dq" $common ${zone:+--timezone "$zone"} &
dq=$!
# shellcheck disable=SC2086
"$BIN/exitflow-notify" $common &
notify=$!
echo "run.sh: exitflowd $daemon, exitflow-dq $dq, exitflow-notify $notify" >&2

stopping=0
stop_all() {
    stopping=1
    kill -TERM "$dq" "$notify" 2>/dev/null
    wait "$dq" "$notify" 2>/dev/null
    kill -TERM "$daemon" 2>/dev/null
    wait "$daemon"
    exit $?
}
trap stop_all INT TERM

wait "$daemon"
status=$?
[ "$stopping" = 1 ] && exit 0
echo "run.sh: exitflowd exited ($status); stopping the workers" >&2
kill -TERM "$dq" "$notify" 2>/dev/null
wait "$dq" "$notify" 2>/dev/null
exit "$status"
