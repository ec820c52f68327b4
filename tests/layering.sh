#!/usr/bin/env bash
# shellcheck disable=SC2016  # the self-test writes make's $(...) in single quotes
# tests/layering.sh — the folders are the architecture; this check fails when
# a file or a link line crosses a wall between them.
#
#   tests/layering.sh [ROOT]      check the tree at ROOT (default: this repo)
#   tests/layering.sh --self-test check fabricated trees: a clean one must
#                                 pass, and each one-violation copy must fail
#                                 naming its file:line (or program)
#
# Rules (issue 7):
#   includes  protocol/ includes nothing from daemon/, workers/, clients/;
#             clients/ and workers/ include nothing from daemon/;
#             clients/ includes nothing from workers/; workers/ includes
#             nothing from clients/ but the public header clients/exitflow.h;
#             daemon/ includes nothing from clients/ or workers/.
#             Paths are resolved as the compiler does: beside the including
#             file first ("../daemon/x.h", "cli.h"), then from the root (-I.).
#   links     each program's link line names only its own folder's sources,
#             objects and archives, the protocol library
#             (libexitflow-protocol.a), and, for the CLI, the web gateway and
#             the workers, the client library libexitflow.a. The link lines come from
#             `make -B -n` with BIN/OBJ in a scratch directory; an archive
#             counts as the folder all its members come from.
#
# Exit status: 0 when every rule holds, 1 on any violation (each printed as
# `layering: FILE:LINE: ...` or `layering: PROGRAM: ...`), 2 on usage errors.
set -u

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# program -> the folder it is built from
declare -A PROGRAM_FOLDER=(
    [exitflowd]=daemon
    [exitflow]=clients
    [exitflow-web]=clients
    [exitflow-dq]=workers
    [exitflow-notify]=workers
    [libexitflow.so]=clients
)
# program -> the libraries of other folders it may link besides the
# protocol library
declare -A PROGRAM_LIBS=(
    [exitflow]=libexitflow
    [exitflow-web]=libexitflow
    [exitflow-dq]=libexitflow
    [exitflow-notify]=libexitflow
)
# #include "path" or #include <path>: the quote or bracket, then the path
INCLUDE_RE='^[[:space:]]*#[[:space:]]*include[[:space:]]*(["<])([^">]+)[">]'

violations=0
includes_read=0
scratch_dirs=()
trap 'rm -rf "${scratch_dirs[@]}"' EXIT

flag() {
    echo "layering: $*"
    violations=$((violations + 1))
}

# Normalizes a relative path: drops "." and empty parts, folds "x/..".
normpath() {
    local -a parts=()
    local part
    local IFS=/
    for part in $1; do
        case "$part" in
            ""|.) ;;
            ..) if [ ${#parts[@]} -gt 0 ] && [ "${parts[-1]}" != .. ]; then
                    unset 'parts[-1]'
                else
                    parts+=(..)
                fi ;;
            *) parts+=("$part") ;;
        esac
    done
    echo "${parts[*]}"
}

# The folders a file of $1 may not include from, and the one header of a
# forbidden folder it may include anyway.
forbidden_for() {
    case "$1" in
        protocol) echo "daemon workers clients" ;;
        clients)  echo "daemon workers" ;;
        workers)  echo "daemon clients" ;;
        daemon)   echo "workers clients" ;;
    esac
}
allowed_header() {
    [ "$1" = workers ] && [ "$2" = clients/exitflow.h ]
}

