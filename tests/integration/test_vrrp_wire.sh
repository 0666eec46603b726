#!/usr/bin/env bash
# test_vrrp_wire.sh - VRRPv3 adverts on a real link: ha/vrrp_socket,
# ha/vrrp_packet and ha/vrrp through tests/tools/vrrp_probe, checked by the
# probe's parser and by tcpdump's VRRP decoder.
#
# Run as root.  ctest sets BUILD_DIR and SRC_DIR; standalone:
#
#   sudo bash tests/integration/test_vrrp_wire.sh
#
# The lab: two network namespaces of our own joined by a veth pair, names
# unique per run ($$), addresses only in 198.18.0.0/15:
#
#   ns A  IF_A 198.18.0.21/24  <-veth->  IF_B 198.18.0.22/24  ns B
#
# vrrp_probe is $VRRP_PROBE, else $BUILD_DIR/tests/vrrp_probe, else
# built here with gcc (VRRP_PROBE_CFLAGS adds flags, e.g. sanitizers).
# Every wait polls with a deadline; a trap removes the namespaces and kills
# only the PIDs this run started; the last line is "N passed, M failed".
set -u

SRC_DIR=${SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD_DIR=${BUILD_DIR:-$SRC_DIR/build}
# check, check_fail, check_summary: the shared assertions.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/check.sh"

TAG=$$
NS_A=andr-vw-a-$TAG
NS_B=andr-vw-b-$TAG
IF_A=vwa$TAG
IF_B=vwb$TAG
ADDR_A=198.18.0.21
ADDR_B=198.18.0.22
VIP=198.18.0.10

PIDS=()
NAMESPACES=()
WORK=

log() { printf '[vrrp-wire %s] %s\n' "$(date +%T.%3N)" "$*" >&2; }

teardown() {
	local pid ns
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	for ns in "${NAMESPACES[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "$WORK" ] && [ -z "${KEEP_WORK:-}" ] && rm -rf "$WORK"
}
trap teardown EXIT
trap 'exit 130' INT TERM

# wait_for FILE REGEX [SECONDS]
wait_for() {
	local file=$1 re=$2 i n=$((${3:-3} * 20))
	for ((i = 0; i < n; i++)); do
		grep -Eq -- "$re" "$file" 2>/dev/null && return 0
		sleep 0.05
	done
	log "timed out waiting for /$re/ in $file:"
	sed 's/^/    /' "$file" >&2
	return 1
}

# wait_pid PID [SECONDS]: wait for a process of ours to exit, bounded.
wait_pid() {
	local pid=$1 i n=$((${2:-5} * 20))
	for ((i = 0; i < n; i++)); do
		kill -0 "$pid" 2>/dev/null || { { wait "$pid"; } 2>/dev/null; return 0; }
		sleep 0.05
	done
	log "pid $pid still running after ${2:-5}s"
	return 1
}

in_a() { ip netns exec "$NS_A" "$@"; }
stop_recv() { kill -TERM "$RECV_PID" 2>/dev/null; wait_pid "$RECV_PID" 5; }
in_b() { ip netns exec "$NS_B" "$@"; }

# tstamp FILE REGEX: the t= of the first matching line.
tstamp() { grep -E -- "^t=[0-9]+ .*$2" "$1" | head -n1 | sed -E 's/^t=([0-9]+) .*/\1/'; }

find_probe() {
	VRRP_PROBE=${VRRP_PROBE:-}
	[ -n "$VRRP_PROBE" ] && return 0
	if [ -x "$BUILD_DIR/tests/vrrp_probe" ]; then
		"$BUILD_DIR/tests/vrrp_probe" >/dev/null 2>&1
		if [ $? -eq 2 ]; then # it runs and prints its usage
			VRRP_PROBE=$BUILD_DIR/tests/vrrp_probe
			return 0
		fi
	fi
	VRRP_PROBE=$WORK/vrrp_probe
	log "building vrrp_probe by hand into $VRRP_PROBE"
	(cd "$SRC_DIR" && gcc -std=c17 -O2 -g -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
		-Wno-unused-parameter -D_GNU_SOURCE -Icore/lib -Iha ${VRRP_PROBE_CFLAGS:-} \
		tests/tools/vrrp_probe.c ha/vrrp.c ha/vrrp_packet.c ha/vrrp_socket.c \
		core/lib/loop.c core/lib/log.c -o "$VRRP_PROBE")
}

setup_lab() {
	ip netns add "$NS_A" && NAMESPACES+=("$NS_A") || return 1
	ip netns add "$NS_B" && NAMESPACES+=("$NS_B") || return 1
	ip -n "$NS_A" link add "$IF_A" type veth peer name "$IF_B" netns "$NS_B" || return 1
	ip -n "$NS_A" addr add "$ADDR_A/24" dev "$IF_A" || return 1
	ip -n "$NS_B" addr add "$ADDR_B/24" dev "$IF_B" || return 1
	for l in lo "$IF_A"; do ip -n "$NS_A" link set "$l" up || return 1; done
	for l in lo "$IF_B"; do ip -n "$NS_B" link set "$l" up || return 1; done
}

# ---------------------------------------------------------- one advert --

# start_tcpdump OUT COUNT: decode COUNT VRRP packets on IF_B.
start_tcpdump() {
	in_b timeout 15 tcpdump -i "$IF_B" -n -vv -l -c "$2" 'ip proto 112' >"$1" 2>"$1.err" &
	PIDS+=($!)
	TCPDUMP_PID=$!
	wait_for "$1.err" 'listening on' 5
}

# start_recv OUT ARGS...: vrrp_probe recv in ns B until one advert, or the
# -w bound.  The bound is only a bound (30 s): the sender may take seconds to
# start on a loaded machine.  A receiver that is to see a drop, not an
# advert, is stopped once the drop is logged (stop_recv).
start_recv() {
	local out=$1
	shift
	in_b "$VRRP_PROBE" recv "$IF_B" "$@" >"$out" 2>&1 &
	PIDS+=($!)
	RECV_PID=$!
	wait_for "$out" 'listening' 5
}

test_multicast() {
	local rx=$WORK/mc.rx td=$WORK/mc.td
	start_tcpdump "$td" 1 || { check_fail "tcpdump did not start"; return; }
	start_recv "$rx" -w 30000 || { check_fail "probe recv did not start"; return; }
	check "send a multicast advert from A" in_a "$VRRP_PROBE" send "$IF_A" -p 150 -a "$VIP" >/dev/null
	wait_pid "$RECV_PID" 30
	check "B parses it: every field as sent" grep -Eq \
		"advert src=$ADDR_A dst=224\.0\.0\.18 ttl=255 vrid=51 prio=150 intvl_cs=10 cksum=pseudo addrs=$VIP\$" "$rx"
	wait_pid "$TCPDUMP_PID" 5
	check "tcpdump decodes VRRPv3 with our fields" grep -Eq \
		"$ADDR_A > 224\.0\.0\.18: VRRPv3, Advertisement, vrid 51, prio 150, intvl 10cs, length 12, addrs: $VIP" "$td"
	check "tcpdump: TTL 255, protocol 112" grep -Eq "ttl 255, .*proto VRRP \(112\)" "$td"
	# Not vacuous: the same capture must hold the decoded advert.
	check "tcpdump finds the checksum good" bash -c \
		"grep -q 'VRRPv3, Advertisement' '$td' && ! grep -q 'bad vrrp cksum' '$td'"
}

test_unicast() {
	local rx=$WORK/uc.rx td=$WORK/uc.td
	start_tcpdump "$td" 1 || { check_fail "tcpdump did not start"; return; }
	start_recv "$rx" -u "$ADDR_A" -w 30000 || { check_fail "probe recv did not start"; return; }
	check "send a unicast advert from A to B" \
		in_a "$VRRP_PROBE" send "$IF_A" -p 120 -a "$VIP" -u "$ADDR_B" >/dev/null
	wait_pid "$RECV_PID" 30
	check "B parses the unicast advert (pseudo-header with B's address)" grep -Eq \
		"advert src=$ADDR_A dst=$ADDR_B ttl=255 vrid=51 prio=120 .*cksum=pseudo" "$rx"
	wait_pid "$TCPDUMP_PID" 5
	check "tcpdump decodes it, checksum good" bash -c \
		"grep -Eq '$ADDR_A > $ADDR_B: VRRPv3, Advertisement, vrid 51, prio 120' '$td' && ! grep -q 'bad vrrp cksum' '$td'"
}

test_compat_checksum() {
	local rx=$WORK/plain.rx rx2=$WORK/plain2.rx td=$WORK/plain.td
	start_tcpdump "$td" 1 || { check_fail "tcpdump did not start"; return; }
	start_recv "$rx" -w 30000 || { check_fail "probe recv did not start"; return; }
	in_a "$VRRP_PROBE" send "$IF_A" -p 150 -a "$VIP" -P >/dev/null
	check "RFC receiver drops the compat checksum" wait_for "$rx" "drop src=$ADDR_A .*cause=bad checksum" 10
	stop_recv
	wait_pid "$TCPDUMP_PID" 5
	check "tcpdump also calls it a bad VRRP checksum" grep -q 'bad vrrp cksum' "$td"
	start_recv "$rx2" -P -w 30000 || { check_fail "probe recv did not start"; return; }
	in_a "$VRRP_PROBE" send "$IF_A" -p 150 -a "$VIP" -P >/dev/null
	wait_pid "$RECV_PID" 30
	check "compat receiver accepts it" grep -Eq "advert src=$ADDR_A .*cksum=plain" "$rx2"
}

test_drops() {
	local rx=$WORK/ttl.rx rx2=$WORK/vrid.rx
	start_recv "$rx" -w 30000 || { check_fail "probe recv did not start"; return; }
	check "send an advert with TTL 64" in_a "$VRRP_PROBE" send "$IF_A" -a "$VIP" -T 64 >/dev/null
	check "TTL 64 is dropped on receipt" wait_for "$rx" "drop src=$ADDR_A ttl=64 cause=TTL not 255" 10
	stop_recv
	check "and never parsed as an advert" bash -c \
		"grep -q 'cause=TTL not 255' '$rx' && ! grep -q '^t=[0-9]* advert' '$rx'"
	start_recv "$rx2" -w 30000 || { check_fail "probe recv did not start"; return; }
	in_a "$VRRP_PROBE" send "$IF_A" -v 52 -a "$VIP" >/dev/null
	check "another VRID is dropped" wait_for "$rx2" "drop src=$ADDR_A .*cause=other VRID" 10
	stop_recv
}

# ------------------------------------------------------------ election --

# start_node NS IF PRIO OUT: the state machine on the real socket, 120 s at
# most (the test stops each node itself; the bound only has to outlast the
# test on a loaded machine).
start_node() {
	ip netns exec "$1" "$VRRP_PROBE" node "$2" -p "$3" -a "$VIP" -w 120000 >"$4" 2>&1 &
	PIDS+=($!)
	NODE_PID=$!
}

test_election() {
	local a=$WORK/node_a b=$WORK/node_b a2=$WORK/node_a2 pid_a pid_b t0 t1
	start_node "$NS_A" "$IF_A" 150 "$a"
	pid_a=$NODE_PID
	check "A (priority 150) becomes MASTER" wait_for "$a" 'state BACKUP -> MASTER' 5
	check "A sends a GARP burst and adds the VIP" \
		bash -c "grep -q vip_add '$a' && grep -q garp_burst '$a'"
	# B starts once A leads: started together, both Master_Down timers
	# (341 and 360 ms) can fire before A's first advert reaches B on a
	# loaded machine, and B would lead for a moment (RFC-correct, not what
	# this check is about).
	start_node "$NS_B" "$IF_B" 100 "$b"
	pid_b=$NODE_PID
	check "B (priority 100) starts as BACKUP" wait_for "$b" 'state INIT -> BACKUP' 5
	# An absence, so a window (10 of A's adverts); B's log records any
	# transition in it, so nothing is missed between polls.
	sleep 1
	check "B stays BACKUP while A advertises" bash -c "! grep -q -- '-> MASTER' '$b'"

	kill -TERM "$pid_a"
	check "A releases on SIGTERM (VIP removed)" wait_for "$a" 'vip_remove' 3
	check "B takes over on A's priority-0 advert" \
		wait_for "$b" 'BACKUP -> MASTER \(master released with priority 0' 3
	t0=$(tstamp "$a" 'stopping on signal')
	t1=$(tstamp "$b" 'state BACKUP -> MASTER')
	[ -n "$t0" ] && [ -n "$t1" ] || { check_fail "no time stamps for the SIGTERM failover"; t0=0 t1=999999; }
	# The reason checked above ("master released with priority 0") is what
	# tells Skew_Time from Master_Down_Interval; the time is only logged.
	log "SIGTERM failover: $((t1 - t0)) ms (Skew_Time 60, Master_Down_Interval 360)"
	wait_pid "$pid_a" 3

	start_node "$NS_A" "$IF_A" 150 "$a2"
	pid_a=$NODE_PID
	check "restarted A preempts B" wait_for "$a2" 'state BACKUP -> MASTER' 5
	check "B steps down to BACKUP" wait_for "$b" 'MASTER -> BACKUP \(advert from 198\.18\.0\.21' 3
	kill -KILL "$pid_a"
	check "B takes over after A's kill -9, on silence" \
		wait_for "$b" 'BACKUP -> MASTER \(no advert for 360 ms' 5
	wait_pid "$pid_a" 3
	kill -TERM "$pid_b"
	wait_pid "$pid_b" 3
	check "B became MASTER exactly twice (SIGTERM, kill -9)" \
		[ "$(grep -Ec -- '^t=[0-9]+ state BACKUP -> MASTER' "$b")" -eq 2 ]
}

main() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "test_vrrp_wire.sh: must run as root (network namespaces, raw sockets)" >&2
		echo "0 passed, 1 failed"
		exit 1
	fi
	for p in ip tcpdump gcc timeout; do
		command -v "$p" >/dev/null || { echo "$p is not installed"; echo "0 passed, 1 failed"; exit 1; }
	done
	WORK=$(mktemp -d /tmp/test_vrrp_wire.XXXXXX)
	find_probe || { echo "cannot build vrrp_probe"; echo "0 passed, 1 failed"; exit 1; }
	log "probe: $VRRP_PROBE; namespaces $NS_A, $NS_B"
	setup_lab || { check_fail "lab set-up"; check_summary; exit 1; }

	test_multicast
	test_unicast
	test_compat_checksum
	test_drops
	test_election

	check_summary
}

main "$@"
