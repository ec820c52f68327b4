#!/bin/sh
# check_symbols — libexitflow's public surface is its prefix.
#
# Fails when a static archive or a shared library given as an argument
# defines a global symbol whose name does not start with `exitflow_`
# (the codec, the HUD tables and the library's own helpers are compiled
# in privately and must not clash with a program that links them too),
# or when it lacks a function that exitflow.h declares EXITFLOW_EXPORT
# (a call added to the header but not built, or built hidden; an empty or
# wrong file fails this too).
#
#   tests/clients/check_symbols.sh bin/libexitflow.a bin/libexitflow.so
set -u

[ $# -gt 0 ] || { echo "usage: $0 LIBRARY..." >&2; exit 2; }

# Every function the header exports: its EXITFLOW_EXPORT declarations,
# which may span lines, up to the parenthesis after the name.
header="$(dirname "$0")/../../clients/exitflow.h"
declared=$(tr '\n' ' ' < "$header" | grep -o 'EXITFLOW_EXPORT[^;(]*(' \
           | grep -o 'exitflow_[a-z0-9_]* *($' | tr -d ' (')
[ -n "$declared" ] || { echo "check_symbols: no EXITFLOW_EXPORT function in $header" >&2; exit 2; }

status=0
for lib in "$@"; do
    case $lib in
    *.a) list=$(nm -g --defined-only "$lib") ;;
    *) list=$(nm -D --defined-only "$lib") ;;
    esac || { echo "check_symbols: nm cannot read $lib" >&2; status=1; continue; }
    # Lines are "ADDRESS TYPE NAME"; an archive adds "member.o:" headers
    # and blank lines, which have fewer fields.
    names=$(printf '%s\n' "$list" | awk 'NF == 3 { print $3 }')
    stray=$(printf '%s\n' "$names" | grep -v '^exitflow_' | grep -v '^$')
    if [ -n "$stray" ]; then
        echo "check_symbols: $lib exports symbols outside exitflow_*:" >&2
        printf '    %s\n' $stray >&2
        status=1
    fi
    for fn in $declared; do
        if ! printf '%s\n' "$names" | grep -qx "$fn"; then
            echo "check_symbols: $lib does not define $fn (exitflow.h exports it)" >&2
            status=1
        fi
    done
    [ -n "$stray" ] || echo "check_symbols: $lib: $(printf '%s\n' "$names" | grep -c .) symbols, all exitflow_*"
done
exit $status
