#!/usr/bin/env bash
# demo.sh - THE demo command (README): on a fresh Debian 12, as root,
#
#   sudo bash deploy/demo.sh
#
# installs what it needs (build tools, libraries, apache2, curl, jq; the
# apache2 system service is never started), builds andromeda, and starts a
# lab in network namespaces (198.18.0.0/15 only):
#
#   client 198.18.0.100 --- bridge --- lb1 198.18.0.11 (andromeda, priority 150)
#                                  \-- lb2 198.18.0.12 (andromeda, priority 100)
#                                  \-- web1 198.18.0.21  Apache httpd, vhosts
#                                  \-- web2 198.18.0.22  www.example.test and
#                                  \-- web3 198.18.0.23  api.example.test
#   the VIP 198.18.0.10 is held by the MASTER (lb1 first)
#
# then drives a bounded load against both virtual hosts, kills web2 with
# kill -9 in the middle of it, prints requests per backend, errors, latency
# and what andromedactl shows; then kills the MASTER balancer with kill -9
# while a client probes the VIP every 10 ms, and prints how long the
# takeover took and what the new MASTER shows; and tears everything down.
#
# Environment: REQUESTS (per client loop, default 300), RATE (requests/s
# per loop, default 60), LOOPS (default 4), NO_INSTALL=1, LAB_KEEP=1.
set -uo pipefail

SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$SRC_DIR/build}
REQUESTS=${REQUESTS:-300}
RATE=${RATE:-60}
LOOPS=${LOOPS:-4}
VICTIM=web2

# The packages, by purpose: deploy/packages.sh.
source "$SRC_DIR/deploy/packages.sh"
PACKAGES=("${PKG_BUILD[@]}" "${PKG_UNIT[@]}" "${PKG_LAB[@]}")

