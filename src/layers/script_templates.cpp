// The builder templates of script recipes (recipes/README.md "kind script"): the bash scripts
// run in the base image when a recipe has no `steps` of its own. They follow kernelsmith's
// toolchain builders (mk-kernel-toolchain.nix for kernel-only, mk-cross-toolchain.nix for
// musl-cross-make) with their configure flags and fixes, and read only the environment ksimg
// sets (TRIPLE, PREFIX, INPUTS, GCC_VERSION, GCC_CONFIGURE, JOBS) and the inputs under /inputs,
// found by name (<component>-<version>.tar.*).
//
// Two adaptations to the base image, a Debian trixie (host gcc 14) rather than Nix's stdenv:
// host compiles get -fpermissive -Wno-error (gcc 14 rejects the implicit int and implicit
// declarations of 2009-era configure tests and sources), and musl-cross-make's
// sources/config.sub comes from the gcc input instead of a download.
#include "layers/script.hpp"
#include "util/error.hpp"

namespace ksimg::layers {

namespace {

// Shared helpers: input lookup by component name, unpacking, gcc version parts, checks.
constexpr const char* kCommon = R"SH(
input() {  # the one input named <component>-<version>.tar.*
  local m=("$INPUTS/$1"-[0-9]*.tar.*)
  if [ "${#m[@]}" -ne 1 ] || [ ! -f "${m[0]}" ]; then
    echo "ksimg: expected exactly one $1-<version>.tar.* in $INPUTS" >&2; return 1
  fi
  echo "${m[0]}"
}
version_of() { local f; f=$(basename "$(input "$1")"); f=${f%.tar.*}; echo "${f#"$1"-}"; }
unpack() { local f; f=$(input "$1"); mkdir -p "$2"; tar -xf "$f" -C "$2" --strip-components=1; }
gcc_major=${GCC_VERSION%%.*}
gcc_minor=${GCC_VERSION#*.}; gcc_minor=${gcc_minor%%.*}
need_cxx() {
  command -v g++ >/dev/null || {
    echo "ksimg: building gcc $GCC_VERSION needs g++ (gcc >= 4.8 is written in C++), which the base" \
         "image lacks; add g++ to layers/base.json and run 'ksimg lock --recipe base'" >&2; exit 1; }
}
export CFLAGS="-O2 -fpermissive -Wno-error" CXXFLAGS="-O2 -fpermissive -Wno-error"
export CFLAGS_FOR_TARGET="-g -O2" CXXFLAGS_FOR_TARGET="-g -O2"
)SH";

// mk-kernel-toolchain.nix: binutils, then a C-only gcc without libc (in-tree gmp/mpfr/mpc);
// native (target == host, x86_64) gcc against the base's glibc headers instead.
constexpr const char* kKernelOnly = R"SH(
# ksimg builder: kernel-only (kernelsmith mk-kernel-toolchain.nix)
target_cpu=${TRIPLE%%-*}
native=no; [ "$target_cpu" = "$(uname -m)" ] && native=yes
hostcc=gcc
if [ "$gcc_major" -lt 4 ] || { [ "$gcc_major" -eq 4 ] && [ "$gcc_minor" -lt 8 ]; }; then
  hostcc="gcc -std=gnu89 -fgnu89-inline"   # gcc < 4.8 is gnu89 C (floor_log2/exact_log2 inlines)
else
  need_cxx
fi
target=(--target="$TRIPLE"); [ "$native" = yes ] && target=()
unpack binutils src/binutils
unpack gcc src/gcc
for c in gmp mpfr mpc; do   # in-tree host libraries (mpc: gcc >= 4.5 only)
  if ls "$INPUTS/$c"-[0-9]*.tar.* >/dev/null 2>&1; then unpack "$c" "src/gcc/$c"; fi
done
for f in config.sub config.guess; do   # refreshed when the base has autotools-dev's copies
  if [ -f "/usr/share/misc/$f" ]; then find src -name "$f" -exec cp "/usr/share/misc/$f" {} \;; fi
done
if [ "$native" = yes ]; then   # glibc >= 2.26 has no struct ucontext; headers are multiarch
  multiarch=$(gcc -print-multiarch)
  find src/gcc/gcc/config -name linux-unwind.h -exec sed -i 's/struct ucontext/ucontext_t/g' {} +
  export CPATH="/usr/include/$multiarch" C_INCLUDE_PATH="/usr/include/$multiarch"
  export LIBRARY_PATH="/usr/lib/$multiarch"
fi
mkdir -p obj/binutils obj/gcc
(cd obj/binutils && ../../src/binutils/configure "${target[@]}" --prefix="$PREFIX" --disable-nls \
   --disable-werror --disable-multilib)
binutils_jobs=$JOBS; [ "$native" = yes ] && binutils_jobs=1   # 2.27: parallel "mkdir ldscripts" race
make -C obj/binutils -j"$binutils_jobs" MAKEINFO=true
make -C obj/binutils MAKEINFO=true install
mode=(--without-headers --with-newlib --disable-threads); [ "$native" = yes ] && mode=(--disable-bootstrap)
# shellcheck disable=SC2086  # GCC_CONFIGURE: one --flag[=value] per word (validated by ksimg)
(cd obj/gcc && CC="$hostcc" ../../src/gcc/configure "${target[@]}" --prefix="$PREFIX" \
   --enable-languages=c --disable-shared --disable-nls --disable-multilib --disable-libssp \
   --disable-libgomp --disable-libmudflap --disable-libquadmath --disable-decimal-float \
   "${mode[@]}" $GCC_CONFIGURE)
if [ "$native" = yes ]; then
  make -C obj/gcc -j"$JOBS" MAKEINFO=true
  make -C obj/gcc MAKEINFO=true install
  for t in gcc cpp gcc-ar gcc-nm gcc-ranlib as ld ar nm objcopy objdump ranlib strip readelf size \
           strings addr2line; do
    if [ -e "$PREFIX/bin/$t" ]; then ln -sf "$t" "$PREFIX/bin/$TRIPLE-$t"; fi
  done
else
  make -C obj/gcc -j"$JOBS" MAKEINFO=true all-gcc all-target-libgcc
  make -C obj/gcc MAKEINFO=true install-gcc install-target-libgcc
fi
"$PREFIX/bin/$TRIPLE-gcc" --version
case "$("$PREFIX/bin/$TRIPLE-gcc" -dumpmachine)" in
  "$target_cpu"*) ;;
  *) echo "ksimg: $TRIPLE-gcc -dumpmachine does not name $target_cpu" >&2; exit 1;;
