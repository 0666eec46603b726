# toolchain-armhf.cmake - cross-build andromeda for armhf (32-bit ARMv7 with
# hardware floating point: Raspberry Pi 2/3/4 with a 32-bit OS, or any armhf
# Debian 12) on an amd64 Debian 12.  Not for ARMv6 (Pi 1, Pi Zero): Debian's
# armhf is ARMv7; build on those Pis themselves (docs/install.md).
#
#   dpkg --add-architecture armhf && apt-get update
#   apt-get install gcc-arm-linux-gnueabihf libc6-dev:armhf libinih-dev:armhf ...
#   cmake -S . -B build-armhf -DCMAKE_TOOLCHAIN_FILE=deploy/toolchain-armhf.cmake -DBUILD_TESTING=OFF
#
# Same scheme as toolchain-aarch64.cmake (Debian multiarch, no sysroot);
# ARCH=armhf tests/cross/cross-test.sh builds it and runs the unit tests under
# qemu-arm.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(CMAKE_C_COMPILER arm-linux-gnueabihf-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE arm-linux-gnueabihf)

set(CMAKE_SYSTEM_IGNORE_PATH /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu)
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/arm-linux-gnueabihf/pkgconfig:/usr/share/pkgconfig")

find_program(ANDROMEDA_QEMU NAMES qemu-arm-static qemu-arm)
if(ANDROMEDA_QEMU)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${ANDROMEDA_QEMU})
endif()

set(ANDROMEDA_DEB_ARCH armhf CACHE STRING "Debian architecture of the package")