check_includes() {
    local root=$1 file dir line text inc folder target tfolder n=0
    while IFS= read -r file; do
        folder=${file%%/*}
        dir=${file%/*}
        while IFS=: read -r line text; do
            [[ $text =~ $INCLUDE_RE ]] || continue
            inc=${BASH_REMATCH[2]}
            n=$((n + 1))
            # a quoted path is looked for beside the file first; a "../"
            # path that is found nowhere is read that way too
            if [ "${BASH_REMATCH[1]}" = '"' ] && { [ -e "$root/$dir/$inc" ] ||
                    { [[ $inc == ../* ]] && [ ! -e "$root/$inc" ]; }; }; then
                target=$(normpath "$dir/$inc")
            else
                target=$(normpath "$inc")
            fi
            tfolder=${target%%/*}
            [[ " $(forbidden_for "$folder") " == *" $tfolder "* ]] || continue
            allowed_header "$folder" "$target" && continue
            flag "$file:$line: includes $target ($folder/ includes nothing from $tfolder/)"
        done < <(grep -n '^[[:space:]]*#[[:space:]]*include' "$root/$file")
    done < <(cd "$root" && find protocol daemon clients workers \
                 -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | sort)
    includes_read=$n
}

# The folder a link input belongs to: a source or object by its path, an
# archive by its name (the two shared libraries) or else by its members.
# $1 root, $2 scratch, $3 dry-run output, $4 the input.
input_folder() {
    local root=$1 scratch=$2 dry=$3 p=$4 rel members m f seen=""
    case "$p" in
        /*) case "$p" in
                "$scratch"/*) rel=${p#"$scratch"/} ;;
                "$root"/*)    rel=${p#"$root"/} ;;
                *) return 1 ;;               # a system file
            esac ;;
        *) rel=$(normpath "$p") ;;
    esac
    case "$rel" in
        */libexitflow-protocol.a|libexitflow-protocol.a) echo protocol-lib; return ;;
        bin/libexitflow.a) echo libexitflow; return ;;
    esac
    case "$rel" in
        build/pic/*) rel=${rel#build/pic/} ;;
        build/*)     rel=${rel#build/} ;;
    esac
    if [[ $rel == *.a ]]; then
        # members: the words after the archive on its `ar` line
        members=$(awk -v a="$p" '$1 ~ /(^|\/)ar$/ { for (i = 2; i < NF; i++)
                      if ($i == a) { for (j = i + 1; j <= NF; j++) print $j; exit } }' "$dry")
        if [ -z "$members" ]; then
            echo "?$rel: no ar line shows its members"
            return
        fi
        for m in $members; do
            f=$(input_folder "$root" "$scratch" "$dry" "$m") || continue
            [[ " $seen " == *" $f "* ]] || seen="$seen $f"
        done
        seen=${seen# }
        if [[ $seen == *" "* ]]; then
            echo "?$rel: members from ${seen// /, }"
        else
            echo "$seen"
        fi
        return
    fi
    echo "${rel%%/*}"
}

check_links() {
    local root=$1 scratch dry prog own folder token cmd found tokens
    scratch=$(mktemp -d "${TMPDIR:-/tmp}/layering.XXXXXX") || return 1
    scratch_dirs+=("$scratch")
    dry="$scratch/dry-run"
    local -a targets=()
    for prog in "${!PROGRAM_FOLDER[@]}"; do targets+=("$scratch/bin/$prog"); done
    # every command make would run, continuation lines joined
    if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$root" --no-print-directory -B -n BIN="$scratch/bin" OBJ="$scratch/build" \
            "${targets[@]}" >"$scratch/make.out" 2>"$scratch/make.err"; then
        flag "make -n could not list the link lines: $(head -n 3 "$scratch/make.err" | tr '\n' ' ')"
        return
    fi
    sed -e ':a' -e '/\\$/N; s/\\\n/ /; ta' "$scratch/make.out" >"$dry"
    for prog in $(printf '%s\n' "${!PROGRAM_FOLDER[@]}" | sort); do
        own=${PROGRAM_FOLDER[$prog]}
        found=0
        # shellcheck disable=SC2094  # input_folder reads $dry too, never writes
        while IFS= read -r cmd; do
            read -ra tokens <<<"$cmd"
            local i out=""
            for ((i = 0; i + 1 < ${#tokens[@]}; i++)); do
                [ "${tokens[i]}" = -o ] && out=${tokens[i + 1]}
            done
            [[ $out =~ ^"$scratch/bin/$prog"(\.[0-9]+)*$ ]] || continue
            found=1
            for token in "${tokens[@]}"; do
                case "$token" in
                    -lexitflow-protocol) folder=protocol-lib ;;
                    -lexitflow) folder=libexitflow ;;
                    -*) continue ;;
                    *.c|*.o|*.a) folder=$(input_folder "$root" "$scratch" "$dry" "$token") || continue ;;
                    *) continue ;;
                esac
                case "$folder" in
                    "$own"|protocol-lib) ;;
                    libexitflow) [ "${PROGRAM_LIBS[$prog]:-}" = libexitflow ] \
                        || flag "$prog: links ${token#"$scratch"/} (libexitflow is not for $prog)" ;;
                    \?*) flag "$prog: links an archive of no one folder (${folder#\?})" ;;
                    protocol) flag "$prog: links ${token#"$scratch"/}, an object of protocol/ (link the protocol library instead)" ;;
                    *)  flag "$prog: links ${token#"$scratch"/} from $folder/ ($prog is $own/'s: it links $own/ code and the shared libraries only)" ;;
                esac
            done
        done <"$dry"
        [ "$found" = 1 ] || flag "$prog: no link line found in \`make -n\` (target renamed?)"
    done
}

check_tree() {
    local root
    root=$(cd "$1" && pwd) || return 2
    violations=0
    check_includes "$root"
    check_links "$root"
    if [ "$violations" -gt 0 ]; then
        echo "layering: FAILED: $violations violation(s) in $root"
        return 1
    fi
    echo "layering: ok ($includes_read includes, ${#PROGRAM_FOLDER[@]} link lines in $root)"
}

# ---- self-test: fabricated trees ----------------------------------------

# A small tree that keeps every rule: one file per folder, and a Makefile
# whose link lines look like the real ones.
fabricate() {
    local t=$1
    mkdir -p "$t"/{protocol,daemon,clients/cli,clients/web,workers/dq}
    printf '#include "names.h"\n#include <msgpack.h>\n' >"$t/protocol/codec.c"
    printf '/* names */\n' >"$t/protocol/names.h"
    printf '#include "protocol/codec.h"\n#include "store.h"\n' >"$t/daemon/store.c"
    printf '/* store */\n' >"$t/daemon/store.h"
    printf '#include "../protocol/names.h"\n#include "exitflow.h"\n' >"$t/clients/client.c"
    printf '/* api */\n' >"$t/clients/exitflow.h"
    printf '#include "cli.h"\n#include "clients/exitflow.h"\n' >"$t/clients/cli/main.c"
    printf '/* cli */\n' >"$t/clients/cli/cli.h"
    printf '#include "clients/exitflow.h"\n#include "protocol/names.h"\n' >"$t/clients/web/web.c"
    printf '#include "clients/exitflow.h"\n#include "../../protocol/names.h"\n' >"$t/workers/dq/rules.c"
    printf '/* rules */\n' >"$t/workers/dq/rules.h"
    cat >"$t/Makefile" <<'EOF'
