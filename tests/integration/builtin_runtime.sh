#!/usr/bin/env bash
# The built-in runtime (store checkout + bubblewrap) and `ksimg shell`, on a stand-in for the
# k4/mipsel cell image (the real kbuild, busybox as sh, the cell's Env and label; no toolchain):
# `ksimg kbuild --dry-run --runtime builtin` runs the image's kbuild from the store and hands it
# the layout digest; `ksimg shell --cell k4/mipsel -- CMD` with builtin and with podman: the
# image's ARCH/CROSS_COMPILE, the current directory read-write at the same path (files owned by
# the caller), network off, the image root read-only (builtin) (only lo), the command's exit status passed
# on; without bwrap on PATH: exit 1 naming the package. `ksimg kbuild --runtime builtin
# --ccache-remote redis://127.0.0.1:P` gets the host's network (a probe in place of kbuild
# reaches a listener on the host's 127.0.0.1), and without it the probe cannot.
set -euo pipefail
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
need_tools bwrap busybox jq
KBUILD_BIN=${KSIMG_KBUILD:-$KSIMG_BUILD_DIR/kbuild}
[ -x "$KBUILD_BIN" ] || skip "no $KBUILD_BIN (build the kbuild target)"
bwrap --unshare-all --ro-bind / / true 2>/dev/null || skip "bwrap cannot create namespaces here"
run_dir builtin_runtime
cd "$T"
export KSIMG_STORE="$T/store" KSIMG_LAYOUT="$T/oci" KSIMG_IMAGES_LOCK="$T/none.json"
mkdir -p img/usr/local/bin img/bin tree work
cp "$KBUILD_BIN" img/usr/local/bin/kbuild
cp "$(command -v busybox)" img/bin/busybox && ln -s busybox img/bin/sh
"$KSIMG" -q image build --layer "$T/img" --tag k4-mipsel --layout "$T/oci" --cmd kbuild \
  --env PATH=/usr/local/bin:/usr/bin:/bin --env KSIMG_ERA=k4 --env KSIMG_ARCH=mipsel --env ARCH=mips \
  --env CROSS_COMPILE=mipsel-linux-gnu- --env KSIMG_RECIPE=debian-bullseye-gcc10-mipsel \
  --label org.kernelsmith.cell=k4/mipsel >/dev/null
D=$(tag_digest "$T/oci" k4-mipsel)

printf 'VERSION = 5\nPATCHLEVEL = 10\nSUBLEVEL = 223\nEXTRAVERSION =\n' >tree/Makefile
"$KSIMG" kbuild 5.10.223 --arch mipsel --source "$T/tree" --image k4-mipsel -o "$T/out" --dry-run --runtime builtin \
  >kb.out 2>kb.err || { cat kb.err; fail "kbuild --dry-run --runtime builtin"; }
grep -qE "^image +kernelsmith:k4-mipsel \\(digest $D\\)$" kb.out || fail "kbuild: $(cat kb.out)"
grep -qF "runtime builtin: $KSIMG_STORE/images/${D#sha256:}/root" kb.err || fail "not from the store: $(cat kb.err)"
ok "kbuild --runtime builtin ran the image's kbuild from the store checkout, given the layout digest"

# The host's network under builtin only when kbuild needs it (--ccache-remote redis://): a probe
# image whose "kbuild" connects to a listener on the host's 127.0.0.1.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -c 'import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
while True: c,_=s.accept(); c.sendall(b"hello\n"); c.close()' "$PORT" &
track $!
mkdir -p probe/usr/local/bin probe/bin
cp "$(command -v busybox)" probe/bin/busybox && ln -s busybox probe/bin/sh && ln -s busybox probe/bin/nc
printf '#!/bin/sh\nif nc -w 3 127.0.0.1 %s </dev/null | grep -q hello; then echo PROBE-REACHED; else echo PROBE-UNREACHABLE; fi\n' \
  "$PORT" >probe/usr/local/bin/kbuild
