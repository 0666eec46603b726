#!/usr/bin/env bash
# package-test.sh - build the Debian package and test it installed, as CI
# does (issue 5).  On a Debian 12 test machine, as root:
#
#   sudo bash tests/package/package-test.sh
#
#   1. installs the build packages (skipped when present);
#   2. builds andromeda_VERSION_ARCH.deb with "cpack -G DEB" in build-deb/
#      (no tests: the normal builds of tests/test.sh run them);
#   3. checks its contents and control files (man pages, andromedactl(1),
#      copyright, changelog.Debian.gz, examples) and runs lintian on it: no
#      error (E:) allowed, warnings are printed;
#   4. installs it with dpkg -i (apt-get install -f for missing libraries)
#      and checks the installed system: the programs' --version, "andromeda
#      -t" on the installed example configurations, the system user, the
#      cluster key, the conffiles, "systemd-analyze verify" on both units
#      (works without systemd as PID 1: it reads the unit files only);
#   5. runs the installed daemon in a network namespace of its own (a veth
#      named eth0 with lb1's address 198.18.0.11/24) with the unit's credentials - user
#      andromeda, CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE only, no new
#      privileges - on the installed example: it must load the package's key,
#      take the VIP 198.18.0.10 and answer andromedactl; after kill -9 the
#      unit's ExecStopPost command, with the same credentials, must remove
#      the VIP; without CAP_NET_ADMIN it must not be able to;
#   6. reinstalls: the key and an edited conffile survive;
#   7. purges and checks that nothing is left: no file of the package, no
#      /etc/andromeda, /var/lib/andromeda, /run/andromeda, user or group;
#   8. deploy/install.sh --deb with flags (and --no-start: it never starts
#      the daemon on this machine's real interfaces): refuses a non-Debian
#      system, writes a configuration that passes -t, is idempotent, keeps an
#      edited configuration unless --force, rejects invalid flags without
#      touching anything, installs --key FILE; then purges again.
#
# Refuses to run when andromeda is already installed or a user andromeda
# exists (the purge would remove them).  Every wait is bounded; everything
# it creates (namespace, package) is removed on exit, also on failure.
#
# Environment: BUILD_DIR (default build-deb), JOBS (default nproc).
set -uo pipefail

SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
# check, check_eq, check_summary: the assertions every test script shares.
source "$SRC_DIR/tests/lib/check.sh"
# PKG_*, pkg_missing, pkg_install: the package lists, by purpose.
source "$SRC_DIR/deploy/packages.sh"
BUILD_DIR=${BUILD_DIR:-$SRC_DIR/build-deb}
JOBS=${JOBS:-$(nproc)}
NS=andromeda-pkgtest-$$
VIP=198.18.0.10
T_START=$SECONDS
INSTALLED=0
DAEMON_PID=

PACKAGES=("${PKG_BUILD[@]}" "${PKG_DEB[@]}" "${PKG_PACKAGE_TEST[@]}")

say() { printf '\n=== %s (%d s)\n' "$*" $((SECONDS - T_START)); }

die() {
	printf 'package-test: %s\n' "$*" >&2
	CHECK_FAILED=$((CHECK_FAILED + 1))
	exit 1
}

# until_true SECONDS cmd... : poll every 50 ms until cmd succeeds.
until_true() {
	local deadline=$((SECONDS + $1))
	shift
	while ! "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.05
	done
}

cleanup() {
	local rc=$?
	if [[ -n "$DAEMON_PID" ]] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -KILL "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
	fi
	ip netns del "$NS" 2>/dev/null
	if ((INSTALLED)); then
		echo "package-test: purging the package left installed"
		dpkg -P andromeda >/dev/null 2>&1
	fi
	say "summary"
	check_summary || exit 1
	exit "$rc"
}