BIN ?= bin
OBJ ?= build
PROTOCOL_LIB := $(OBJ)/libexitflow-protocol.a
$(OBJ)/%.o: %.c ; cc -c $< -o $@
$(OBJ)/pic/%.o: %.c ; cc -fPIC -c $< -o $@
$(PROTOCOL_LIB): $(OBJ)/protocol/codec.o ; ar rcs $@ $^
$(OBJ)/pic/libexitflow-protocol.a: $(OBJ)/pic/protocol/codec.o ; ar rcs $@ $^
$(OBJ)/workers/libdq.a: $(OBJ)/workers/dq/rules.o ; ar rcs $@ $^
$(BIN)/libexitflow.a: $(OBJ)/clients/client.o $(OBJ)/protocol/codec.o ; ar rcs $@ $^
$(BIN)/exitflowd: $(OBJ)/daemon/store.o $(PROTOCOL_LIB) ; cc $^ -o $@ -llmdb
$(BIN)/exitflow: $(OBJ)/clients/cli/main.o $(BIN)/libexitflow.a ; cc $^ -o $@ -lzmq
$(BIN)/exitflow-web: $(OBJ)/clients/web/web.o $(BIN)/libexitflow.a $(PROTOCOL_LIB) ; cc $^ -o $@ -lmicrohttpd
$(BIN)/exitflow-dq: $(OBJ)/workers/libdq.a $(BIN)/libexitflow.a $(PROTOCOL_LIB) ; cc $^ -o $@
$(BIN)/exitflow-notify: workers/dq/rules.c $(BIN)/libexitflow.a ; cc $^ -o $@ -lcurl
$(BIN)/libexitflow.so.1: $(OBJ)/pic/clients/client.o $(OBJ)/pic/libexitflow-protocol.a
	cc -shared $^ \
	  -o $@
