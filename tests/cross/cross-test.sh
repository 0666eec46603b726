#!/usr/bin/env bash
# cross-test.sh - cross-build andromeda for the Raspberry Pi's 64-bit ARM
# (arm64, aarch64-linux-gnu) on an amd64 Debian 12 and run the Criterion
# unit tests under qemu-user (issue 5).  As root:
#
#   sudo bash tests/cross/cross-test.sh            # arm64
#   sudo ARCH=armhf bash tests/cross/cross-test.sh # 32-bit ARM (ARMv7, Pi 2 and later)
#
#   1. Debian multiarch: dpkg --add-architecture ARCH, the cross compiler,
#      qemu-user-static and the -dev packages :ARCH.  Three of the build's
#      packages cannot be installed next to their amd64 versions (not
#      Multi-Arch: same): libhttp-parser-dev, libcriterion-dev and
#      libnanomsg5, which libcriterion3 needs.  Installing them :ARCH would
#      make apt remove the amd64 ones the native build needs, so they are
#      downloaded (apt-get download) and unpacked into BUILD_DIR/extra
#      instead, and the build is pointed at them.  The apt step is simulated
#      first and refused if it would remove any installed package.
#   2. cmake with deploy/toolchain-aarch64.cmake (or -armhf), make.
#   3. the unit tests: ctest -L unit runs each test program through
#      qemu-ARCH-static (CMAKE_CROSSCOMPILING_EMULATOR).  Criterion runs
#      every test in a child it re-executes, and test_control executes the
#      arm64 andromedactl, so the kernel must start ARM programs itself:
#      the script registers qemu with binfmt_misc (mounting it if needed)
#      and removes the registration again at exit if it made it.
#   4. cpack -G DEB: andromeda_VERSION-REVISION_ARCH.deb, its architecture and
#      dependencies checked, and the packaged andromeda run under qemu
#      (--version, -t on the example configuration).
#
# Integration tests (network namespaces, raw sockets) are not run under
# qemu-user: they run natively in tests/test.sh.
#
# Environment: ARCH (arm64 | armhf, default arm64), BUILD_DIR (default
# build-cross-ARCH), JOBS (default nproc).
set -uo pipefail

SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
# check, check_eq, check_summary: the assertions every test script shares.
source "$SRC_DIR/tests/lib/check.sh"
# PKG_*, pkg_missing: the package lists, by purpose.
source "$SRC_DIR/deploy/packages.sh"
ARCH=${ARCH:-arm64}
JOBS=${JOBS:-$(nproc)}
case "$ARCH" in
arm64) TRIPLET=aarch64-linux-gnu QEMU=qemu-aarch64-static BINFMT=qemu-aarch64 TOOLCHAIN=toolchain-aarch64.cmake ELF='ARM aarch64' ;;
armhf) TRIPLET=arm-linux-gnueabihf QEMU=qemu-arm-static BINFMT=qemu-arm TOOLCHAIN=toolchain-armhf.cmake ELF='ARM, EABI5' ;;
*) echo "cross-test.sh: ARCH must be arm64 or armhf, not '$ARCH'" >&2; exit 2 ;;
esac
BUILD_DIR=${BUILD_DIR:-$SRC_DIR/build-cross-$ARCH}
EXTRA=$BUILD_DIR/extra
LIBDIR=/usr/lib/$TRIPLET
T_START=$SECONDS
MOUNTED_BINFMT=0
REGISTERED_BINFMT=0
ADDED_ARCH=0
TIMES=()

# deploy/packages.sh: PKG_CROSS_MULTIARCH are installed :ARCH through
# multiarch, PKG_CROSS_UNPACKED unpacked into $EXTRA (not co-installable
# with their amd64 versions), PKG_CROSS_HOST and the cross compiler on the
# host.
HOST_PACKAGES=("gcc-$TRIPLET" "${PKG_CROSS_HOST[@]}")

say() { printf '\n=== %s (%d s)\n' "$*" $((SECONDS - T_START)); }

die() {
	printf 'cross-test: %s\n' "$*" >&2
	CHECK_FAILED=$((CHECK_FAILED + 1))
	exit 1
}

