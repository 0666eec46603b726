# toolchain-aarch64.cmake - cross-build andromeda for arm64 (Raspberry Pi 3/4/5
# with a 64-bit Raspberry Pi OS, or any arm64 Debian 12) on an amd64 Debian 12.
#
#   dpkg --add-architecture arm64 && apt-get update
#   apt-get install gcc-aarch64-linux-gnu libinih-dev:arm64 libnl-route-3-dev:arm64 ...
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=deploy/toolchain-aarch64.cmake -DBUILD_TESTING=OFF
#   make -C build-arm64 -j"$(nproc)" && (cd build-arm64 && cpack -G DEB)
#
# Debian multiarch, no sysroot: the arm64 -dev packages install their
# libraries in /usr/lib/aarch64-linux-gnu and share /usr/include with the
# native ones, and Debian's cross gcc searches exactly those directories.
# tests/cross/cross-test.sh does all of this and runs the unit tests under qemu;
# docs/install.md explains the packages that cannot be co-installed.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# find_library/find_path: look in the multiarch directories only, never
# pick an amd64 library from /usr/lib/x86_64-linux-gnu.
set(CMAKE_SYSTEM_IGNORE_PATH /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu)

# pkg-config: the arm64 .pc files only (PKG_CONFIG_PATH, if set, comes
# first: cross-test.sh uses it for the packages it unpacks itself).
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")

# ctest runs the test programs through qemu-user; with binfmt_misc
# registered (qemu-user-static) a program's own fork+exec works too.
find_program(ANDROMEDA_QEMU NAMES qemu-aarch64-static qemu-aarch64)
if(ANDROMEDA_QEMU)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${ANDROMEDA_QEMU})
endif()

# The .deb built from this tree (cpack -G DEB) is for arm64.
set(ANDROMEDA_DEB_ARCH arm64 CACHE STRING "Debian architecture of the package")
