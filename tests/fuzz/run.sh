#!/bin/sh
# run.sh — replays the fuzz regressions, then runs each libFuzzer target for
# a while on a copy of its seed corpus (tests/fuzz/README.md).
#
#   tests/fuzz/run.sh SECONDS     each target SECONDS (make fuzz FUZZ_SECONDS=N)
#   tests/fuzz/run.sh --quick     each target 10 s (make test)
#   tests/fuzz/run.sh --replay    the regressions only
#
# The targets are bin-fuzz/fuzz_* (make fuzz-build). A crash is copied into
# tests/fuzz/regressions/<target>/, where every later run replays it: fix
# the bug and keep the file. Exits non-zero on any crash.
#   FUZZ_TARGETS="codec"   only those targets
#   FUZZ_KEEP=DIR          keep the grown corpora in DIR/<target>/
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin="$repo/bin-fuzz"
targets=${FUZZ_TARGETS:-"codec commands"}

case "${1:-}" in
    --quick) seconds=10 ;;
    --replay) seconds=0 ;;
    ''|*[!0-9]*) echo "usage: $0 SECONDS | --quick | --replay" >&2; exit 2 ;;
    *) seconds=$1 ;;
esac

# The command target's stores go to memory when it can (fsync is free there).
shm=/dev/shm
[ -w "$shm" ] || shm=${TMPDIR:-/tmp}
work=$(mktemp -d "${TMPDIR:-/tmp}/exf-fuzz-XXXXXX") || exit 1
stores=$(mktemp -d "$shm/exf-fuzz-stores-XXXXXX") || exit 1
trap 'rm -rf "$work" "$stores"' EXIT INT TERM
export FUZZ_TMPDIR="$stores"

max_len() {
    case $1 in
        codec) echo 16384 ;;
        commands) echo 32768 ;;
    esac
}

status=0

# ---- the regressions: each input once, on a store of its own ----
for t in $targets; do
    dir="$here/regressions/$t"
    files=$(find "$dir" -type f ! -name '*.md' 2>/dev/null | sort)
    [ -n "$files" ] || continue
    n=$(echo "$files" | wc -l)
    # shellcheck disable=SC2086
    if FUZZ_RESET_EVERY=1 "$bin/fuzz_$t" $files >"$work/replay-$t.log" 2>&1
    then
        echo "fuzz_$t: $n regression input(s) replayed, all pass"
    else
        echo "fuzz_$t: a regression input fails again:" >&2
        tail -40 "$work/replay-$t.log" >&2
        status=1
    fi
done
[ "$seconds" -gt 0 ] || exit $status

# ---- fuzzing ----
printf '%-15s %8s %12s %8s %8s %8s %8s\n' target seconds executions exec/s \
    edges corpus crashes > "$work/summary"
for t in $targets; do
    corpus="$work/corpus-$t"
    mkdir -p "$corpus" "$work/artifacts"
    cp "$here/corpus/$t/"* "$corpus/"
    seeds=$(ls "$corpus" | wc -l)
    log="$work/fuzz-$t.log"
    echo "fuzz_$t: ${seconds} s on $seeds seeds ($(date -u +%H:%M:%S))"
    "$bin/fuzz_$t" "$corpus" -max_total_time="$seconds" \
        -max_len="$(max_len "$t")" -dict="$here/exitflow.dict" \
        -timeout=20 -rss_limit_mb=2560 -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/$t-" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    edges=$(sed -n 's/.* cov: \([0-9]*\) .*/\1/p' "$log" | tail -1)
    sed -n 's/^fuzz_commands: \([0-9]* scripts\)/  \1/p' "$log" \
        >> "$work/details"
    crashes=0
    for a in "$work/artifacts/$t-"*; do
        [ -e "$a" ] || continue
        crashes=$((crashes + 1))
        mkdir -p "$here/regressions/$t"
        cp "$a" "$here/regressions/$t/"
        echo "fuzz_$t: found $(basename "$a"), kept in tests/fuzz/regressions/$t/" >&2
    done
    if [ $rc -ne 0 ]; then
        [ $crashes -gt 0 ] || crashes="rc=$rc"
        grep -E -A30 'ERROR|property failed|runtime error|deadly' "$log" \
            | head -60 >&2
        status=1
    fi
    printf '%-15s %8s %12s %8s %8s %8s %8s\n' "fuzz_$t" "$seconds" \
        "${runs:-?}" "${rate:-?}" "${edges:-?}" "$(ls "$corpus" | wc -l)" \
        "$crashes" >> "$work/summary"
    if [ -n "${FUZZ_KEEP:-}" ]; then
        mkdir -p "$FUZZ_KEEP/$t"
        cp "$corpus/"* "$FUZZ_KEEP/$t/"
    fi
done
cat "$work/summary"
[ -s "$work/details" ] && cat "$work/details"
exit $status
