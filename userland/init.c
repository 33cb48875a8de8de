/* The /init of kbuild's `initramfs` target: compiled by the cell's own cross gcc
 * (`-static -O2`) against the cell's libc, then packed as OUT/initramfs.cpio.gz.
 *
 * As PID 1 it mounts /proc, checks that the running kernel and CPU match the cell it was
 * built for (uname -m, byte order, word size), does a floating-point computation and a
 * fork + exec + wait of itself, prints one marker line
 *   KSIMG-USERSPACE-OK <cell> <uname -r> machine=<m> endian=<e> bits=<n> float=<x> exec=ok
 * and powers the machine off. A failed check prints `KSIMG-USERSPACE-FAIL <cell> <what>`.
 * Run as any other PID (a test under qemu-user), it does the same checks without mounting
 * or powering off.
 *
 * Built with -DKSIMG_CELL="k4/mipsel" -DKSIMG_BITS=32 -DKSIMG_ENDIAN="little"
 * -DKSIMG_MACHINE="mips" (the prefix `uname -m` must start with) and, for a 32-bit cell whose
 * userland also runs on the matching 64-bit kernel through its compat ABI, -DKSIMG_MACHINE_COMPAT=
 * "aarch64" (the machine such a kernel reports to a 32-bit process: arm64 says aarch64, x86_64
 * says x86_64, ppc64 says ppc64; mips64 says mips64, which the "mips" prefix already covers).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef KSIMG_CELL
#error "build with -DKSIMG_CELL=..., -DKSIMG_BITS=..., -DKSIMG_ENDIAN=..., -DKSIMG_MACHINE=..."
#endif

static int failures;

static void fail(const char* what) {
  printf("KSIMG-USERSPACE-FAIL %s %s\n", KSIMG_CELL, what);
  fflush(stdout);
  failures++;
}

static const char* byte_order(void) {
  volatile unsigned int one = 1;
  return *(volatile unsigned char*)&one == 1 ? "little" : "big";
}

/* sqrt(2) by Newton's method: exercises the FPU (or its emulation) and the libc's printf. */
static double root2(void) {
  volatile double x = 1.0;
  for (int i = 0; i < 20; i++) x = (x + 2.0 / x) / 2.0;
  return x;
}

/* Runs argv0 again as a child that exits 42; returns 1 when wait sees exactly that. */
static int fork_exec_wait(const char* self) {
  pid_t pid = fork();
  if (pid < 0) return 0;
  if (pid == 0) {
    execl(self, self, "--child", (char*)NULL);
    _exit(127);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return 0;
  return WIFEXITED(status) && WEXITSTATUS(status) == 42;
}

static void power_off(void) {
  sync();
  reboot(RB_POWER_OFF);
  for (;;) pause(); /* PID 1 must not exit: the kernel would panic */
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "--child") == 0) return 42;
  int pid1 = getpid() == 1;
  if (pid1) {
    mkdir("/proc", 0555);
    if (mount("proc", "/proc", "proc", 0, NULL) != 0) fail("mount-proc");
  }
  struct utsname u;
  if (uname(&u) != 0) fail("uname");
  int machine_ok = strncmp(u.machine, KSIMG_MACHINE, strlen(KSIMG_MACHINE)) == 0;
#ifdef KSIMG_MACHINE_COMPAT
  if (strncmp(u.machine, KSIMG_MACHINE_COMPAT, strlen(KSIMG_MACHINE_COMPAT)) == 0) machine_ok = 1;
#endif
  if (!machine_ok) fail("machine");
  if (strcmp(byte_order(), KSIMG_ENDIAN) != 0) fail("endian");
  int bits = (int)(sizeof(long) * 8);
  if (bits != KSIMG_BITS) fail("bits");
  double r = root2();
  if (r * r < 1.999999 || r * r > 2.000001) fail("float");
  const char* self = pid1 ? "/init" : argv[0];
  int exec_ok = fork_exec_wait(self);
  if (!exec_ok) fail("fork-exec-wait");
  if (failures == 0)
    printf("KSIMG-USERSPACE-OK %s %s machine=%s endian=%s bits=%d float=%.6f exec=ok\n", KSIMG_CELL,
           u.release, u.machine, byte_order(), bits, r);
  fflush(stdout);
  if (pid1) power_off();
  return failures ? 1 : 0;
}
