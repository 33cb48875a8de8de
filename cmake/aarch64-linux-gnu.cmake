# Cross toolchain file: the arm64 `kbuild` launcher of multi-platform images, built on an amd64
# host with Debian's g++-aarch64-linux-gnu (its libstdc++.a and libc.a make the -static link
# work). Use with -DKSIMG_KBUILD_ONLY=ON: only util, matrix and kbuild are built, which need
# nothing but header-only nlohmann_json and CLI11 from the build host.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)  # header-only packages of the build host