say() { printf '\n== %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

# apt-get install without letting apache2 (or anything) start as a system
# service (pkg_install_no_start).
install_packages() {
	local rc
	pkg_missing "${PACKAGES[@]}"
	((${#PKG_MISSING[@]} == 0)) && return 0
	echo "installing: ${PKG_MISSING[*]}"
	pkg_install_no_start "${PKG_MISSING[@]}"
	rc=$?
	# Installed by us: not a boot-time service either (our httpds are
	# started by hand, in the lab, with their own configuration).
	if [[ " ${PKG_MISSING[*]} " == *" apache2 "* && -d /run/systemd/system ]]; then
		systemctl disable --now apache2 >/dev/null 2>&1
	fi
	return "$rc"
}

build() {
	mkdir -p "$BUILD_DIR"
	# A user's build: warnings are not errors here (CI has tests/test.sh).
	cmake -S "$SRC_DIR" -B "$BUILD_DIR" -DANDROMEDA_WERROR=OFF >"$BUILD_DIR/demo-configure.log" 2>&1 &&
		make -C "$BUILD_DIR" -j"$(nproc)" --no-print-directory andromeda andromedactl probe \
			>"$BUILD_DIR/demo-make.log" 2>&1
}

# write_conf NAME PRIORITY SUFFIX: lb1 uses the lab's default socket and
# state dir (lab.sh's helpers read them), lb2 its own.
write_conf() {
	{
		if [[ $1 == lb1 ]]; then
			lab_node_conf lb1
		else
			mkdir -p "$LAB_DIR/state-$1"
			printf '[node]\nname = %s\nstate_dir = %s/state-%s\ncontrol_socket = %s/%s.sock\n\n' \
				"$1" "$LAB_DIR" "$1" "$LAB_DIR" "$1"
		fi
		printf '[frontend]\nlisten = %s:80\n\n' "$LAB_LB_IP"
		printf '[backend]\nmaxconn = 32\nconnect_timeout = 500ms\nserver_timeout = 5s\nretries = 2\n'
		printf 'health_check = /healthz\nhealth_interval = 200ms\nrise = 2\nfall = 2\n\n'
		for i in 1 2 3; do
			printf '[server web%d]\naddress = %s:80\nweight = 1\n\n' "$i" "$(lab_be_ip "$i")"
		done
		printf '[ha]\ninterface = eth0\nvrid = 51\npriority = %s\nadvert_interval = 100ms\n' "$2"
		printf 'vip = %s/24\nkey_file = %s/cluster.key\n' "$LAB_LB_IP" "$LAB_DIR"
	} >"$LAB_DIR/$1.conf"
}

all_up() {
	local i
	for i in 1 2 3; do
		lab_server_state_is "web$i" up || return 1
	done
}

total_requests() { lab_status_json | jq '[.servers[].requests] | add // 0'; }
requests_at_least() { (($(total_requests) >= $1)); }

# Loop L asks one vhost (odd loops www, even loops api), paced by --rate.
# curl prints the body ("webN vhost") then "@@ CODE TIME HOST" per request.
start_load() {
	local l host
	LOADERS=()
	for ((l = 1; l <= LOOPS; l++)); do
		host=${APACHE_VHOSTS[$(((l + 1) % 2))]}
		lab_spawn client "load$l" timeout $((REQUESTS / RATE + 60)) curl -s --rate "$RATE/s" \
			-H "Host: $host" -w "\n@@ %{http_code} %{time_total} $host\n" \
			"http://$LAB_LB_IP/?loop=$l&n=[1-$REQUESTS]"
		LOADERS+=("$LAB_SPAWNED_PID")
	done
}

report() {
	local all="$LAB_DIR/load.all"
	cat "$LAB_DIR"/load[0-9]*.log >"$all"
	local sent ok errors mismatched
	sent=$(grep -c '^@@ ' "$all")
	ok=$(grep -c '^@@ 200 ' "$all")
	errors=$((LOOPS * REQUESTS - ok))
	# A body answered for the other vhost would show here.
	mismatched=$(awk '/^web[0-9]+ / { body = $2; next } /^@@ 200 / { if (body != $4) m++; body = "" } END { print m + 0 }' "$all")

	say "requests per backend (from the pages the client got)"
	awk '/^web[0-9]+ / { n[$1]++; v[$1 " " $2]++ } END {
		for (s in n) { printf "  %-6s %5d   ", s, n[s];
			for (k in v) if (index(k, s " ") == 1) printf "%s %d  ", substr(k, length(s) + 2), v[k];
			printf "\n" } }' "$all" | sort
	say "errors"
	printf '  sent %d, answered 200: %d, errors (non-200 or no answer): %d, wrong vhost: %d\n' \
		"$((LOOPS * REQUESTS))" "$ok" "$errors" "$mismatched"
	grep '^@@ ' "$all" | awk '$2 != 200 { print "  " $0 }' | head -n 5
	say "latency (curl time_total, all requests)"
	grep '^@@ ' "$all" | awk '{ print $3 * 1000 }' | sort -n | awk '
		{ t[NR] = $1 } END {
			if (NR == 0) { print "  no samples"; exit }
			p50 = t[int((NR + 1) / 2)]; i = int(NR * 0.99 + 0.999); if (i > NR) i = NR
			printf "  %d samples: median %.1f ms, p99 %.1f ms, max %.1f ms\n", NR, p50, t[i], t[NR] }'
	say "andromedactl status (after the load)"
	lab_ctl status | sed 's/^/  /'
	say "what the balancer logged about $VICTIM"
	grep -E "$VICTIM" "$LAB_DIR/andromeda.log" | grep -Eiv 'check passed' | tail -n 6 | sed 's/^/  /'
	DEMO_ERRORS=$((errors + mismatched))
	((sent == LOOPS * REQUESTS)) || DEMO_ERRORS=$((DEMO_ERRORS + 1))
}

[[ $EUID -eq 0 ]] || die "run as root: sudo bash deploy/demo.sh"
cd "$SRC_DIR" || exit 1

say "packages"
if [[ "${NO_INSTALL:-0}" != 1 ]]; then
	install_packages || die "apt-get failed"
fi
echo "  ok"
say "build ($BUILD_DIR)"
build || { tail -n 30 "$BUILD_DIR/demo-make.log"; die "build failed"; }
echo "  ok"

source "$SRC_DIR/tests/lib/lab.sh"
source "$SRC_DIR/tests/lib/lab-apache.sh"

say "lab: client, lb1, web1..web3 in network namespaces"
lab_init || die "cannot create the lab"
lab_trap
lab_host client "$LAB_CLIENT_IP/24" || die "client host"
lab_host lb 198.18.0.11/24 || die "lb1 host"
lab_host lb2 198.18.0.12/24 || die "lb2 host"
for i in 1 2 3; do
	lab_host "web$i" "$(lab_be_ip "$i")/24" || die "web$i host"
	lab_apache_start "web$i" "$(lab_be_ip "$i")" || die "apache on web$i did not start"
	echo "  web$i: Apache httpd on $(lab_be_ip "$i"):80, vhosts ${APACHE_VHOSTS[*]}"
done
"$BUILD_DIR/andromeda" --gen-key "$LAB_DIR/cluster.key" >/dev/null || die "cannot write a cluster key"
write_conf lb1 150
write_conf lb2 100
lab_start_andromeda "$LAB_DIR/lb1.conf" || die "andromeda lb1 did not start"
lab_spawn lb2 andromeda-lb2 "$BUILD_DIR/andromeda" -c "$LAB_DIR/lb2.conf" || die "andromeda lb2 did not start"
echo "  lb1:  andromeda, priority 150 (config $LAB_DIR/lb1.conf): $(lab_ctl status --json | jq -r .role)"
echo "  lb2:  andromeda, priority 100 (config $LAB_DIR/lb2.conf)"
echo "  VIP $LAB_LB_IP on lb1: $(ip -n "$(lab_ns lb)" -4 -o addr show dev eth0 | grep -o "$LAB_LB_IP/24.*eth0:andr" | head -n1)"
lab_wait_for 5 all_up || echo "  (not all servers up yet)"

say "load: $LOOPS clients x $REQUESTS requests at $RATE/s each, www and api vhosts; kill -9 $VICTIM mid-load"
start_load
if ! lab_wait_for 30 requests_at_least $((LOOPS * REQUESTS / 3)); then
	echo "  (status did not reach a third of the load; killing anyway)"
fi
echo "  $(date +%T.%3N) kill -9 $VICTIM (whole httpd process group) after $(total_requests) requests"
lab_kill "$VICTIM" KILL
if lab_wait_for 5 lab_server_state_is "$VICTIM" down; then
	echo "  $(date +%T.%3N) andromedactl: $VICTIM is down"
else
	echo "  $VICTIM not reported down within 5 s"
fi
wait "${LOADERS[@]}"
echo "  $(date +%T.%3N) load finished"

report

# ---- act 2: the MASTER balancer dies -------------------------------------
lb2_ctl() { timeout 3 "$BUILD_DIR/andromedactl" -s "$LAB_DIR/lb2.sock" "$@"; }
lb2_is() { [[ "$(lb2_ctl status --json 2>/dev/null | jq -r .role)" == "$1" ]]; }
say "balancer failover: kill -9 of the MASTER (lb1) while a client probes the VIP every 10 ms"
lab_wait_for 5 lb2_is BACKUP || echo "  (lb2 is not BACKUP yet)"
lab_spawn client probe sh -c "exec '$BUILD_DIR/tests/probe' $LAB_LB_IP 80 10 500 15000 3000 >'$LAB_DIR/probe.out'"
sleep 1
t_kill=$(($(date +%s%N) / 1000000))
echo "  $(date +%T.%3N) kill -9 andromeda on lb1"
lab_kill andromeda KILL
lab_wait_for 5 lb2_is MASTER && echo "  $(date +%T.%3N) lb2 is MASTER"
sleep 1
lab_stop probe 3 >/dev/null
awk -v t="$t_kill" '
	$1 < t && $2 == "ok" { before[$3]++ }
	$1 >= t && $2 == "fail" && !first { failed++ }
	$1 >= t && $2 == "ok" && $3 == "lb2" && !first { first = $1 - t }
	$1 >= t && $2 == "ok" { after[$3]++ }
	END {
		printf "  before the kill: %d answers from lb1\n", before["lb1"]
		printf "  kill -> first answer from lb2: %d ms, %d failed probes in between\n", first, failed
		printf "  after: %d answers from lb2\n", after["lb2"] }' "$LAB_DIR/probe.out"
echo "  (keepalived + HAProxy in the same kind of lab: about 310 ms and 30 failed probes)"
say "andromedactl status on the new MASTER (lb2): the pool it replicated from lb1"
lb2_ctl status | sed 's/^/  /'
echo "  VIP on lb2: $(ip -n "$(lab_ns lb2)" -4 -o addr show dev eth0 | grep -c "$LAB_LB_IP/24") address(es) labelled $(ip -n "$(lab_ns lb2)" -4 -o addr show dev eth0 | grep -o 'eth0:andr' | head -n1)"

say "teardown"
lab_stop andromeda-lb2 10 >/dev/null
echo "  done"
if ((DEMO_ERRORS > 0)); then
	echo "demo: $DEMO_ERRORS client errors" >&2
	exit 1
fi
