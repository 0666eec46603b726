#!/usr/bin/env bash
# systemd-test.sh - the package under a real systemd: a minimal Debian 12
# (debootstrap) with andromeda installed, booted in a container
# (systemd-nspawn --boot --private-network), where the units run exactly as
# on a Pi.  As root on an amd64 Debian 12 (systemd need not be PID 1 on
# the host; the container's systemd is):
#
#   sudo bash tests/package/systemd-test.sh
#
# Checks andromeda.service: not started by the package; start returns on
# READY with the role in Status; the VIP; the unit's credentials (user
# andromeda, CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE only, no new
# privileges, seccomp); the control socket and journal directories; the
# watchdog kept fed; reload (good file: same process; bad file: reload
# fails, daemon untouched); restart (ExecStop tells the restart job, the
# sockets and role go through the fd store, the VIP never leaves); a
# SIGSTOPped daemon killed by the watchdog and
# restarted; kill -9: ExecStopPost removes the VIP, Restart=always brings a
# new daemon; stop: VIP gone, runtime directory gone.  andromeda-agent.service
# (Type=notify: started on READY=1, watchdog kept fed)
# with no capabilities.  Enabled, both come back after a reboot of the
# container.
#
# Network safety: the container has its own network namespace with only a
# veth pair made inside it (eth0 198.18.0.11/24); nothing reaches the
# host's links.  The base system is debootstrapped once into
# $CACHE/base (about 260 MB, a few minutes) and copied for every run; the
# copy and the container are removed at exit.
#
# Environment: DEB (a built andromeda_*_amd64.deb; default: build one in
# build-deb/), CACHE (default /var/tmp/andromeda-systest),
# MIRROR (default http://deb.debian.org/debian).
set -uo pipefail

SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
# check, check_eq, check_summary: the assertions every test script shares.
source "$SRC_DIR/tests/lib/check.sh"
# PKG_*, pkg_missing, pkg_install: the package lists, by purpose.
source "$SRC_DIR/deploy/packages.sh"
CACHE=${CACHE:-/var/tmp/andromeda-systest}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
BUILD_DIR=${BUILD_DIR:-$SRC_DIR/build-deb}
ROOT=$CACHE/run-$$
MACHINE=andromeda-systest-$$
VIP=198.18.0.10
T_START=$SECONDS
NSPAWN_PID=
LEADER=
TIMES=()
# Run-time libraries of the package, so dpkg -i needs no network inside.
BASE_PACKAGES=$(IFS=,; echo "${PKG_SYSTEMD_BASE[*]}")

say() { printf '\n=== %s (%d s)\n' "$*" $((SECONDS - T_START)); }

die() {
	printf 'systemd-test: %s\n' "$*" >&2
	CHECK_FAILED=$((CHECK_FAILED + 1))
	exit 1
}

until_true() {
	local deadline=$((SECONDS + $1))
	shift
	while ! "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
}

# inside cmd... : run cmd inside the container (all its namespaces).
inside() { nsenter -t "$LEADER" -a "$@"; }
prop() { inside systemctl show -p "$2" --value "$1"; }
vip_present() { inside ip -4 -o addr show dev eth0 2>/dev/null | grep -q " $VIP/"; }
vip_absent() { ! vip_present; }

container_stop() {
	[[ -n "$NSPAWN_PID" ]] || return 0
	if kill -0 "$NSPAWN_PID" 2>/dev/null; then
		[[ -n "$LEADER" ]] && inside systemctl poweroff >/dev/null 2>&1
		until_true 30 bash -c "! kill -0 $NSPAWN_PID 2>/dev/null" || kill -KILL "$NSPAWN_PID" 2>/dev/null
	fi
	wait "$NSPAWN_PID" 2>/dev/null
	NSPAWN_PID= LEADER=
}

cleanup() {
	local rc=$? t
	container_stop
	[[ -d "$ROOT" ]] && rm -rf --one-file-system "$ROOT"
	say "summary"
	for t in "${TIMES[@]}"; do printf '  %s\n' "$t"; done
	check_summary || exit 1
	exit "$rc"
}

