# shellcheck shell=bash disable=SC2034 # lists read by the scripts that source this
# packages.sh - the Debian 12 packages every script installs, named once,
# by purpose; each script names the purposes it needs.  Source it; do not
# execute it.
#
#   source deploy/packages.sh
#   pkg_missing "${PKG_BUILD[@]}" "${PKG_DEB[@]}"     # sets PKG_MISSING
#   ((${#PKG_MISSING[@]} == 0)) || pkg_install "${PKG_MISSING[@]}"
#
# It lives in deploy/, not tests/, because the operator's scripts need it
# (install.sh builds the package, demo.sh the programs) and they must not
# depend on the test suite; the test runners in tests/ read it from here.
#
#   purpose            used by
#   PKG_BUILD          everything that builds: install.sh, demo.sh,
#                      tests/test.sh, tests/package/package-test.sh
#   PKG_DEB            cpack -G DEB: install.sh, package-test.sh
#   PKG_UNIT           the unit tests (a build with tests, the default):
#                      demo.sh, test.sh
#   PKG_LAB            the namespace lab: demo.sh, test.sh
#   PKG_CHECKS         what the test command adds: test.sh
#   PKG_PACKAGE_TEST   the installed package's checks: package-test.sh
#   PKG_SYSTEMD_*      tests/package/systemd-test.sh
#   PKG_CROSS_*        tests/cross/cross-test.sh
#   PKG_BENCH_*        tests/bench/ (the proxies it compares with)

# The libraries the programs link (their -dev packages) and the toolchain.
PKG_LIBS=(
	libhttp-parser-dev libinih-dev libnl-3-dev libnl-route-3-dev libmnl-dev
	libcurl4-openssl-dev libsystemd-dev libssl-dev libjansson-dev
)
PKG_BUILD=(build-essential cmake pkg-config "${PKG_LIBS[@]}")

# cpack -G DEB: dpkg-shlibdeps computes Depends; file checks the binaries.
PKG_DEB=(dpkg-dev file)

# Criterion: CMake builds the unit tests (and the lab's tools) by default;
# openssl makes the test certificates at test time (tests/lib/tls_certs.sh).
PKG_UNIT=(libcriterion-dev openssl)

# The namespace lab: addresses and namespaces, the clients, the Apache
# backends of the demo and of test_health_host, nftables and wrk for
# test_proxy_stall (SYN drops under load).
PKG_LAB=(iproute2 curl jq procps util-linux apache2 openssl nftables wrk)

# The test command's own tools: clang (whole-tree build, libFuzzer),
# clang-tidy and cppcheck (tests/lint/), valgrind (tests/valgrind/), and
# what integration tests drive (tcpdump, nc, faketime, strace; promtool
# from prometheus and headless chromium for test_stats; the prometheus
# server that package also ships is not used: on a host with systemd,
# `systemctl disable --now prometheus` after the install; keepalived,
# the VRRPv3 speaker test_vrrp_keepalived.sh elects with; its system
# service starts only with an /etc/keepalived/keepalived.conf; systemd for
# test_journal's private journald, journalctl and systemd-cat; python3
# for test_vrrp6's IPv6 web server and hostile-packet injector).
PKG_CHECKS=(
	clang libclang-rt-14-dev clang-tidy-14 clang-format-14 cppcheck valgrind
	tcpdump netcat-openbsd libfaketime strace keepalived python3
	prometheus chromium systemd
)

# The installed package: its user, units, the daemon in a namespace, lintian.
PKG_PACKAGE_TEST=(systemd adduser iproute2 util-linux procps lintian)

# The package under a real systemd: the container tools on the host, and
# the package's run-time libraries in the debootstrapped base, so dpkg -i
# needs no network inside the container.
PKG_SYSTEMD_HOST=(systemd-container debootstrap)
PKG_SYSTEMD_BASE=(
	systemd systemd-sysv dbus iproute2 adduser procps libcurl4 libhttp-parser2.9
	libinih1 libjansson4 libmnl0 libnl-3-200 libnl-route-3-200 libssl3 libsystemd0
)

# Cross-building for ARM on amd64.  On the host, with gcc-TRIPLET (the
# cross compiler, named by cross-test.sh for its ARCH):
PKG_CROSS_HOST=(qemu-user-static cmake pkg-config make file dpkg-dev)
# Installed :ARCH through multiarch (Multi-Arch: same).  libhttp-parser2.9,
# libgit2-1.5 and libffi8 are the run-time libraries of the unpacked ones.
PKG_CROSS_MULTIARCH=(
	libc6-dev libinih-dev libnl-3-dev libnl-route-3-dev libmnl-dev libcurl4-openssl-dev
	libsystemd-dev libssl-dev libjansson-dev libhttp-parser2.9 libgit2-1.5 libffi8
)
# Downloaded :ARCH and unpacked into the build directory: not
# co-installable with their amd64 versions (docs/install.md).
PKG_CROSS_UNPACKED=(libhttp-parser-dev libcriterion-dev libcriterion3 libnanomsg5)

# The benches' comparison programs and their clients.
PKG_BENCH_PROXY=(wrk haproxy nginx-light jq curl openssl)    # proxy.sh, scale.sh, tls.sh
PKG_BENCH_MEMORY=(haproxy nginx-light jq curl)       # memory.sh
PKG_BENCH_FAILOVER=(keepalived haproxy jq curl)      # failover.sh
PKG_BENCH_STALL=(wrk haproxy nginx-light jq curl nftables) # stall.sh
PKG_BENCH_BALANCE=(wrk apache2-utils jq curl)        # balance.sh (ab: per-request percentiles)

# pkg_missing PKG... : set PKG_MISSING to those of PKG not installed
# (a name may carry an architecture: libssl-dev:arm64).
pkg_missing() {
	local p
	PKG_MISSING=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			PKG_MISSING+=("$p")
	done
}

# pkg_install PKG... : apt-get update, then install PKG quietly without
# recommends.  Non-zero when either fails.
pkg_install() {
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# pkg_install_no_start PKG... : pkg_install, but no package may start a
# system service meanwhile (apache2, haproxy, nginx: the demo and the
# benches run their own instances in the lab): a policy-rc.d that answers
# 101 "action forbidden" for the duration, unless the system has one.
pkg_install_no_start() {
	local made_policy=0 rc
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\n# deploy/packages.sh: no service starts during this install\nexit 101\n' \
			>/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && made_policy=1
	fi
	pkg_install "$@"
	rc=$?
	((made_policy)) && rm -f /usr/sbin/policy-rc.d
	return "$rc"
}
