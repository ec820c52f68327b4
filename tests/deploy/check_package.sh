#!/usr/bin/env bash
# tests/deploy/check_package.sh — the Debian package, checked without
# installing it on this machine (make test-deploy).
#
#   tests/deploy/check_package.sh exitflow_VERSION_ARCH.deb VERSION
#
# 1. dpkg-deb --info/--contents: its version is VERSION and every file a
#    deployment needs is in it (programs, library, header, pkg-config,
#    units and their sandbox drop-ins, config, man pages, setup script,
#    copyright, exitflow-web's pages: the checkout's clients/web/static,
#    file for file), with the modes that matter;
# 2. lintian: no error (warnings and overrides are printed);
# 3. unpacked with dpkg -x into a throwaway root: systemd-analyze verify on
#    every unit with its drop-in (ExecStart pointed into that root), and
#    every thing a unit names there: the ExecStart program (and that it
#    runs: --help), the --config file, the man page of Documentation=, the
#    user and group (made by the package's exitflow-setup), the state
#    directory the config's paths live in, every unit but the daemon's
#    ordered after it and requiring it, the keys the config names (made
#    by exitflow-setup --keys), the users file (made by exitflow-setup) and
#    the pages' directory (in the package, with its index.html).
# Exit status: 0 when all hold, 1 naming each failure.
set -u
deb=$1 version=$2
pages=$(cd "$(dirname "$0")/../../clients/web/static" && pwd)
failures=0
fail() { echo "check_package: FAIL: $*"; failures=$((failures + 1)); }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

# ---- 1. the archive ----
[ -f "$deb" ] || { echo "check_package: no $deb (make deb)"; exit 1; }
got=$(dpkg-deb --field "$deb" Version)
[ "$got" = "$version" ] || fail "Version is '$got', VERSION says '$version'"
depends=$(dpkg-deb --field "$deb" Depends)
for lib in libzmq5 libczmq4 liblmdb0 libmsgpackc2 libsystemd0 libmicrohttpd12 \
           libjansson4 libcurl4 libcrypt1 libc6 adduser; do
    case ",$depends," in *"$lib"*) ;; *) fail "Depends lacks $lib: $depends" ;; esac
done
contents=$(dpkg-deb --contents "$deb")
expect() {   # MODE PATH: PATH is in the package with the mode MODE
    line=$(awk -v p="./$2" '$6 == p' <<<"$contents")
    if [ -z "$line" ]; then fail "missing from the package: /$2"
    elif [ "${line%% *}" != "$1" ]; then fail "/$2 is ${line%% *}, not $1"; fi
}
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
for p in exitflowd exitflow-dq exitflow-notify exitflow exitflow-web; do
    expect -rwxr-xr-x "usr/bin/$p"
done
expect -rwxr-xr-x usr/lib/exitflow/exitflow-setup
expect -rw-r--r-- "usr/lib/$multiarch/libexitflow.so.3"
expect -rw-r--r-- "usr/lib/$multiarch/libexitflow.a"
expect -rw-r--r-- "usr/lib/$multiarch/pkgconfig/libexitflow.pc"
expect -rw-r--r-- usr/include/exitflow.h
expect -rw-r--r-- etc/exitflow/exitflow.cfg
UNITS="exitflowd exitflow-dq exitflow-notify exitflow-web"
for u in $UNITS; do
    expect -rw-r--r-- "lib/systemd/system/$u.service"
    expect -rw-r--r-- "lib/systemd/system/$u.service.d/sandbox.conf"
done
for m in man1/exitflow.1 man8/exitflowd.8 man8/exitflow-dq.8 man8/exitflow-notify.8 \
         man8/exitflow-web.8; do
    expect -rw-r--r-- "usr/share/man/$m.gz"
done
# the pages (section 3 compares them with the checkout's, byte for byte)
for f in $(cd "$pages" && find . -type f ! -name '.*' | sed 's|^\./||'); do
    expect -rw-r--r-- "usr/share/exitflow/web/$f"
done
for d in copyright changelog.gz OPERATIONS.md.gz; do
    expect -rw-r--r-- "usr/share/doc/exitflow/$d"
done
if grep -q '\./var\|var/keys\|tests/' <<<"$(awk '{print $6}' <<<"$contents")"; then
    fail "the package holds a checkout path"
fi

# ---- 2. lintian ----
lintian_out=$(lintian --pedantic --display-info "$deb" 2>&1)
while IFS= read -r line; do echo "lintian: $line"; done <<<"$lintian_out"
grep -q '^E: ' <<<"$lintian_out" && fail "lintian reports errors"

