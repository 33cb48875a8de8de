#!/bin/sh
# The stand-in's make goals (see configure): records "<goal> MAKEINFO=<value>" into
# $PREFIX/share/ksimg-test/<package>.make and installs fake tools that answer --version and
# -dumpmachine, and an empty libgcc.a, where the real packages would.
set -eu
src=$(cd "$(dirname "$0")" && pwd)
pkg=$(basename "$src")
goal=$1
echo "$goal MAKEINFO=${2:-}" >>"$PREFIX/share/ksimg-test/$pkg.make"
tool() {
  mkdir -p "$PREFIX/bin"
  printf '#!/bin/sh\ncase "${1:-}" in -dumpmachine) echo %s ;; *) echo "fake %s" ;; esac\n' \
    "$TRIPLE" "$1" >"$PREFIX/bin/$TRIPLE-$1"
  chmod 755 "$PREFIX/bin/$TRIPLE-$1"
}
case "$pkg:$goal" in
  binutils:install) for t in as ld ar objcopy; do tool "$t"; done ;;
  gcc:install-gcc) tool gcc; tool cpp ;;
  gcc:install-target-libgcc)
    mkdir -p "$PREFIX/lib/gcc/$TRIPLE/$GCC_VERSION"
    : >"$PREFIX/lib/gcc/$TRIPLE/$GCC_VERSION/libgcc.a" ;;
esac
