#!/usr/bin/env bash
# tests/bench/run.sh - run exitflow-bench against a fresh exitflowd.
#
#   tests/bench/run.sh [bench args...]      e.g.  --clients 32 --seconds 10
#   tests/bench/run.sh --quick              ~1 s phases (smoke test for `make test`)
#
# Starts bin/exitflowd on free 127.0.0.1 ports with --data in a fresh temp dir
# under ./var/, waits until it answers ping, runs bin/exitflow-bench with the
# given args, stops the daemon with SIGTERM and removes the temp dir.
# Exit status: the bench's (0 ok, 1 protocol errors / unreachable), or 1 when
# the daemon fails to start or does not exit cleanly on SIGTERM.
# Override binaries with EXITFLOWD=... EXITFLOW_BENCH=...
set -u

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root" || exit 1

daemon="${EXITFLOWD:-bin/exitflowd}"
bench="${EXITFLOW_BENCH:-bin/exitflow-bench}"
for b in "$daemon" "$bench"; do
    if [ ! -x "$b" ]; then
        echo "run.sh: $b not found or not executable (run make first)" >&2
        exit 1
    fi
done

mkdir -p var
tmp="$(mktemp -d "$root/var/bench.XXXXXX")" || exit 1
dpid=""

# shellcheck disable=SC2317  # invoked from the EXIT trap
cleanup() {
    if [ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null; then
        kill -TERM "$dpid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$dpid" 2>/dev/null
        wait "$dpid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pick_ports() {
    local p
    for _ in $(seq 100); do
        p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
        if ! port_in_use "$p" && ! port_in_use $((p + 1)); then
            cmd_port=$p
            ev_port=$((p + 1))
            return 0
        fi
    done
    return 1
}

show_log() {
    echo "run.sh: --- exitflowd log ($1) ---" >&2
    tail -n 40 "$tmp/daemon.log" >&2
    echo "run.sh: --- end of log ---" >&2
}

started=0
for attempt in 1 2 3 4 5; do
    pick_ports || { echo "run.sh: no free port found" >&2; exit 1; }
    cmd_ep="tcp://127.0.0.1:$cmd_port"
    ev_ep="tcp://127.0.0.1:$ev_port"
    rm -rf "$tmp/data"
    mkdir -p "$tmp/data"
    "$daemon" --data "$tmp/data" --commands "$cmd_ep" --events "$ev_ep" \
        >"$tmp/daemon.log" 2>&1 &
    dpid=$!
    # wait up to ~10 s for a pong
    for _ in $(seq 40); do
        if ! kill -0 "$dpid" 2>/dev/null; then break; fi
        if "$bench" --commands "$cmd_ep" --ping --timeout-ms 250 >/dev/null 2>&1; then
            started=1
            break
        fi
        sleep 0.05
    done
    [ "$started" = 1 ] && break
    if kill -0 "$dpid" 2>/dev/null; then
        show_log "no pong within 10 s"
        echo "run.sh: exitflowd is running but does not answer ping on $cmd_ep" >&2
        exit 1
    fi
    wait "$dpid"
    st=$?
    dpid=""
    if grep -qi "in use" "$tmp/daemon.log"; then
        echo "run.sh: port clash on attempt $attempt, retrying" >&2
        continue
    fi
    show_log "exited with status $st before answering ping"
    exit 1
done
if [ "$started" != 1 ]; then
    echo "run.sh: could not start exitflowd" >&2
    exit 1
fi

echo "run.sh: exitflowd pid $dpid on $cmd_ep (events $ev_ep), data $tmp/data"
"$bench" --commands "$cmd_ep" "$@"
rc=$?

# stop the daemon: SIGTERM, up to 10 s for a clean exit
kill -TERM "$dpid" 2>/dev/null
stopped=0
for _ in $(seq 100); do
    if ! kill -0 "$dpid" 2>/dev/null; then stopped=1; break; fi
    sleep 0.1
done
if [ "$stopped" != 1 ]; then
    show_log "still running 10 s after SIGTERM"
    echo "run.sh: exitflowd did not exit within 10 s of SIGTERM; killing it" >&2
    kill -KILL "$dpid" 2>/dev/null
    wait "$dpid" 2>/dev/null
    dpid=""
    exit 1
fi
wait "$dpid"
st=$?
dpid=""
if [ "$st" != 0 ]; then
    show_log "exit status $st after SIGTERM"
    echo "run.sh: exitflowd exited with status $st after SIGTERM" >&2
    [ "$rc" = 0 ] && rc=1
fi
if [ "$rc" != 0 ]; then
    show_log "bench exit status $rc"
fi
exit "$rc"
