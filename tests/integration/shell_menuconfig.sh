#!/usr/bin/env bash
# `ksimg shell --cell k4/mipsel -- make menuconfig` on a terminal (a python3 pty stands in for
# the user's): in a 5.10 kernel tree, the cell image's host compiler builds mconf against the
# base layer's ncurses (libncurses-dev, found with pkg-config), the "Linux/mips ... Kernel
# Configuration" screen appears, Esc Esc then "y" leaves it and saves a .config for MIPS.
# Skips (77) when the cell image has no ncurses (a lock pinned before the base layer had it;
# KSIMG_LOCK names another lock, e.g. a re-pinned copy).
set -euo pipefail
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
need_tools python3 tar xz mmdebstrap bwrap
need_debian bullseye
shared_layer_cache
run_dir shell_menuconfig
export KSIMG_LAYOUT="$T/oci" KSIMG_STORE="$T/store"

# The kernel tarball: KSIMG_MENUCONFIG_TARBALL, else a local kernel.org-layout mirror's copy.
tarball=${KSIMG_MENUCONFIG_TARBALL:-}
for c in /tmp/kernels/mirror/v5.x/linux-5.10.223.tar.xz "$KSIMG_TESTS_TMP/kbuild/mirror/v5.x/linux-5.10.223.tar.xz"; do
  [ -n "$tarball" ] || { [ -s "$c" ] && tarball=$c; }
done
[ -n "$tarball" ] || skip "no linux-5.10.223.tar.xz (set KSIMG_MENUCONFIG_TARBALL, or run kbuild_mipsel first)"

lock=${KSIMG_LOCK:-$KSIMG_SRC/ksimg.lock.json}
if ! "$KSIMG" -q build --cell k4/mipsel --lock "$lock" --layout "$T/oci" >build.out 2>build.err; then
  grep -q "base.json changed since it was locked" build.err &&
    skip "$lock predates layers/base.json (which adds libncurses-dev): re-pin (ksimg lock) or set KSIMG_LOCK"
  tail -5 build.err; fail "ksimg build --cell k4/mipsel"
fi
mkdir -p "$T/work"
if ! (cd "$T/work" && "$KSIMG" -q shell --cell k4/mipsel --runtime builtin -- sh -c \
  'test -e /usr/include/ncurses.h && pkg-config --exists ncursesw') >nc.out 2>&1; then
  skip "the k4-mipsel image has no ncurses (libncurses-dev): its lock predates it in layers/base.json; re-pin (ksimg lock) and rerun"
fi

W="$KSIMG_TESTS_TMP/shell_menuconfig"  # the extracted tree is kept between runs
if [ ! -f "$W/tree/Makefile" ]; then  # its top dir varies (Debian's linux-source-5.10): dropped
  rm -rf "$W" && mkdir -p "$W/tree"
  tar -xJf "$tarball" -C "$W/tree" --strip-components=1 || fail "cannot extract $tarball"
fi
rm -f "$W/tree/.config"

cat >"$T/tty_session.py" <<'PY'
import os, pty, re, select, sys, time
ksimg, tree = sys.argv[1], sys.argv[2]
os.environ["TERM"] = "xterm"
pid, fd = pty.fork()
if pid == 0:
    os.chdir(tree)
    os.execvp(ksimg, [ksimg, "-q", "shell", "--cell", "k4/mipsel", "--runtime", "builtin", "--",
                      "make", "menuconfig"])
import fcntl, struct, termios
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
buf, stage, deadline = b"", 0, time.time() + 600
def text():
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][0-9A-B]|[\x0e\x0f]", " ", buf.decode("latin-1"))
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 1)
    if r:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        buf += data
    t = re.sub(r"\s+", " ", text())
    if stage == 0 and "Linux/mips" in t and "Kernel Configuration" in t:
        print("SCREEN-OK", flush=True); stage = 1; time.sleep(1); os.write(fd, b"\x1b\x1b")
    elif stage == 1 and "save your new configuration" in t:
        stage = 2; time.sleep(0.5); os.write(fd, b"y")
_, status = os.waitpid(pid, 0)
open("pty.log", "wb").write(buf)
print("EXIT", os.waitstatus_to_exitcode(status), flush=True)
PY
(cd "$T" && timeout 700 python3 tty_session.py "$KSIMG" "$W/tree") >pty.out 2>&1 || true
grep -q SCREEN-OK pty.out || { tail -c 2000 "$T/pty.log" | tr -d '\033'; fail "no menuconfig screen: $(cat pty.out)"; }
ok "make menuconfig in ksimg shell shows the Linux/mips Kernel Configuration screen"
grep -qx "EXIT 0" pty.out || fail "menuconfig did not exit 0 after Esc Esc: $(cat pty.out)"
grep -qx "CONFIG_MIPS=y" "$W/tree/.config" || fail "no MIPS .config saved"
ok "Esc Esc, y: menuconfig exits 0 and saves a MIPS .config"
echo "shell_menuconfig: PASS: $CHECKS checks"