chmod +x probe/usr/local/bin/kbuild
"$KSIMG" -q image build --layer "$T/probe" --tag netprobe --layout "$T/oci" --cmd kbuild \
  --env PATH=/usr/local/bin:/usr/bin:/bin --label org.kernelsmith.cell=k4/mipsel >/dev/null
for _ in $(seq 50); do
  python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$PORT" 2>/dev/null && break
  sleep 0.1
done
probe_run() {  # probe_run NAME [FLAGS...]: kbuild with the probe image under builtin
  local name=$1; shift
  "$KSIMG" -q kbuild 5.10.223 --arch mipsel --source "$T/tree" --image netprobe -o "$T/out-$name" \
    --ccache-dir "$T/cc" --runtime builtin "$@" >"$name.out" 2>"$name.err" || { cat "$name.err"; fail "kbuild probe $name"; }
}
probe_run net-off
grep -qx PROBE-UNREACHABLE net-off.out || fail "builtin without --ccache-remote reached the host: $(cat net-off.out)"
probe_run net-host --ccache-remote "redis://127.0.0.1:$PORT"
grep -qx PROBE-REACHED net-host.out || fail "builtin with --ccache-remote redis:// cannot reach 127.0.0.1:$PORT: $(cat net-host.out net-host.err)"
ok "kbuild --runtime builtin: the host's 127.0.0.1 is reachable with --ccache-remote redis://, not without"

script='echo "ARCH=$ARCH CC=$CROSS_COMPILE"; pwd; echo made >made.txt; cut -d: -f1 /proc/net/dev | tail -n +3;
  if touch /usr/x 2>/dev/null; then echo root-writable; fi; exit 7'
shell_check() {  # shell_check RUNTIME
  rm -f work/made.txt
  local rc=0
  (cd work && "$KSIMG" -q shell --cell k4/mipsel --runtime "$1" -- sh -c "$script") >"sh-$1.out" 2>"sh-$1.err" || rc=$?
  [ "$rc" = 7 ] || { cat "sh-$1.err"; fail "shell --runtime $1: exit $rc, expected the command's 7"; }
  grep -qx "ARCH=mips CC=mipsel-linux-gnu-" "sh-$1.out" && grep -qx "$T/work" "sh-$1.out" || fail "$1: $(cat "sh-$1.out")"
  [ "$(cat work/made.txt)" = made ] && [ "$(stat -c %u work/made.txt)" = "$(id -u)" ] || fail "$1: made.txt"
  [ "$(grep -vc root-writable "sh-$1.out")" = 3 ] && grep -qx " *lo" "sh-$1.out" || fail "$1: network: $(cat "sh-$1.out")"
  if [ "$1" = builtin ]; then grep -q root-writable "sh-$1.out" && fail "builtin: the image root is writable"; fi
  ok "shell --runtime $1 -- CMD: cell env, cwd read-write at $T/work (caller's files), only lo, exit 7"
}
shell_check builtin
if command -v podman >/dev/null; then
  podman_storage
  shell_check podman
fi

# A scripted terminal session (script(1) gives ksimg a pty): the shell gets a TTY and TERM.
if command -v script >/dev/null; then
  (cd work && TERM=xterm-256color script -qec "$KSIMG -q shell --cell k4/mipsel --runtime builtin -- sh -c 'test -t 0 && test -t 1 && echo TTY-OK \$TERM'" /dev/null) \
    </dev/null >tty.out 2>&1 || { cat tty.out; fail "shell under script(1)"; }
  grep -q "TTY-OK xterm-256color" tty.out || fail "no TTY in the shell: $(cat tty.out)"
  ok "on a terminal the shell gets a TTY and TERM"
fi

mkdir -p nobwrap && ln -sf "$(command -v podman || echo /bin/false)" nobwrap/podman
rc=0
PATH="$T/nobwrap" "$KSIMG" -q shell --cell k4/mipsel --runtime builtin -- true >nb.out 2>nb.err || rc=$?
[ "$rc" = 1 ] && grep -q "apt-get install bubblewrap" nb.err || fail "no bwrap: exit $rc, $(cat nb.err)"
ok "without bwrap: exit 1, $(cat nb.err)"
echo "builtin_runtime: PASS: $CHECKS checks"