prepare() {
	local t0=$SECONDS
	pkg_missing "${PKG_SYSTEMD_HOST[@]}"
	if ((${#PKG_MISSING[@]})); then
		pkg_install "${PKG_MISSING[@]}" || return 1
	fi
	if [[ ! -x "$CACHE/base/usr/lib/systemd/systemd" ]]; then
		echo "debootstrap bookworm into $CACHE/base (once)"
		rm -rf "$CACHE/base.tmp"
		mkdir -p "$CACHE"
		debootstrap --variant=minbase --include="$BASE_PACKAGES" bookworm "$CACHE/base.tmp" "$MIRROR" \
			>"$CACHE/debootstrap.log" 2>&1 || { tail -n 20 "$CACHE/debootstrap.log"; return 1; }
		mv "$CACHE/base.tmp" "$CACHE/base"
	fi
	TIMES+=("base system: $((SECONDS - t0)) s")
	if [[ -z "${DEB:-}" ]]; then
		t0=$SECONDS
		cmake -S "$SRC_DIR" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >/dev/null &&
			make -C "$BUILD_DIR" -j"$(nproc)" >/dev/null && (cd "$BUILD_DIR" && rm -f andromeda_*.deb && cpack -G DEB >/dev/null) ||
			return 1
		DEB=$(ls "$BUILD_DIR"/andromeda_*_"$(dpkg --print-architecture)".deb | head -n1)
		TIMES+=("package build: $((SECONDS - t0)) s")
	fi
	[[ -f "$DEB" ]]
}

# A copy of the base with the package installed, a configuration of node
# lb1 (the only node: it becomes MASTER) and eth0 made at boot.
install_root() {
	cp -a "$CACHE/base" "$ROOT" || return 1
	cp "$DEB" "$ROOT/tmp/andromeda.deb"
	chroot "$ROOT" dpkg -i /tmp/andromeda.deb >"$CACHE/dpkg.log" 2>&1 || { cat "$CACHE/dpkg.log"; return 1; }
	rm -f "$ROOT/tmp/andromeda.deb"
	echo lb1 >"$ROOT/etc/hostname"
	cat >"$ROOT/etc/andromeda/andromeda.conf" <<-'EOF'
		[node]
		name = lb1
		[frontend]
		listen = 198.18.0.10:80
		[backend]
		health_check = /healthz
		[server web1]
		address = 198.18.0.21:80
		[ha]
		interface = eth0
		vrid = 51
		priority = 150
		advert_interval = 100ms
		vip = 198.18.0.10/24
		key_file = /etc/andromeda/cluster.key
	EOF
	cat >"$ROOT/etc/andromeda/agent.conf" <<-'EOF'
		[agent]
		name = web3
		service = 198.18.0.11:8080
		interface = eth0
		announce_interval = 1s
		key_file = /etc/andromeda/cluster.key
	EOF
	cat >"$ROOT/etc/systemd/system/lab-eth0.service" <<-'EOF'
		[Unit]
		Description=test link eth0 198.18.0.11/24 (a veth pair inside the container)
		Before=andromeda.service andromeda-agent.service
		[Service]
		Type=oneshot
		RemainAfterExit=yes
		ExecStart=/sbin/ip link add eth0 type veth peer name eth0p
		ExecStart=/sbin/ip link set eth0p up
		ExecStart=/sbin/ip link set eth0 up
		ExecStart=/sbin/ip addr add 198.18.0.11/24 dev eth0
		[Install]
		WantedBy=multi-user.target
	EOF
	chroot "$ROOT" systemctl enable --quiet lab-eth0.service
}

boot() {
	local state
	setsid systemd-nspawn --quiet --directory="$ROOT" --boot --private-network --machine="$MACHINE" \
		--console=passive --register=no --keep-unit >"$CACHE/nspawn.log" 2>&1 &
	NSPAWN_PID=$!
	until_true 10 bash -c "pgrep -P $NSPAWN_PID >/dev/null" || return 1
	LEADER=$(pgrep -P "$NSPAWN_PID" | head -n1)
	check "container booted (systemd is its PID 1)" until_true 30 bash -c \
		"s=\$(nsenter -t $LEADER -a systemctl is-system-running 2>/dev/null); [[ \$s == running || \$s == degraded ]]" ||
		{ inside systemctl --failed --no-pager; return 1; }
	state=$(inside systemctl is-system-running 2>/dev/null)
	[[ "$state" == running ]] || inside systemctl --failed --no-pager
}

test_start() {
	local pid st
	check_eq "the package does not start andromeda" inactive "$(prop andromeda.service ActiveState)"
	check "systemctl start andromeda returns (on READY=1)" inside timeout 40 systemctl start andromeda.service
	check_eq "active" active "$(prop andromeda.service ActiveState)"
	st=$(prop andromeda.service StatusText)
	check "Status shows the role: '$st'" grep -qE '^(BACKUP|MASTER)' <<<"$st"
	check "the only node takes the VIP (MASTER)" until_true 5 vip_present
	check "andromedactl status: role MASTER" until_true 5 bash -c \
		"nsenter -t $LEADER -a andromedactl status --json | grep -q '\"role\": \"MASTER\"'"
	pid=$(prop andromeda.service MainPID)
	check_eq "runs as andromeda" "$(inside id -u andromeda)" "$(inside awk '/^Uid:/ {print $2}' "/proc/$pid/status")"
	check_eq "capabilities: net_admin, net_raw, net_bind_service" 0000000000003400 \
		"$(inside awk '/^CapEff:/ {print $2}' "/proc/$pid/status")"
	check_eq "bounding set: the same three" 0000000000003400 "$(inside awk '/^CapBnd:/ {print $2}' "/proc/$pid/status")"
	check_eq "no new privileges" 1 "$(inside awk '/^NoNewPrivs:/ {print $2}' "/proc/$pid/status")"
	check_eq "seccomp filter (SystemCallFilter)" 2 "$(inside awk '/^Seccomp:/ {print $2}' "/proc/$pid/status")"
	check_eq "control socket" "srw-rw---- andromeda andromeda" \
		"$(inside stat -c '%A %U %G' /run/andromeda/control.sock 2>&1)"
	check_eq "runtime directory" "drwxr-x--- andromeda" "$(inside stat -c '%A %U' /run/andromeda 2>&1)"
	check "journal written in the state directory" inside test -s /var/lib/andromeda/journal
}

test_watchdog_fed() {
	local pid
	pid=$(prop andromeda.service MainPID)
	sleep 7 # longer than WatchdogSec=5s
	check_eq "7 s later: same process, no restart (WATCHDOG=1 arrives)" "$pid 0" \
		"$(prop andromeda.service MainPID) $(prop andromeda.service NRestarts)"
}

test_reload() {
	local pid conf=/etc/andromeda/andromeda.conf
	pid=$(prop andromeda.service MainPID)
	check "systemctl reload" inside timeout 20 systemctl reload andromeda.service
	check_eq "reload keeps the process" "$pid active" \
		"$(prop andromeda.service MainPID) $(prop andromeda.service ActiveState)"
	inside cp "$conf" /root/good.conf
	inside sh -c "sed -i 's/^priority = 150$/priority = 300/' $conf"
	check "reload of a bad file fails (ExecReload=andromeda -t)" bash -c \
		"! nsenter -t $LEADER -a timeout 20 systemctl reload andromeda.service 2>/dev/null"
	check_eq "and leaves the daemon running" "$pid active" \
		"$(prop andromeda.service MainPID) $(prop andromeda.service ActiveState)"
	inside cp /root/good.conf "$conf"
}

# systemctl restart on the only node (issue 15): ExecStop asks systemd
# over D-Bus whether a restart job runs, under the unit's sandbox; the
# daemon stores its sockets and role in the fd store and keeps the VIP;
# the next process adopts them and stays MASTER.  The VIP is sampled
# every 10 ms throughout.
test_restart() {
	local pid sampler absent=$ROOT.vip-absent
	pid=$(prop andromeda.service MainPID)
	: >"$absent"
	(while :; do vip_present || echo gone >>"$absent"; sleep 0.01; done) &
	sampler=$!
	check "systemctl restart" inside timeout 40 systemctl restart andromeda.service
	sleep 0.5
	kill "$sampler" 2>/dev/null
	wait "$sampler" 2>/dev/null
	check "a new daemon" test "$(prop andromeda.service MainPID)" != "$pid"
	check "journal: ExecStop saw the restart job, the old daemon stored its sockets" bash -c \
		"nsenter -t $LEADER -a journalctl -u andromeda --no-pager -o cat | grep -qE 'restart: .* listening socket\(s\), .* and the role'"
	check "journal: the new daemon took them from systemd's store, as MASTER" bash -c \
		"nsenter -t $LEADER -a journalctl -u andromeda --no-pager -o cat | grep -qE \"restart: .* from systemd's store; the node was MASTER\""
	check_eq "the VIP never went away (sampled every 10 ms)" 0 "$(wc -l <"$absent")"
	check "andromedactl status: still MASTER" until_true 5 bash -c \
		"nsenter -t $LEADER -a andromedactl status --json | grep -q '\"role\": \"MASTER\"'"
	rm -f "$absent"
}

test_watchdog_abort() {
	local pid
	pid=$(prop andromeda.service MainPID)
	inside kill -STOP "$pid"
	check "a stopped event loop is restarted by the watchdog" until_true 12 bash -c \
		"p=\$(nsenter -t $LEADER -a systemctl show -p MainPID --value andromeda); [[ \$p != 0 && \$p != $pid ]]"
	check "journal: watchdog timeout" bash -c \
		"nsenter -t $LEADER -a journalctl -u andromeda --no-pager -o cat | grep -q 'Watchdog timeout'"
	check "the new daemon holds the VIP again" until_true 5 vip_present
}

test_kill9() {
	local pid n
	pid=$(prop andromeda.service MainPID)
	n=$(prop andromeda.service NRestarts)
	inside kill -KILL "$pid"
	check "after kill -9, ExecStopPost removes the VIP" until_true 2 vip_absent
	check "Restart=always: a new daemon" until_true 10 bash -c \
		"p=\$(nsenter -t $LEADER -a systemctl show -p MainPID --value andromeda); [[ \$p != 0 && \$p != $pid ]]"
	check_eq "restart counted" "$((n + 1))" "$(prop andromeda.service NRestarts)"
	check "which takes the VIP back" until_true 5 vip_present
}

test_stop() {
	check "systemctl stop" inside timeout 30 systemctl stop andromeda.service
	check_eq "stopped cleanly" "inactive success" \
		"$(prop andromeda.service ActiveState) $(prop andromeda.service Result)"
	check "VIP removed" vip_absent
	check "runtime directory removed" bash -c "! nsenter -t $LEADER -a test -e /run/andromeda"
	check "journal: SIGTERM handled by the daemon" bash -c \
		"nsenter -t $LEADER -a journalctl -u andromeda --no-pager -o cat | grep -q 'SIGTERM: stopping'"
}

test_agent() {
	local pid
	# Type=notify: systemctl start returns once the agent sent READY=1.
	check "systemctl start andromeda-agent (returns on READY=1)" inside timeout 30 systemctl start andromeda-agent.service
	check_eq "agent unit: Type=notify, WatchdogSec=5s" "notify 5s" \
		"$(prop andromeda-agent.service Type) $(prop andromeda-agent.service WatchdogUSec)"
	check_eq "agent active" active "$(prop andromeda-agent.service ActiveState)"
	pid=$(prop andromeda-agent.service MainPID)
	sleep 7 # longer than WatchdogSec=5s
	check_eq "7 s later: same agent process, no restart (WATCHDOG=1 arrives)" "$pid 0" \
		"$(prop andromeda-agent.service MainPID) $(prop andromeda-agent.service NRestarts)"
	check_eq "agent runs as andromeda, no capabilities at all" "$(inside id -u andromeda) 0000000000000000 0000000000000000" \
		"$(inside awk '/^Uid:/ {u=$2} /^CapEff:/ {e=$2} /^CapBnd:/ {b=$2} END {print u, e, b}' "/proc/$pid/status")"
	check "systemctl stop andromeda-agent" inside timeout 30 systemctl stop andromeda-agent.service
	# On SIGTERM it withdraws on eth0's broadcast address, which it finds
	# with getifaddrs() (netlink: AF_NETLINK must be allowed).
	check "agent read the key and withdrew on eth0's broadcast address" bash -c \
		"nsenter -t $LEADER -a journalctl -u andromeda-agent --no-pager -o cat | grep -q 'broadcast 198.18.0.255'"
	check_eq "agent stopped cleanly" "inactive success" \
		"$(prop andromeda-agent.service ActiveState) $(prop andromeda-agent.service Result)"
}

test_reboot() {
	inside systemctl enable --quiet andromeda.service andromeda-agent.service
	container_stop
	boot || return 1
	check_eq "after a reboot, enabled: andromeda active" active "$(prop andromeda.service ActiveState)"
	check_eq "and andromeda-agent active" active "$(prop andromeda-agent.service ActiveState)"
	check "and the VIP held" until_true 5 vip_present
}

# ---------------------------------------------------------------- main --

[[ $EUID -eq 0 ]] || { echo "systemd-test.sh: run as root (debootstrap, systemd-nspawn)" >&2; exit 1; }
trap cleanup EXIT

say "1. base system and package"
prepare || die "cannot prepare the base system or the package"
T0=$SECONDS
install_root || die "cannot install the package in $ROOT"
TIMES+=("install in the copy: $((SECONDS - T0)) s")

say "2. boot the container ($MACHINE, private network)"
T0=$SECONDS
boot || die "the container did not boot"

say "3. andromeda.service"
test_start
test_watchdog_fed
test_reload
test_restart
test_watchdog_abort
test_kill9
test_stop

say "4. andromeda-agent.service"
test_agent

say "5. enabled, after a reboot"
test_reboot
TIMES+=("container tests: $((SECONDS - T0)) s")