install_packages() {
	pkg_missing "${PACKAGES[@]}"
	((${#PKG_MISSING[@]} == 0)) && { echo "all ${#PACKAGES[@]} packages already installed"; return 0; }
	echo "installing: ${PKG_MISSING[*]}"
	pkg_install "${PKG_MISSING[@]}"
}

build_deb() {
	rm -f "$BUILD_DIR"/andromeda_*.deb
	mkdir -p "$BUILD_DIR"
	# As docs/install.md builds it, but with warnings as errors: this is CI.
	cmake -S "$SRC_DIR" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF \
		-DANDROMEDA_WERROR=ON >"$BUILD_DIR/configure.log" 2>&1 || { tail -n 30 "$BUILD_DIR/configure.log"; return 1; }
	make -C "$BUILD_DIR" -j"$JOBS" --no-print-directory >"$BUILD_DIR/make.log" 2>&1 ||
		{ grep -E 'error|Error' "$BUILD_DIR/make.log" | head -n 40; return 1; }
	(cd "$BUILD_DIR" && timeout 300 cpack -G DEB >"$BUILD_DIR/cpack.log" 2>&1) ||
		{ tail -n 30 "$BUILD_DIR/cpack.log"; return 1; }
}

# ---- 3. the .deb itself ----
check_deb() {
	local deb=$1 list f
	list=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|')
	for f in /usr/sbin/andromeda /usr/sbin/andromeda-agent /usr/bin/andromedactl \
		/lib/systemd/system/andromeda.service /lib/systemd/system/andromeda-agent.service \
		/etc/andromeda/agent.conf /etc/andromeda/andromeda.conf /etc/andromeda/standalone.conf \
		/usr/share/man/man8/andromeda.8.gz /usr/share/man/man1/andromedactl.1.gz \
		/usr/share/man/man8/andromeda-agent.8.gz /usr/share/man/man5/andromeda.conf.5.gz \
		/usr/share/bash-completion/completions/andromedactl \
		/usr/share/doc/andromeda/install.md /usr/share/doc/andromeda/copyright \
		/usr/share/doc/andromeda/changelog.Debian.gz /usr/share/doc/andromeda/examples/agent.conf \
		/usr/share/doc/andromeda/examples/andromeda.conf /usr/share/doc/andromeda/examples/standalone.conf; do
		check "package contains $f" grep -qx "$f" <<<"$list"
	done
	check "no andromedactl page left in section 8" bash -c '! grep -q "man8/andromedactl" <<<"$1"' _ "$list"
	check "copyright is machine-readable (DEP-5) and GPL-2+" bash -c \
		'dpkg-deb --fsys-tarfile "$1" | tar -xO ./usr/share/doc/andromeda/copyright |
		grep -q "^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/" &&
		dpkg-deb --fsys-tarfile "$1" | tar -xO ./usr/share/doc/andromeda/copyright | grep -q "^License: GPL-2+"' _ "$deb"
	check_eq "changelog.Debian.gz: its first entry is this version" "andromeda ($(dpkg-deb -f "$deb" Version))" \
		"$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/share/doc/andromeda/changelog.Debian.gz | gunzip | head -n1 | cut -d' ' -f1-2)"
	check "lintian: no error (E:)" run_lintian "$deb"
	check_eq "package name" andromeda "$(dpkg-deb -f "$deb" Package)"
	check_eq "package architecture" "$(dpkg --print-architecture)" "$(dpkg-deb -f "$deb" Architecture)"
	check "dependencies computed by dpkg-shlibdeps (libc6, libnl-route-3-200, adduser)" \
		grep -qE 'adduser.*libc6 .*libnl-route-3-200' <<<"$(dpkg-deb -f "$deb" Depends)"
	check_eq "conffiles" "/etc/andromeda/agent.conf /etc/andromeda/andromeda.conf /etc/andromeda/standalone.conf" \
		"$(dpkg-deb -I "$deb" conffiles | sort | paste -sd' ')"
	check "binaries are stripped" bash -c "file -L '$BUILD_DIR/_CPack_Packages/Linux/DEB/'*/usr/sbin/andromeda | grep -q ', stripped'"
}

# run_lintian DEB: print lintian's tags (warnings too); fail on an error
# tag (--fail-on error: exit 1) or when lintian itself fails.
run_lintian() {
	local out rc
	out=$(timeout 300 lintian --fail-on error --tag-display-limit 0 "$1" 2>&1)
	rc=$?
	[[ -n "$out" ]] && printf '%s\n' "$out" | sed 's/^/    lintian: /'
	((rc == 0)) && ! grep -q '^E: ' <<<"$out"
}

# ---- 4. the installed package ----
check_installed() {
	local version=$1 out
	check_eq "andromeda --version" "andromeda $version" "$(andromeda --version)"
	check_eq "andromeda-agent --version" "andromeda-agent $version" "$(andromeda-agent --version)"
	check_eq "andromedactl --version" "andromedactl $version" "$(andromedactl --version)"
	out=$(andromeda -t -c /etc/andromeda/andromeda.conf 2>&1)
	check_eq "andromeda -t on the installed example" \
		"configuration file /etc/andromeda/andromeda.conf is valid" "$out"
	out=$(andromeda -t -c /etc/andromeda/standalone.conf 2>&1)
	check_eq "andromeda -t on the installed standalone example" \
		"configuration file /etc/andromeda/standalone.conf is valid" "$out"
	check "andromeda -t refuses a bad file with exit 2" bash -c \
		'printf "[frontend]\nlisten = 1.2.3.4\n" >/tmp/pkgtest-bad.conf; andromeda -t -c /tmp/pkgtest-bad.conf 2>/dev/null; rc=$?; rm -f /tmp/pkgtest-bad.conf; ((rc == 2))'
	check "system user andromeda (uid < 1000, nologin)" bash -c \
		'IFS=: read -r _ _ uid _ _ home shell < <(getent passwd andromeda) && ((uid < 1000)) && [[ $shell == */nologin && $home == /var/lib/andromeda ]]'
	check "group andromeda" bash -c "getent group andromeda >/dev/null"
	check_eq "cluster key owner and mode" "andromeda andromeda 600" \
		"$(stat -c '%U %G %a' /etc/andromeda/cluster.key 2>&1)"
	check_eq "state directory" "andromeda andromeda 750" "$(stat -c '%U %G %a' /var/lib/andromeda 2>&1)"
	check_eq "dpkg records the conffiles" 3 \
		"$(dpkg-query -W -f='${Conffiles}\n' andromeda | grep -c '^ /etc/andromeda/')"
	check "systemd-analyze verify on both units: clean" verify_units
	check "services are not enabled by the package (placeholder config)" bash -c \
		'! ls /etc/systemd/system/*.wants/andromeda*.service 2>/dev/null | grep -q .'
}

verify_units() {
	local out rc
	# systemd-analyze reads the files only; no manager needed.
	out=$(SYSTEMD_LOG_LEVEL=notice systemd-analyze verify \
		/lib/systemd/system/andromeda.service /lib/systemd/system/andromeda-agent.service 2>&1)
	rc=$?
	[[ -n "$out" ]] && printf '%s\n' "$out"
	((rc == 0)) && [[ -z "$out" ]]
}

# ---- 5. the installed daemon with the unit's credentials ----
UNIT_CAPS=+net_admin,+net_raw,+net_bind_service

# unit_cmd CAPS cmd... : sets UNIT_CMD to cmd run in the namespace the way
# andromeda.service runs it: user andromeda, only CAPS (inheritable, ambient
# and bounding), no supplementary groups, no new privileges.  ip and
# setpriv exec, so "${UNIT_CMD[@]} &" gives the daemon's own pid in $!.
unit_cmd() {
	local caps=$1
	shift
	UNIT_CMD=(ip netns exec "$NS" setpriv --reuid=andromeda --regid=andromeda --clear-groups
		--inh-caps="-all${caps:+,$caps}" --ambient-caps="-all${caps:+,$caps}"
		--bounding-set="-all${caps:+,$caps}" --no-new-privs "$@")
}

vip_present() { ip -n "$NS" -4 -o addr show dev eth0 | grep -q " $VIP/"; }
vip_absent() { ! vip_present; }
daemon_master() { andromedactl -s /run/andromeda/control.sock status --json 2>/dev/null | grep -q '"role": "MASTER"'; }

run_as_unit() {
	local log=$BUILD_DIR/pkgtest-daemon.log rc
	ip netns add "$NS" || return 1
	ip -n "$NS" link add eth0 type veth peer name eth0peer || return 1
	ip -n "$NS" link set lo up && ip -n "$NS" link set eth0peer up && ip -n "$NS" link set eth0 up || return 1
	# lb1's own address (the example's layout): the source of its adverts.
	ip -n "$NS" addr add 198.18.0.11/24 dev eth0 || return 1
	# RuntimeDirectory= and StateDirectory= of the unit.
	install -d -o andromeda -g andromeda -m 0750 /run/andromeda /var/lib/andromeda
	unit_cmd "$UNIT_CAPS" /usr/sbin/andromeda -c /etc/andromeda/andromeda.conf
	"${UNIT_CMD[@]}" >"$log" 2>&1 &
	DAEMON_PID=$!
	check "installed daemon, as the unit runs it, takes the VIP on eth0" until_true 10 vip_present ||
		{ tail -n 20 "$log"; return 1; }
	check "andromedactl (root) reads the control socket: role MASTER" until_true 5 daemon_master
	check_eq "the pid started is the daemon" andromeda "$(cat "/proc/$DAEMON_PID/comm" 2>/dev/null)"
	check_eq "daemon runs as user andromeda" "$(id -u andromeda)" \
		"$(awk '/^Uid:/ {print $2}' "/proc/$DAEMON_PID/status" 2>/dev/null)"
	check_eq "daemon's effective capabilities: net_admin, net_raw, net_bind_service only" \
		"0000000000003400" "$(awk '/^CapEff:/ {print $2}' "/proc/$DAEMON_PID/status" 2>/dev/null)"
	kill -KILL "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
	check "after kill -9 the VIP is still on eth0 (what ExecStopPost is for)" vip_present
	unit_cmd "" /usr/sbin/andromeda --release -c /etc/andromeda/andromeda.conf
	"${UNIT_CMD[@]}" >>"$log" 2>&1
	rc=$?
	check "without any capability, --release fails (exit $rc)" test "$rc" -ne 0
	check "and the VIP stays" vip_present
	unit_cmd "+net_admin" /usr/sbin/andromeda --release -c /etc/andromeda/andromeda.conf
	"${UNIT_CMD[@]}" >>"$log" 2>&1
	rc=$?
	check "ExecStopPost command (andromeda --release) with CAP_NET_ADMIN alone exits 0" test "$rc" -eq 0
	check "and the VIP is gone" vip_absent
	ip netns del "$NS"
	rm -rf /run/andromeda
}

# ---- 6. reinstall keeps the key and edited conffiles ----
check_reinstall() {
	local deb=$1 key_before
	key_before=$(sha256sum /etc/andromeda/cluster.key | cut -d' ' -f1)
	echo "; edited by package-test" >>/etc/andromeda/standalone.conf
	dpkg -i --force-confold "$deb" >/dev/null 2>&1
	check "reinstall succeeds" bash -c "dpkg-query -W -f='\${Status}' andromeda | grep -q 'install ok installed'"
	check_eq "reinstall keeps the cluster key" "$key_before" "$(sha256sum /etc/andromeda/cluster.key | cut -d' ' -f1)"
	check "reinstall keeps an edited conffile" grep -q '^; edited by package-test$' /etc/andromeda/standalone.conf
}

# ---- 7. purge leaves nothing ----
check_purged() {
	local deb=$1 f left=()
	check "dpkg -P andromeda" dpkg -P andromeda
	INSTALLED=0
	check "package is gone from dpkg's database" bash -c '! dpkg-query -W -f="\${Status}" andromeda 2>/dev/null | grep -q installed'
	while read -r f; do
		[[ -e "$f" || -L "$f" ]] && left+=("$f")
	done < <(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./|/|')
	for f in /etc/andromeda /var/lib/andromeda /run/andromeda /usr/share/doc/andromeda; do
		[[ -e "$f" ]] && left+=("$f")
	done
	check_eq "files left after purge" "" "${left[*]}"
	check "user andromeda removed" bash -c '! getent passwd andromeda >/dev/null'
	check "group andromeda removed" bash -c '! getent group andromeda >/dev/null'
	check "no enabled-unit symlinks left" bash -c '! ls /etc/systemd/system/*.wants/andromeda*.service 2>/dev/null | grep -q .'
}

# ---- 8. deploy/install.sh, with --no-start: never a VIP on a real link ----
INSTALL_ARGS=(--no-start --interface eth0 --vip 198.18.0.10/24 --priority 150 --node-name lb1
	--backend web1=198.18.0.21:80 --backend web2=198.18.0.22:80 --health-check /healthz)

check_install_sh() {
	local deb=$1 out rc sum key
	local inst=("$SRC_DIR/deploy/install.sh" --deb "$deb" "${INSTALL_ARGS[@]}")
	printf 'ID=ubuntu\nID_LIKE=debian\nVERSION_ID="22.04"\n' >"$BUILD_DIR/os-release-ubuntu"
	out=$(OS_RELEASE=$BUILD_DIR/os-release-ubuntu "${inst[@]}" 2>&1)
	rc=$?
	check "install.sh refuses Ubuntu (exit $rc): ${out##*$'\n'}" \
		bash -c "(($rc != 0)) && grep -q 'unsupported system' <<<\"\$1\"" _ "$out"
	check "nothing installed by the refusal" bash -c '! dpkg-query -W andromeda >/dev/null 2>&1'
	"${inst[@]}" >"$BUILD_DIR/install-sh.log" 2>&1
	check "install.sh --deb with flags: exit 0" test $? -eq 0 || cat "$BUILD_DIR/install-sh.log"
	INSTALLED=1
	check "its configuration passes andromeda -t" bash -c 'andromeda -t -c /etc/andromeda/andromeda.conf >/dev/null'
	check "its configuration has the flags (priority 150, vip, two servers)" bash -c \
		'c=/etc/andromeda/andromeda.conf; grep -qx "priority = 150" $c && grep -qx "vip = 198.18.0.10/24" $c && (($(grep -c "^\[server " $c) == 2))'
	check_eq "key for the daemon user" "andromeda andromeda 600" "$(stat -c '%U %G %a' /etc/andromeda/cluster.key)"
	sum=$(cat /etc/andromeda/andromeda.conf /etc/andromeda/cluster.key | md5sum)
	out=$("${inst[@]}" 2>&1)
	rc=$?
	check "again, same flags: exit $rc, 'unchanged'" bash -c "(($rc == 0)) && grep -q unchanged <<<\"\$1\"" _ "$out"
	check_eq "again: configuration and key untouched" "$sum" "$(cat /etc/andromeda/andromeda.conf /etc/andromeda/cluster.key | md5sum)"
	"${inst[@]}" --priority 100 >/dev/null 2>&1
	check "different flags without --force: edited configuration kept" grep -qx "priority = 150" /etc/andromeda/andromeda.conf
	"${inst[@]}" --priority 100 --force >/dev/null 2>&1
	check "with --force: replaced" grep -qx "priority = 100" /etc/andromeda/andromeda.conf
	check "with --force: the old one saved" bash -c 'grep -qx "priority = 150" /etc/andromeda/andromeda.conf.bak.*'
	"${inst[@]}" --priority 300 --force >/dev/null 2>&1
	rc=$?
	check "invalid flags (priority 300): exit $rc, configuration untouched" bash -c \
		"(($rc != 0)) && grep -qx 'priority = 100' /etc/andromeda/andromeda.conf"
	andromeda --gen-key "$BUILD_DIR/shared.key" >/dev/null 2>&1 || true
	"${inst[@]}" --priority 100 --key "$BUILD_DIR/shared.key" >/dev/null 2>&1
	check "--key FILE installs that key" cmp -s "$BUILD_DIR/shared.key" /etc/andromeda/cluster.key
	check_eq "--key: owner and mode" "andromeda andromeda 600" "$(stat -c '%U %G %a' /etc/andromeda/cluster.key)"
	rm -f "$BUILD_DIR/shared.key" "$BUILD_DIR/os-release-ubuntu"
	# The backups are the administrator's files: purge keeps them.
	dpkg -P andromeda >/dev/null 2>&1
	INSTALLED=0
	check "purge keeps the administrator's backups" bash -c 'ls /etc/andromeda/andromeda.conf.bak.* >/dev/null'
	rm -f /etc/andromeda/andromeda.conf.bak.*
	rmdir /etc/andromeda
	check "after install.sh and purge: no user, no /etc/andromeda, no /var/lib/andromeda" bash -c \
		'! getent passwd andromeda >/dev/null && [[ ! -e /etc/andromeda && ! -e /var/lib/andromeda ]]'
}

# ---------------------------------------------------------------- main --

[[ $EUID -eq 0 ]] || { echo "package-test.sh: run as root (dpkg, namespaces)" >&2; exit 1; }
trap cleanup EXIT
if dpkg-query -W -f='${Status}' andromeda 2>/dev/null | grep -q installed; then
	die "andromeda is installed on this machine: this test installs and purges it (dpkg -P andromeda first)"
fi
getent passwd andromeda >/dev/null && die "a user andromeda exists: the purge at the end would remove it"

say "1. packages"
install_packages || die "apt-get failed"

say "2. cpack -G DEB in $BUILD_DIR"
T0=$SECONDS
build_deb || die "building the package failed"
DEB=$(ls "$BUILD_DIR"/andromeda_*.deb 2>/dev/null | head -n1)
[[ -f "$DEB" ]] || die "cpack made no andromeda_*.deb"
VERSION=$(dpkg-deb -f "$DEB" Version)
echo "built $(basename "$DEB") ($(stat -c %s "$DEB") bytes) in $((SECONDS - T0)) s"

say "3. package contents"
check_deb "$DEB"

say "4. install"
INSTALLED=1
if ! dpkg -i "$DEB"; then
	echo "dpkg -i left dependencies unresolved: apt-get install -f"
	DEBIAN_FRONTEND=noninteractive apt-get install -f -y -qq >/dev/null
fi
check "package installed" bash -c "dpkg-query -W -f='\${Status}' andromeda | grep -q 'install ok installed'" ||
	die "installation failed"
check_installed "${VERSION%-*}" # the programs print the upstream version

say "5. installed daemon with the unit's credentials (namespace $NS)"
run_as_unit

say "6. reinstall"
check_reinstall "$DEB"

say "7. purge"
check_purged "$DEB"

say "8. deploy/install.sh --deb (--no-start)"
check_install_sh "$DEB"
