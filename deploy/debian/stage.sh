#!/bin/sh
# stage.sh — turns a tree that `make install DESTDIR=STAGE PREFIX=/usr`
# put down into a Debian binary package tree, for `dpkg-deb --build`: what
# debhelper would do, for one package.
#
#   deploy/debian/stage.sh STAGE VERSION ARCH MULTIARCH SONAME DATE
#
# STAGE must be PKGDIR/debian/exitflow (dpkg-shlibdeps reads
# PKGDIR/debian/control and expects the files in debian/<package>).
# Strips the programs and the library (no debug symbols shipped), gzips
# the man pages and the docs, writes the changelog (from VERSION: the
# version lives in one place), the copyright, the maintainer scripts, the
# shlibs file and ldconfig trigger of libexitflow.so.3, the conffile list,
# DEBIAN/control with Depends from dpkg-shlibdeps, and md5sums.
set -eu
stage=$1 version=$2 arch=$3 multiarch=$4 soname=$5 date=$6
# who answers for the package: deploy.mk's DEB_MAINTAINER
maintainer=${DEB_MAINTAINER:?DEB_MAINTAINER names the maintainer}
here=$(cd "$(dirname "$0")" && pwd)
pkgdir=$(cd "$stage/../.." && pwd)
doc=$stage/usr/share/doc/exitflow
lib=$stage/usr/lib/$multiarch

# Programs (every file in usr/bin: the daemon, the workers, the CLI,
# exitflow-web) and the library without debug information (the static
# archive keeps its symbols, as Debian's -dev packages do).
strip --remove-section=.comment --remove-section=.note "$stage"/usr/bin/*
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$lib/$soname"
chmod 644 "$lib/$soname"
strip --strip-debug --remove-section=.comment --enable-deterministic-archives \
    "$lib/libexitflow.a"

gzip -9nf "$stage"/usr/share/man/man*/*.[18] "$doc/OPERATIONS.md"
install -m 644 "$here/copyright" "$doc/copyright"
install -D -m 644 "$here/lintian-overrides" "$stage/usr/share/lintian/overrides/exitflow"
{
    echo "exitflow ($version) unstable; urgency=medium"
    echo
    echo "  * Release $version (the VERSION file of the source tree)."
    echo
    echo " -- $maintainer  $date"
} | gzip -9n >"$doc/changelog.gz"
chmod 644 "$doc/changelog.gz"

mkdir -p "$stage/DEBIAN"
for script in postinst prerm postrm; do
    install -m 755 "$here/$script" "$stage/DEBIAN/$script"
done
major=${soname#libexitflow.so.}
echo "libexitflow $major exitflow (>= $version)" >"$stage/DEBIAN/shlibs"
echo "activate-noawait ldconfig" >"$stage/DEBIAN/triggers"
echo "/etc/exitflow/exitflow.cfg" >"$stage/DEBIAN/conffiles"
chmod 644 "$stage/DEBIAN/shlibs" "$stage/DEBIAN/triggers" "$stage/DEBIAN/conffiles"

# Depends: the libraries the ELF files really load, as dpkg-shlibdeps
# reads them (the package's own library is not a dependency of itself).
printf 'Source: exitflow\n\nPackage: exitflow\nArchitecture: any\n' \
    >"$pkgdir/debian/control"
elves=
for program in "$stage"/usr/bin/*; do
    elves="$elves -edebian/exitflow/usr/bin/${program##*/}"
done
# shellcheck disable=SC2086  # one -e word per program
shlibs=$(cd "$pkgdir" && dpkg-shlibdeps -O -xexitflow $elves \
    "-edebian/exitflow/usr/lib/$multiarch/$soname" | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "stage.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@MAINTAINER@|$maintainer|" -e "s|@ARCH@|$arch|" -e "s|@SIZE@|$size|" \
    -e "s|@SHLIBS@|$shlibs|" "$here/control.in" >"$stage/DEBIAN/control"

(cd "$stage" && find . -type f ! -path './DEBIAN/*' | LC_ALL=C sort | sed 's|^\./||' \
    | xargs md5sum >DEBIAN/md5sums)
chmod 644 "$stage/DEBIAN/control" "$stage/DEBIAN/md5sums"