# timed NAME cmd... : run cmd, remember how long it took.
timed() {
	local name=$1 t0=$SECONDS rc
	shift
	"$@"
	rc=$?
	TIMES+=("$name: $((SECONDS - t0)) s")
	return "$rc"
}

cleanup() {
	local rc=$? t
	# An architecture this run added but could not install anything for
	# (say its package lists failed to download) would make every later
	# "apt-get update" on this machine fail too: take it out again.
	if ((ADDED_ARCH)) && ! dpkg-query -W -f='${Architecture}\n' 2>/dev/null | grep -qx "$ARCH"; then
		echo "dpkg --remove-architecture $ARCH (nothing of it installed)"
		dpkg --remove-architecture "$ARCH"
	fi
	if ((REGISTERED_BINFMT)) && [[ -e /proc/sys/fs/binfmt_misc/$BINFMT ]]; then
		echo -1 >"/proc/sys/fs/binfmt_misc/$BINFMT"
	fi
	((MOUNTED_BINFMT)) && umount /proc/sys/fs/binfmt_misc
	say "summary ($ARCH)"
	for t in "${TIMES[@]}"; do printf '  %s\n' "$t"; done
	((${#RETRIED[@]})) && printf '  re-run after a failure (timing under qemu): %s\n' "${RETRIED[*]}"
	check_summary || exit 1
	exit "$rc"
}

# apt_update: a mirror in the middle of a sync makes "apt-get update" fail
# now and then; try three times, 20 s apart.
apt_update() {
	local try
	for try in 1 2 3; do
		apt-get update -qq && return 0
		((try < 3)) && { echo "apt-get update failed; again in 20 s"; sleep 20; }
	done
	return 1
}

# ---- 1. packages ----
install_packages() {
	local want removals
	dpkg --print-foreign-architectures | grep -qx "$ARCH" || {
		echo "dpkg --add-architecture $ARCH"
		dpkg --add-architecture "$ARCH" || return 1
		ADDED_ARCH=1
	}
	pkg_missing "${HOST_PACKAGES[@]}" "${PKG_CROSS_MULTIARCH[@]/%/:$ARCH}"
	want=("${PKG_MISSING[@]}")
	export DEBIAN_FRONTEND=noninteractive
	# The :ARCH package lists must be there, also for apt-get download.
	if ((${#want[@]})) || ! apt-cache show "libcriterion3:$ARCH" >/dev/null 2>&1; then
		apt_update || return 1
	fi
	if ((${#want[@]} == 0)); then
		echo "all packages already installed"
		return 0
	fi
	# Never let multiarch remove a native package (the normal build's).
	removals=$(apt-get install -s --no-install-recommends "${want[@]}" | grep '^Remv ')
	if [[ -n "$removals" ]]; then
		printf '%s\n' "$removals"
		echo "apt would remove the packages above: refusing" >&2
		return 1
	fi
	echo "installing: ${want[*]}"
	apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
}

# Unpack the packages that cannot be co-installed into $EXTRA, and give
# criterion a .pc file that points there (the packaged one names its
# private dependencies, whose :ARCH .pc files we do not have).
unpack_extra() {
	local deb
	rm -rf "$EXTRA" "$BUILD_DIR/debs"
	mkdir -p "$EXTRA/pkgconfig" "$BUILD_DIR/debs"
	# apt-get download drops privileges to _apt: give it the directory.
	chown _apt "$BUILD_DIR/debs" 2>/dev/null
	(cd "$BUILD_DIR/debs" && apt-get download -qq "${PKG_CROSS_UNPACKED[@]/%/:$ARCH}") || return 1
	for deb in "$BUILD_DIR"/debs/*.deb; do
		dpkg-deb -x "$deb" "$EXTRA" || return 1
	done
	cat >"$EXTRA/pkgconfig/criterion.pc" <<-EOF
		prefix=$EXTRA/usr
		includedir=\${prefix}/include
		libdir=\${prefix}/lib/$TRIPLET
		Name: criterion
		Description: Criterion unit tests ($ARCH, unpacked by tests/cross/cross-test.sh)
		Version: $(dpkg-deb -f "$BUILD_DIR"/debs/libcriterion-dev_*.deb Version | cut -d- -f1)
		Libs: -L\${libdir} -lcriterion
		Cflags: -I\${includedir}
	EOF
	[[ -e "$EXTRA/usr/lib/$TRIPLET/libcriterion.so" && -e "$EXTRA/usr/include/http_parser.h" ]]
}

# ---- 2. build ----
build() {
	export PKG_CONFIG_PATH=$EXTRA/pkgconfig
	mkdir -p "$BUILD_DIR"
	cmake -S "$SRC_DIR" -B "$BUILD_DIR" -DCMAKE_TOOLCHAIN_FILE="$SRC_DIR/deploy/$TOOLCHAIN" \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DHTTP_PARSER_INCLUDE="$EXTRA/usr/include" \
		-DHTTP_PARSER_LIB="$(ls "$LIBDIR"/libhttp_parser.so.* | head -n1)" \
		-DCMAKE_EXE_LINKER_FLAGS="-Wl,-rpath-link,$EXTRA/usr/lib/$TRIPLET" \
		>"$BUILD_DIR/configure.log" 2>&1 || { tail -n 30 "$BUILD_DIR/configure.log"; return 1; }
	make -C "$BUILD_DIR" -j"$JOBS" --no-print-directory >"$BUILD_DIR/make.log" 2>&1 ||
		{ grep -E 'error|Error' "$BUILD_DIR/make.log" | head -n 40; return 1; }
}

# ---- 3. qemu-user and binfmt_misc ----
binfmt_setup() {
	local conf=/usr/lib/binfmt.d/$BINFMT.conf
	if [[ ! -e /proc/sys/fs/binfmt_misc/register ]]; then
		mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || return 1
		MOUNTED_BINFMT=1
	fi
	[[ -e /proc/sys/fs/binfmt_misc/$BINFMT ]] && return 0
	[[ -e "$conf" ]] || { echo "no $conf (qemu-user-static)"; return 1; }
	# What systemd-binfmt would do at boot, from the package's own file.
	grep -v '^#' "$conf" | grep . >/proc/sys/fs/binfmt_misc/register || return 1
	REGISTERED_BINFMT=1
}

# Some unit tests assert timing at 50 ms scale (test_health: "UP after
# exactly rise checks", checks per 500 ms); under qemu-user, 10-20 times
# slower, they fail now and then although they pass every time natively.
# A test program that fails is therefore run again, alone, up to twice;
# one that needed it is named in the summary as "passed on retry", and
# the phase fails if any still fails.  A real ARM bug (alignment,
# endianness, type sizes) fails on every run and is not hidden by this.
RETRIED=()

run_unit_tests() {
	local base=$BUILD_DIR/ctest.log log=$BUILD_DIR/ctest.log line rc try failed total names
	# libcriterion's own dependency (libnanomsg) is in $EXTRA: the ARM
	# loader inside qemu looks there; amd64 programs ignore the ARM files.
	export LD_LIBRARY_PATH=$EXTRA/usr/lib/$TRIPLET
	(cd "$BUILD_DIR" && timeout 1800 ctest -L unit --output-on-failure --timeout 600 -j"$JOBS") >"$log" 2>&1
	rc=$?
	grep -E '^ *[0-9]+/[0-9]+ Test|tests passed|Total Test time' "$log"
	line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n1)
	[[ "$line" =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]] || { unset LD_LIBRARY_PATH; return 1; }
	failed=${BASH_REMATCH[1]} total=${BASH_REMATCH[2]}
	for try in 2 3; do
		((rc != 0 && failed > 0)) || break
		mapfile -t names < <(sed -n 's/^[[:space:]]*[0-9]* - \(unit\/[^ ]*\) .*/\1/p' "$log")
		echo "failed under qemu: ${names[*]}; run $try, serially:"
		log=$base.$try
		(cd "$BUILD_DIR" && timeout 1800 ctest --rerun-failed --output-on-failure --timeout 600 -j1) >"$log" 2>&1
		rc=$?
		grep -E '^ *[0-9]+/[0-9]+ Test' "$log"
		RETRIED+=("${names[@]/%/ (run $try)}")
		line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n1)
		[[ "$line" =~ ([0-9]+)\ tests?\ failed ]] && failed=${BASH_REMATCH[1]}
	done
	unset LD_LIBRARY_PATH
	((rc != 0)) && sed -n '/The following tests FAILED/,$p' "$log"
	echo "$total unit test programs, $failed failing after retries"
	((total > 0 && failed == 0 && rc == 0))
}

# ---- 4. the package ----
package() {
	rm -f "$BUILD_DIR"/andromeda_*.deb
	# dpkg-shlibdeps finds the ARM libraries by the binaries' ELF machine.
	(cd "$BUILD_DIR" && timeout 300 cpack -G DEB >"$BUILD_DIR/cpack.log" 2>&1) ||
		{ tail -n 30 "$BUILD_DIR/cpack.log"; return 1; }
}

check_package() {
	local deb root out ver
	deb=$(ls "$BUILD_DIR"/andromeda_*_"$ARCH".deb 2>/dev/null | head -n1)
	check "cpack made andromeda_*_$ARCH.deb" test -f "$deb" || return 1
	echo "$(basename "$deb"): $(stat -c %s "$deb") bytes; Depends: $(dpkg-deb -f "$deb" Depends)"
	check "Architecture: $ARCH" test "$(dpkg-deb -f "$deb" Architecture)" = "$ARCH"
	check "Depends computed for $ARCH (libc6, libcurl4, libnl-route-3-200)" \
		grep -qE 'libc6 .*libcurl4 .*libnl-route-3-200' <<<"$(dpkg-deb -f "$deb" Depends)"
	root=$BUILD_DIR/deb-root
	rm -rf "$root"
	dpkg-deb -x "$deb" "$root"
	check "packaged andromeda is an $ELF executable" \
		grep -q "$ELF" <<<"$(file -L "$root/usr/sbin/andromeda")"
	out=$("$root/usr/sbin/andromeda" --version 2>&1)
	ver=$(dpkg-deb -f "$deb" Version)
	check "packaged andromeda --version under qemu: $out" \
		test "$out" = "andromeda ${ver%-*}" # the program prints the upstream version
	out=$("$root/usr/sbin/andromeda" -t -c "$root/etc/andromeda/andromeda.conf" 2>&1)
	check "packaged andromeda -t on the packaged example under qemu" \
		test "$out" = "configuration file $root/etc/andromeda/andromeda.conf is valid"
	rm -rf "$root"
}

# ---------------------------------------------------------------- main --

[[ $EUID -eq 0 ]] || { echo "cross-test.sh: run as root (apt-get, binfmt_misc)" >&2; exit 1; }
[[ "$(dpkg --print-architecture)" == amd64 ]] || { echo "cross-test.sh: runs on amd64 only" >&2; exit 1; }
[[ -e "$SRC_DIR/deploy/$TOOLCHAIN" ]] || { echo "cross-test.sh: no deploy/$TOOLCHAIN" >&2; exit 1; }
trap cleanup EXIT

say "1. packages (multiarch $ARCH)"
timed "packages" install_packages || die "apt-get failed"
timed "unpack criterion, http-parser" unpack_extra || die "cannot unpack the non-multiarch packages"

say "2. cross-build in $BUILD_DIR"
timed "cross-build" build || die "cross-build failed"
check "andromeda is an $ELF executable" grep -q "$ELF" <<<"$(file -L "$BUILD_DIR/andromeda")"
check "unit tests are $ELF executables" grep -q "$ELF" <<<"$(file -L "$BUILD_DIR"/tests/test_pool)"

say "3. unit tests under qemu-user ($QEMU)"
timed "binfmt" binfmt_setup || die "cannot register $QEMU with binfmt_misc"
check "qemu runs an $ARCH program: $("$BUILD_DIR/andromeda" --version 2>&1)" "$BUILD_DIR/andromeda" --version >/dev/null
check "unit tests pass under qemu" timed "unit tests under qemu" run_unit_tests

say "4. $ARCH package"
timed "cpack" package && check_package || check "cpack -G DEB for $ARCH" false