$(BIN)/libexitflow.so: $(BIN)/libexitflow.so.1 ; ln -sf libexitflow.so.1 $@
EOF
}

# The broken trees: each function breaks one rule in the tree it runs in;
# SELF_TESTS pairs it with what the report must name. ($(...) in single
# quotes are make's, written into the fabricated Makefile.)
break_protocol_relative() { printf '#include "../daemon/store.h"\n' >>protocol/codec.c; }
break_workers_daemon()    { printf '#include "daemon/store.h"\n' >>workers/dq/rules.c; }
break_clients_workers()   { printf '#include "../../workers/dq/rules.h"\n' >>clients/cli/main.c; }
break_workers_private()   { printf '#include "clients/cli/cli.h"\n' >>workers/dq/rules.c; }
break_daemon_clients()    { printf '#include "clients/exitflow.h"\n' >>daemon/store.c; }
add_prerequisite()        { sed -i "s|^\$(BIN)/$1: |&$2 |" Makefile; }
break_cli_link()          { add_prerequisite exitflow '$(OBJ)/workers/dq/rules.o'; }
break_web_link()          { add_prerequisite exitflow-web '$(OBJ)/daemon/store.o'; }
break_worker_link()       { add_prerequisite exitflow-notify daemon/store.c; }
break_daemon_link()       { add_prerequisite exitflowd '$(BIN)/libexitflow.a'; }
break_so_link()           { add_prerequisite libexitflow.so.1 '$(OBJ)/workers/libdq.a'; }
break_no_link()           { sed -i 's|^\$(BIN)/exitflow-dq: .*|$(BIN)/exitflow-dq: ; touch $@|' Makefile; }
SELF_TESTS=(
    "break_protocol_relative protocol/codec.c:3:"
    "break_workers_daemon workers/dq/rules.c:3:"
    "break_clients_workers clients/cli/main.c:3:"
    "break_workers_private workers/dq/rules.c:3:"
    "break_daemon_clients daemon/store.c:3:"
    "break_cli_link exitflow: links"
    "break_web_link exitflow-web: links"
    "break_worker_link exitflow-notify: links"
    "break_daemon_link exitflowd: links"
    "break_so_link libexitflow.so: links"
    "break_no_link exitflow-dq: no link line"
)

self_test() {
    local base t entry name expect out failed=0
    base=$(mktemp -d "${TMPDIR:-/tmp}/layering-self.XXXXXX") || return 1
    scratch_dirs+=("$base")
    fabricate "$base/clean"
    if ! out=$("$here/layering.sh" "$base/clean" 2>&1); then
        echo "layering self-test: the clean tree fails:"
        echo "$out"
        failed=1
    fi
    for entry in "${SELF_TESTS[@]}"; do
        name=${entry%% *}
        expect=${entry#* }
        t="$base/bad"
        rm -rf "$t"
        fabricate "$t"
        (cd "$t" && "$name")
        if out=$("$here/layering.sh" "$t" 2>&1); then
            echo "layering self-test: NOT caught: $name"
            failed=1
        elif ! grep -qF "layering: $expect" <<<"$out"; then
            echo "layering self-test: $name: failed without naming $expect:"
            echo "$out"
            failed=1
        fi
    done
    if [ "$failed" = 0 ]; then
        echo "layering self-test: ok (a clean tree passes, ${#SELF_TESTS[@]} broken trees fail)"
    fi
    return "$failed"
}

case "${1:-}" in
    --self-test) self_test ;;
    -h|--help) sed -n '3,/^set -u/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' ;;
    -*) echo "usage: tests/layering.sh [ROOT] | --self-test" >&2; exit 2 ;;
    *) check_tree "${1:-$here/..}" ;;
esac