esac
ls "$PREFIX"/lib/gcc/*/*/libgcc.a
)SH";

// mk-cross-toolchain.nix: musl-cross-make with the recipe's component tarballs staged into
// sources/ (versions from their names), hashes synthesised, CVE patches for newer musl dropped.
constexpr const char* kMuslCrossMake = R"SH(
# ksimg builder: musl-cross-make (kernelsmith mk-cross-toolchain.nix)
if [ "$gcc_major" -lt 5 ]; then
  echo "ksimg: gcc $GCC_VERSION < 5 under musl-cross-make needs kernelsmith's extra gcc 4.x fixes" \
       "(facts §4.6), which this template does not carry" >&2; exit 1
fi
need_cxx
unpack musl-cross-make mcm
cd mcm || exit 1
rm -f patches/musl-*/cve-*.diff   # 2026 musl CVE patches fuzz-apply into musl 1.1.x qsort.c
mkdir -p sources hashes
for f in "$INPUTS"/*; do
  b=$(basename "$f")
  case "$b" in musl-cross-make-*) continue;; esac
  cp "$f" "sources/$b"
  if [ ! -e "hashes/$b.sha1" ]; then (cd sources && sha1sum "$b") >"hashes/$b.sha1"; fi
done
gcc_src=$(input gcc); gcc_dir=$(basename "$gcc_src"); gcc_dir=${gcc_dir%.tar.*}
tar -xOf "$gcc_src" "$gcc_dir/config.sub" >sources/config.sub
touch sources/*   # newer than hashes/, or make would try an (offline) download
langs=c,c++
cat >config.mak <<MAK
TARGET = $TRIPLE
OUTPUT = $PREFIX
GCC_VER = $(version_of gcc)
BINUTILS_VER = $(version_of binutils)
MUSL_VER = $(version_of musl)
GMP_VER = $(version_of gmp)
MPC_VER = $(version_of mpc)
MPFR_VER = $(version_of mpfr)
LINUX_VER = $(version_of linux)
COMMON_CONFIG += --disable-nls --disable-multilib
GCC_CONFIG += --enable-languages=$langs --disable-libquadmath --disable-decimal-float $GCC_CONFIGURE
MAK
cat config.mak
make -j"$JOBS"
make install
"$PREFIX/bin/$TRIPLE-gcc" --version
case "$("$PREFIX/bin/$TRIPLE-gcc" -dumpmachine)" in
  *"${TRIPLE%%-*}"*) ;;
  *) echo "ksimg: $TRIPLE-gcc -dumpmachine does not name ${TRIPLE%%-*}" >&2; exit 1;;
esac
)SH";

}  // namespace

const std::string& builder_template(const std::string& builder) {
  static const std::string ko = std::string(kCommon) + kKernelOnly;
  static const std::string mcm = std::string(kCommon) + kMuslCrossMake;
  if (builder == "kernel-only") return ko;
  if (builder == "musl-cross-make") return mcm;
  throw UsageError("unknown script builder '" + builder + "' (allowed: kernel-only, musl-cross-make)");
}

}  // namespace ksimg::layers
