#!/usr/bin/env bash
# test_netlink.sh - the kernel side of HA (netlink/vip, netlink/garp,
# netlink/kwatch) against a real kernel, through tests/tools/nl_probe.
#
# Run as root.  ctest sets BUILD_DIR and SRC_DIR; standalone the defaults
# are the source tree this script is in and its build/ directory:
#
#   sudo bash tests/integration/test_netlink.sh
#
# The lab: two network namespaces of our own joined by a veth pair, names
# unique per run ($$), addresses only in 198.18.0.0/15:
#
#   ns A  IF_A 198.18.0.21/24 (+ the VIP 198.18.0.10/24)  <-veth->  IF_B 198.18.0.20/24  ns B
#
# nl_probe is $NL_PROBE, else $BUILD_DIR/tests/nl_probe, else built here
# with gcc (NL_PROBE_CFLAGS adds flags, e.g. the sanitizers).  Every check
# asserts; a trap tears down everything this run created (its namespaces,
# and only the PIDs it started) on any exit; the last line is
# "N passed, M failed" and the exit status is non-zero on any failure.
set -u

SRC_DIR=${SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD_DIR=${BUILD_DIR:-$SRC_DIR/build}
# check, check_fail, check_summary: the shared assertions.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/check.sh"

TAG=$$
NS_A=andr-nl-a-$TAG
NS_B=andr-nl-b-$TAG
IF_A=nla$TAG
IF_B=nlb$TAG
IF_L=$(printf 'nll%sxxxxxxxxxxx' "$TAG" | cut -c1-13) # 13 bytes: label truncated
IF_L2=nlp$TAG
VIP=198.18.0.10
VIP_LEN=24
BASE_A=198.18.0.21
PEER_B=198.18.0.20
FAKE_MAC=02:00:00:00:00:01

PIDS=()
NAMESPACES=()
WORK=

log() { printf '[netlink %s] %s\n' "$(date +%T.%3N)" "$*" >&2; }

teardown() {
	local pid ns
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	for ns in "${NAMESPACES[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "$WORK" ] && rm -rf "$WORK"
}
trap teardown EXIT
trap 'exit 130' INT TERM

# wait_for FILE REGEX [SECONDS]: poll with a deadline instead of sleeping.
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

in_a() { ip netns exec "$NS_A" "$@"; }
in_b() { ip netns exec "$NS_B" "$@"; }
probe() { in_a "$NL_PROBE" "$@"; }
quiet() { "$@" >/dev/null; }

# ------------------------------------------------------------------ setup --

find_probe() {
	NL_PROBE=${NL_PROBE:-}
	[ -n "$NL_PROBE" ] && return 0
	if [ -x "$BUILD_DIR/tests/nl_probe" ]; then
		NL_PROBE=$BUILD_DIR/tests/nl_probe
		return 0
	fi
	NL_PROBE=$WORK/nl_probe
	log "building nl_probe by hand into $NL_PROBE"
	(cd "$SRC_DIR" && gcc -std=c17 -O2 -g -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
		-Wno-unused-parameter -D_GNU_SOURCE -Icore/lib -Inetlink ${NL_PROBE_CFLAGS:-} \
		$(pkg-config --cflags libnl-route-3.0 libmnl) \
		tests/tools/nl_probe.c netlink/vip.c netlink/garp.c netlink/kwatch.c \
		core/lib/loop.c core/lib/log.c \
		$(pkg-config --libs libnl-route-3.0 libmnl) -o "$NL_PROBE")
}

setup_lab() {
	ip netns add "$NS_A" && NAMESPACES+=("$NS_A") || return 1
	ip netns add "$NS_B" && NAMESPACES+=("$NS_B") || return 1
	ip -n "$NS_A" link add "$IF_A" type veth peer name "$IF_B" netns "$NS_B" || return 1
	ip -n "$NS_A" link add "$IF_L" type veth peer name "$IF_L2" || return 1
	ip -n "$NS_A" addr add "$BASE_A/24" dev "$IF_A" || return 1
	ip -n "$NS_B" addr add "$PEER_B/24" dev "$IF_B" || return 1
	for l in lo "$IF_A" "$IF_L" "$IF_L2"; do ip -n "$NS_A" link set "$l" up || return 1; done
	for l in lo "$IF_B"; do ip -n "$NS_B" link set "$l" up || return 1; done
}

# ------------------------------------------------------------------- vip --

# vip_lines [IF]: the inet lines of IF in ns A that carry the VIP.
vip_lines() { ip -n "$NS_A" -4 addr show dev "${1:-$IF_A}" | grep -E "inet $VIP/" ; }
vip_count() { vip_lines "$@" | wc -l; }

test_vip() {
	local out
	out=$(probe vip label "$IF_A")
	check "label is <ifname>:andr" [ "$out" = "label $IF_A:andr" ]

	out=$(probe vip add "$IF_A" "$VIP/$VIP_LEN")
	check "vip add succeeds" [ $? -eq 0 ]
	log "$out"
	check "ip addr lists the VIP with the andromeda label" \
		grep -Eq "inet $VIP/$VIP_LEN .* $IF_A:andr\$" <(vip_lines)
	check "vip present says present" [ "$(probe vip present "$IF_A" "$VIP/$VIP_LEN")" = present ]
	check "vip present is exact on the prefix" \
		[ "$(probe vip present "$IF_A" "$VIP/25")" = absent ]
	if command -v ping >/dev/null; then
		check "peer reaches the VIP" in_b ping -c 1 -W 2 -q "$VIP" >/dev/null
	else
		log "ping not installed: reachability of the VIP not checked (not counted)"
	fi

	check "vip add again succeeds (idempotent)" quiet probe vip add "$IF_A" "$VIP/$VIP_LEN"
	check "the VIP is listed once" [ "$(vip_count)" -eq 1 ]

	check "vip del with another prefix succeeds" quiet probe vip del "$IF_A" "$VIP/32"
	check "... and leaves the VIP alone" [ "$(vip_count)" -eq 1 ]

	check "vip del succeeds" quiet probe vip del "$IF_A" "$VIP/$VIP_LEN"
	check "the VIP is gone from ip addr" [ "$(vip_count)" -eq 0 ]
	check "vip present says absent" [ "$(probe vip present "$IF_A" "$VIP/$VIP_LEN")" = absent ]
	check "the interface's own address stays" \
		grep -q "inet $BASE_A/24" <(ip -n "$NS_A" -4 addr show dev "$IF_A")
	check "vip del again succeeds (idempotent)" quiet probe vip del "$IF_A" "$VIP/$VIP_LEN"
}

test_vip_stale() {
	# What a crashed earlier run leaves behind: the VIP, maybe unlabelled.
	ip -n "$NS_A" addr add "$VIP/$VIP_LEN" dev "$IF_A"
	check "stale VIP is removed at start-up" \
		[ "$(probe vip stale "$IF_A" "$VIP/$VIP_LEN")" = "removed stale" ]
	check "... and is gone" [ "$(vip_count)" -eq 0 ]
	check "no stale VIP: nothing to remove" \
		[ "$(probe vip stale "$IF_A" "$VIP/$VIP_LEN")" = "no stale" ]
	ip -n "$NS_A" addr add "$VIP/28" dev "$IF_A" label "$IF_A:x"
	check "a different prefix is not taken for the stale VIP" \
		[ "$(probe vip stale "$IF_A" "$VIP/$VIP_LEN")" = "no stale" ]
	ip -n "$NS_A" addr del "$VIP/28" dev "$IF_A"
}

test_vip_errors() {
	local err=$WORK/vip_err
	probe vip add nosuch0 "$VIP/$VIP_LEN" 2>"$err" >/dev/null
	check "vip add on a missing interface fails" [ $? -ne 0 ]
	check "... logging the interface and the netlink error" \
		grep -q "nosuch0.*No such device" "$err"
	probe vip add "$IF_A" 198.18.0.1/33 >/dev/null 2>&1
	check "a prefix over 32 is refused" [ $? -ne 0 ]
}

test_vip_long_name() {
	local want
	want=$(printf '%s:andr' "$IF_L" | cut -c1-15)
	check "long interface name: label truncated to 15 bytes" \
		[ "$(probe vip label "$IF_L")" = "label $want" ]
	probe vip add "$IF_L" "$VIP/32" >/dev/null
	check "ip addr shows the truncated label" grep -Eq " $want\$" <(vip_lines "$IF_L")
	probe vip del "$IF_L" "$VIP/32" >/dev/null
	check "... and it is removed" [ "$(vip_count "$IF_L")" -eq 0 ]
}

test_vip_timing() {
	local out median
	out=$(probe vip bench "$IF_A" "$VIP/$VIP_LEN" 200 2>/dev/null)
	log "vip_add on an open socket: $out"
	median=$(sed -n 's/.* median \([0-9]*\) us.*/\1/p' <<<"$out")
	check "200 add/remove cycles complete" [ -n "$median" ]
	# How fast is for a bench (logged above); a speed bound here would only
	# measure how loaded the machine is.
	check "bench leaves no VIP behind" [ "$(vip_count)" -eq 0 ]
}

# ------------------------------------------------------------------ garp --

mac_of() { ip -n "$1" -o link show dev "$2" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'; }
neigh_mac() { ip -n "$NS_B" neigh show "$VIP" dev "$IF_B" | sed -n 's/.*lladdr \([0-9a-f:]*\).*/\1/p'; }

# A client that learnt the VIP at another (dead) node's MAC.
seed_neigh() { ip -n "$NS_B" neigh replace "$VIP" lladdr "$FAKE_MAC" dev "$IF_B" nud stale; }

test_garp_burst() {
	local mac out cap=$WORK/tcpdump.txt pid sent after rounds nreq nrep ngaps
	mac=$(mac_of "$NS_A" "$IF_A")
	seed_neigh
	check "peer starts with the wrong MAC for the VIP" [ "$(neigh_mac)" = "$FAKE_MAC" ]
	probe vip add "$IF_A" "$VIP/$VIP_LEN" >/dev/null

	# Not through in_b: a backgrounded function would be a subshell, and $!
	# its pid rather than tcpdump's.
	ip netns exec "$NS_B" tcpdump -l -n -e -tt -i "$IF_B" arp >"$cap" 2>"$cap.err" &
	pid=$!
	PIDS+=("$pid")
	wait_for "$cap.err" "listening on" 5 || { check_fail "tcpdump starts"; return; }

	# Burst of 3 rounds 50 ms apart, then a refresh every 200 ms: stopped
	# after 6 rounds (3 refreshes; 10 s at most), then 400 ms more to prove
	# that nothing follows.  A count, not a span of time: a loaded machine
	# sends the same frames, later.
	out=$(probe garp "$IF_A" "$VIP" -c 3 -i 50 -r 200 -R -n 6 -t 10000 -q 400)
	log "$(tr '\n' ' ' <<<"$out")"
	check "probe reports the interface MAC" grep -qx "mac $mac" <<<"$out"
	sent=$(sed -n 's/^stopped running 0 sent \([0-9]*\) rounds.*/\1/p' <<<"$out")
	rounds=$(sed -n 's/.* rounds \([0-9]*\) errors 0$/\1/p' <<<"$out")
	after=$(sed -n 's/^after stop sent \([0-9]*\)$/\1/p' <<<"$out")
	check "scheduler stopped without errors" [ -n "$sent" -a -n "$rounds" ]
	check "burst then refresh: stopped after 6 rounds" [ "${rounds:-0}" -eq 6 ]
	check "request + reply per round" [ "${sent:-0}" -eq $((2 * ${rounds:-0})) ]
	check "nothing is sent after garp_stop" [ "${after:-x}" = "${sent:-y}" ]

	# tcpdump line-buffers: wait for the last frames to land.
	wait_for_count "$cap" "Reply $VIP is-at" "${rounds:-1}"
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	nreq=$(grep -c "$mac > ff:ff:ff:ff:ff:ff, ethertype ARP .* Request who-has $VIP tell $VIP," "$cap")
	nrep=$(grep -c "$mac > ff:ff:ff:ff:ff:ff, ethertype ARP .* Reply $VIP is-at $mac," "$cap")
	check "peer captured one broadcast announcement per round ($nreq)" [ "$nreq" -eq "${rounds:-0}" ]
	check "peer captured one broadcast reply per round ($nrep)" [ "$nrep" -eq "${rounds:-0}" ]
	# Spacing, from the capture's kernel time stamps: a timer can fire late
	# on a loaded machine, never early, so only lower bounds are properties:
	# the burst rounds are 50 ms apart (not back to back), the refreshes 200
	# ms (not at the burst's pace).
	gaps=$(grep "Request who-has $VIP tell $VIP" "$cap" |
		awk '{ if (NR > 1) printf "%d ", ($1 - p) * 1000; p = $1 }')
	log "request gaps (ms): $gaps"
	check "burst frames are at least ~50 ms apart ($gaps)" \
		awk -v g="$gaps" 'BEGIN { n = split(g, a, " "); exit !(n == 5 && a[1] >= 30 && a[2] >= 30) }'
	check "refresh frames are at least ~200 ms apart ($gaps)" \
		awk -v g="$gaps" 'BEGIN { n = split(g, a, " "); exit !(n == 5 && a[3] >= 150 && a[4] >= 150 && a[5] >= 150) }'
	check "peer's neighbour entry now has the sender MAC" [ "$(neigh_mac)" = "$mac" ]
}

test_garp_request_only() {
	local mac
	mac=$(mac_of "$NS_A" "$IF_A")
	seed_neigh
	probe garp "$IF_A" "$VIP" -c 1 -r 0 -t 100 >/dev/null
	check "one RFC 5227 announcement (no reply form) updates the peer" \
		[ "$(neigh_mac)" = "$mac" ]
	probe garp "$IF_L" 198.18.0.1 -c 1 -t 10 >/dev/null 2>&1
	check "garp on another interface works too (sanity)" [ $? -eq 0 ]
	probe garp lo 198.18.0.1 -c 1 -t 10 >/dev/null 2>"$WORK/garp_lo.err"
	check "garp refuses a non-Ethernet interface" [ $? -ne 0 ]
	probe vip del "$IF_A" "$VIP/$VIP_LEN" >/dev/null
}

# ---------------------------------------------------------------- kwatch --

start_watch() { # file args...
	local file=$1
	shift
	ip netns exec "$NS_A" "$NL_PROBE" watch "$@" >"$file" 2>&1 &
	WATCH_PID=$!
	PIDS+=("$WATCH_PID")
	wait_for "$file" "^ready$" 5
}

stop_watch() {
	kill -TERM "$WATCH_PID" 2>/dev/null
	wait "$WATCH_PID"
}

test_kwatch() {
	local w=$WORK/watch.txt idx st
	start_watch "$w" "$IF_A" -t 20000 || { check_fail "watcher starts"; return; }
	idx=$(in_a cat "/sys/class/net/$IF_A/ifindex")
	check "initial link state is read at start (carrier up)" \
		grep -q "^initial link $IF_A index $idx carrier up (up)" "$w"

	ip -n "$NS_B" link set "$IF_B" down
	check "peer down: carrier down event" \
		wait_for "$w" "^event link $IF_A index $idx carrier down \(no carrier\)"
	ip -n "$NS_B" link set "$IF_B" up
	check "peer up: carrier up event" \
		wait_for "$w" "^event link $IF_A index $idx carrier up \(up\)"
	ip -n "$NS_A" link set "$IF_A" down
	check "interface down: carrier down (admin down)" \
		wait_for "$w" "carrier down \(admin down\)"
	ip -n "$NS_A" link set "$IF_A" up
	check "interface up again: second carrier up event" \
		wait_for_count "$w" "^event link $IF_A index $idx carrier up \(up\)" 2

	probe vip add "$IF_A" "$VIP/$VIP_LEN" >/dev/null
	check "address added event with the label" \
		wait_for "$w" "^event addr added $VIP/$VIP_LEN index $idx label $IF_A:andr\$"
	ip -n "$NS_A" addr add 198.18.0.77/32 dev "$IF_L"
	ip -n "$NS_A" addr del "$VIP/$VIP_LEN" dev "$IF_A"
	check "ip addr del: address removed event" \
		wait_for "$w" "^event addr removed $VIP/$VIP_LEN index $idx"
	check "addresses of other interfaces are not reported" \
		not_grep "198\.18\.0\.77" "$w"
	ip -n "$NS_A" addr del 198.18.0.77/32 dev "$IF_L"

	stop_watch
	st=$?
	check "watcher exits cleanly on SIGTERM" [ "$st" -eq 0 ]
	check "no malformed or unexpected message" grep -Eq "^stats .* bad 0$" "$w"
}

wait_for_count() { # file regex count
	local i
	for ((i = 0; i < 60; i++)); do
		[ "$(grep -Ec -- "$2" "$1")" -ge "$3" ] && return 0
		sleep 0.05
	done
	return 1
}

not_grep() { ! grep -Eq -- "$1" "$2"; }

test_kwatch_overrun() {
	local w=$WORK/watch_overrun.txt i
	# A 1-byte request gets the kernel's minimum buffer; while the probe
	# stalls, 40 address changes and a carrier loss overflow it.  It stalls
	# until we have made them all (-S: a file, not a span of time, which 41
	# runs of ip(8) can outlast on a loaded machine).
	rm -f "$WORK/go"
	start_watch "$w" "$IF_A" -b 1 -S "$WORK/go" -t 20000 || { check_fail "overrun watcher starts"; return; }
	for i in $(seq 1 40); do ip -n "$NS_A" addr add "198.18.1.$i/24" dev "$IF_A"; done
	ip -n "$NS_B" link set "$IF_B" down
	touch "$WORK/go"
	check "overrun: the owner is told to resync" wait_for "$w" "^event resync$" 6
	check "overrun: carrier loss recovered by the dump" \
		wait_for "$w" "^event link $IF_A .* carrier down \(no carrier\)" 3
	stop_watch
	check "overrun counted" grep -Eq "^stats .* overruns [1-9][0-9]* dumps [2-9]" "$w"
	ip -n "$NS_B" link set "$IF_B" up
	# Deleting the subnet's primary takes its secondaries along: flush.
	ip -n "$NS_A" addr flush dev "$IF_A" to 198.18.1.0/24
	check "overrun test addresses cleaned up" \
		not_grep "198\.18\.1\." <(ip -n "$NS_A" -4 addr show dev "$IF_A")
}

test_kwatch_recreate() {
	local w=$WORK/watch_recreate.txt
	start_watch "$w" "$IF_L" -t 10000 || { check_fail "recreate watcher starts"; return; }
	ip -n "$NS_A" link del "$IF_L"
	check "deleted interface: carrier down event" \
		wait_for "$w" "^event link $IF_L index 0 carrier down \(interface deleted\)"
	ip -n "$NS_A" link add "$IF_L" type veth peer name "$IF_L2"
	ip -n "$NS_A" link set "$IF_L" up
	ip -n "$NS_A" link set "$IF_L2" up
	check "re-created interface is adopted by name, carrier up" \
		wait_for "$w" "^event link $IF_L index [1-9][0-9]* carrier up \(up\)"
	stop_watch
}

# ------------------------------------------------------------------- main --

main() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "test_netlink.sh: must run as root (network namespaces)" >&2
		echo "0 passed, 1 failed"
		exit 1
	fi
	WORK=$(mktemp -d /tmp/test_netlink.XXXXXX)
	find_probe || { echo "cannot build nl_probe"; echo "0 passed, 1 failed"; exit 1; }
	log "probe: $NL_PROBE; namespaces $NS_A, $NS_B"
	setup_lab || { check_fail "lab set-up"; check_summary; exit 1; }

	test_vip
	test_vip_stale
	test_vip_errors
	test_vip_long_name
	test_vip_timing
	if command -v tcpdump >/dev/null; then
		test_garp_burst
	else
		check_fail "tcpdump is not installed: cannot observe the gratuitous ARP"
	fi
	test_garp_request_only
	test_kwatch
	test_kwatch_overrun
	test_kwatch_recreate

	check_summary
}

main "$@"