# ---- 3. unpacked ----
dpkg-deb -x "$deb" "$root" || fail "dpkg-deb -x"
dpkg-deb -e "$deb" "$root/DEBIAN" || fail "dpkg-deb -e"
units="$root/lib/systemd/system"
if ! out=$(diff -r --exclude='.*' "$pages" "$root/usr/share/exitflow/web" 2>&1); then
    fail "/usr/share/exitflow/web is not clients/web/static: $out"
fi
setup="$root/usr/lib/exitflow/exitflow-setup"
# its commands with their continued lines joined
setup_text=$(sed ':a;/\\$/{N;s/\\\n//;ba}' "$setup")
libdir="$root/usr/lib/$multiarch"

# systemd-analyze verify prints what it ignores (an unknown key, a bad
# value) and still exits 0: both count.
verify="$root/verify"
mkdir -p "$verify"
cp -r "$units/." "$verify/"
sed -i "s|/usr/bin/|$root/usr/bin/|g" "$verify"/*.service
if ! out=$(systemd-analyze verify --man=no "$verify"/*.service 2>&1) || [ -n "$out" ]; then
    fail "systemd-analyze verify: $out"
fi

# one field of a unit, as systemd reads it with its drop-in
field() { grep -h "^$2=" "$units/$1" "$units/$1.d/"*.conf | tail -n 1 | cut -d= -f2-; }
for unit in $(printf '%s.service ' $UNITS); do
    read -r program flag config <<<"$(field "$unit" ExecStart)"
    [ -x "$root$program" ] || fail "$unit: ExecStart $program is not in the package"
    LD_LIBRARY_PATH=$libdir "$root$program" --help >/dev/null 2>&1 \
        || fail "$unit: $program --help fails"
    if [ "$flag" != --config ] || [ ! -f "$root$config" ]; then
        fail "$unit: --config $config is not in the package"
    fi
    doc=$(field "$unit" Documentation)
    page=${doc#man:}; name=${page%(*}; section=${page#*(}; section=${section%)}
    [ -f "$root/usr/share/man/man$section/$name.$section.gz" ] \
        || fail "$unit: Documentation=$doc has no page in the package"
    user=$(field "$unit" User) group=$(field "$unit" Group)
    grep -Eq "adduser --system.* $user\$" <<<"$setup_text" \
        || fail "$unit: User=$user is not made by exitflow-setup"
    grep -Eq "addgroup --system.* $group\$" <<<"$setup_text" \
        || fail "$unit: Group=$group is not made by exitflow-setup"
    state=$(field "$unit" StateDirectory)
    [ "$(field "$unit" WorkingDirectory)" = "/var/lib/$state" ] \
        || fail "$unit: WorkingDirectory is not its StateDirectory"
    for script in postinst prerm postrm; do
        grep -q "$unit" "$root/DEBIAN/$script" \
            || fail "$unit is not handled by the $script script"
    done
    if [ "$unit" != exitflowd.service ]; then
        for dep in Requires After; do
            grep -qw exitflowd.service <<<"$(field "$unit" "$dep")" \
                || fail "$unit: $dep= does not name exitflowd.service"
        done
    fi
done
rw=$(field exitflowd.service ReadWritePaths)
grep -q "^BACKUPS=${rw#-}\$" "$setup" || fail "ReadWritePaths=$rw is not made by exitflow-setup"

# The installed config: its files live where the units let the programs
# write (the state directory), its keys are the ones exitflow-setup makes
# on a first install, its users file is the one exitflow-setup makes, its
# pages are in the package. Comments are not settings.
cfg="$root/etc/exitflow/exitflow.cfg"
while read -r path; do
    case $path in
        /var/lib/exitflow/*) ;;
        /etc/exitflow/certs) ;;
        /etc/exitflow/keys/*)
            key=${path#/etc/exitflow/keys/}; key=${key%_secret}
            grep -q "^    certificate $key " "$setup" \
                || fail "the config names $path, which exitflow-setup does not make" ;;
        /etc/exitflow/web-users)
            grep -q "^WEB_USERS=$path\$" "$setup" \
                || fail "the config names $path, which exitflow-setup does not make" ;;
        /usr/share/exitflow/*)
            [ -f "$root$path/index.html" ] \
                || fail "the config names $path, which has no index.html in the package" ;;
        *) fail "the config names $path, outside /var/lib/exitflow, /etc/exitflow and the package" ;;
    esac
done < <(grep -v '^ *#' "$cfg" | grep -o '= *\(file:\)\?/[^ ]*' | sed 's/^= *\(file:\)\?//')

if [ "$failures" -eq 0 ]; then
    echo "check_package: $deb: contents, lintian (no errors), units verified, every path they name present"
    exit 0
fi
exit 1
