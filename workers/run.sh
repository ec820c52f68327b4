#!/bin/sh
# run.sh — exitflowd with its workers beside it (what `make run` starts).
#
#   workers/run.sh [exitflowd flags...]
#
# The daemon gets the flags; the workers find it at the same endpoints:
# EXITFLOW_COMMANDS and EXITFLOW_EVENTS (default tcp://127.0.0.1:5570 and
# :5571) are passed to all three, and EXITFLOW_CONFIG (a ZPL file such as
# deploy/exitflow.cfg) too when set. BIN is where the programs are (bin).
# Ctrl-C or SIGTERM stops the workers, then the daemon; if the daemon
# exits by itself, the workers are stopped and its status is returned.
set -u
BIN=${BIN:-bin}
COMMANDS=${EXITFLOW_COMMANDS:-tcp://127.0.0.1:5570}
EVENTS=${EXITFLOW_EVENTS:-tcp://127.0.0.1:5571}
set -- --commands "$COMMANDS" --events "$EVENTS" "$@"
common="--commands $COMMANDS --events $EVENTS"
if [ -n "${EXITFLOW_CONFIG:-}" ]; then
    set -- --config "$EXITFLOW_CONFIG" "$@"
    common="--config $EXITFLOW_CONFIG $common"
fi
mkdir -p var

"$BIN/exitflowd" "$@" &
daemon=$!
# shellcheck disable=SC2086  # $common is words by design
"$BIN/exitflow-dq" $common &
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
