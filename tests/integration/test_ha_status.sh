#!/usr/bin/env bash
# test_ha_status.sh - issue #11 item 6: every field of `andromedactl status
# --json` that SPEC.md names, asserted by value on the MASTER and the
# BACKUP, before a failover, after it, and after a preemption back:
#   node, role, priority, vip_held, vips,
#   peers[name, address, priority, role, last_seen_ms],
#   servers[name, address, source, state, inflight, queued, requests, failures],
#   sync[seq, last_snapshot_ms].
# last_seen_ms of a live peer is a liveness property: a MASTER advertises
# every advert interval, a BACKUP says it is alive on its sync session as
# often (MSG_ALIVE), so it stays below 3 intervals plus a margin for a
# loaded machine, is not a constant 0, and does not grow from one read to
# the next a second later.  A dead peer's grows with the time since it died.
set -u
source "$(dirname "$0")/../lib/lab.sh"
source "$(dirname "$0")/../lib/ha.sh"

HA_ADVERT=100ms
ADVERT_MS=100
SEEN_MAX=$((3 * ADVERT_MS + 700))  # 3 advert intervals + margin (ms)
SNAP_MAX=$((1000 + 700))           # the sync interval (1 s) + margin (ms)
VIPS='["198.18.0.10/24"]'

ha_setup 2 2
LB1=$(ha_lb_ip 1) LB2=$(ha_lb_ip 2)

st() { ha_ctl "$1" status --json; }
# head_of JSON: the node's own fields, canonical.
head_of() { jq -c '{node, role, priority, vip_held, vips}' <<<"$1"; }
peers_of() { jq -c '[.peers[] | {name, address, priority, role}] | sort_by(.name)' <<<"$1"; }
servers_of() {
	jq -c '[.servers[] | {name, address, source, state, inflight, queued, requests, failures}] | sort_by(.name)' <<<"$1"
}
expect_head() { # NODE-INDEX ROLE PRIORITY VIP_HELD
	printf '{"node":"lb%s","role":"%s","priority":%s,"vip_held":%s,"vips":%s}' "$1" "$2" "$3" "$4" "$VIPS"
}
expect_peer() { # NAME ADDRESS PRIORITY ROLE
	printf '[{"name":"%s","address":"%s","priority":%s,"role":"%s"}]' "$@"
}
# expect_servers R1 R2: be1 and be2, static, up, idle, with these requests.
expect_servers() {
	printf '[{"name":"be1","address":"%s:80","source":"static","state":"up","inflight":0,"queued":0,"requests":%s,"failures":0},' \
		"$(lab_be_ip 1)" "$1"
	printf '{"name":"be2","address":"%s:80","source":"static","state":"up","inflight":0,"queued":0,"requests":%s,"failures":0}]' \
		"$(lab_be_ip 2)" "$2"
}
# get N: N GETs through the VIP, each answered.
get() {
	local i ok=0
	for ((i = 0; i < $1; i++)); do
		lab_exec client curl -sf --max-time 2 -o /dev/null "http://$HA_VIP/" && ok=$((ok + 1))
	done
	((ok == $1))
}
servers_are() { [[ "$(servers_of "$(st "$1")")" == "$(expect_servers "$2" "$3")" ]]; }
seq_of() { st "$1" | jq -r .sync.seq; }
same_seq() { [[ "$(seq_of 1)" == "$(seq_of 2)" && "$(seq_of 1)" =~ ^[1-9][0-9]*$ ]]; }
peer_is() { [[ "$(peers_of "$(st "$1")")" == "$2" ]]; }

# check_live_peer NODE PEER-NAME: three reads, a second apart between the
# first two: each within [0, SEEN_MAX], not all 0.
check_live_peer() {
	local a b c q=".peers[] | select(.name == \"$2\") | .last_seen_ms"
	a=$(st "$1" | jq -r "$q")
	sleep 1
	b=$(st "$1" | jq -r "$q")
	c=$(st "$1" | jq -r "$q")
	echo "# lb$1 sees $2: last_seen_ms $a, 1 s later $b, then $c"
	check_ge "lb$1: $2's last_seen_ms is a time" "$a" 0
	check_le "lb$1: $2's last_seen_ms below 3 advert intervals + margin" "$a" "$SEEN_MAX"
	check_le "lb$1: ... and a second later still (not growing)" "$b" "$SEEN_MAX"
	check_le "lb$1: ... and once more" "$c" "$SEEN_MAX"
	check "lb$1: $2's last_seen_ms is measured, not a constant 0" test "$a$b$c" != 000
}
# check_snapshot_age NODE: sync.last_snapshot_ms within the sync interval, twice.
check_snapshot_age() {
	local a b
	a=$(st "$1" | jq -r .sync.last_snapshot_ms)
	sleep 1
	b=$(st "$1" | jq -r .sync.last_snapshot_ms)
	check_ge "lb$1: sync.last_snapshot_ms is a time" "$a" 0
	check_le "lb$1: sync.last_snapshot_ms within the sync interval + margin" "$a" "$SNAP_MAX"
	check_le "lb$1: ... and a second later still" "$b" "$SNAP_MAX"
}
# check_pair MASTER BACKUP R1 R2: both nodes, every field.
check_pair() {
	local m=$1 b=$2 pm pb sm sb
	pm=$([[ $m == 1 ]] && echo 150 || echo 100)
	pb=$([[ $b == 1 ]] && echo 150 || echo 100)
	check "lb$m and lb$b have the same sync.seq (> 0)" lab_wait_for 3 same_seq
	sm=$(st "$m") sb=$(st "$b")
	check_eq "lb$m: node, role, priority, vip_held, vips" "$(expect_head "$m" MASTER "$pm" true)" "$(head_of "$sm")"
	check_eq "lb$b: node, role, priority, vip_held, vips" "$(expect_head "$b" BACKUP "$pb" false)" "$(head_of "$sb")"
	check "lb$m lists lb$b: name, address, priority, role" \
		lab_wait_for 3 peer_is "$m" "$(expect_peer "lb$b" "$(ha_lb_ip "$b")" "$pb" BACKUP)"
	check_eq "lb$b lists lb$m: name, address, priority, role" \
		"$(expect_peer "lb$m" "$(ha_lb_ip "$m")" "$pm" MASTER)" "$(peers_of "$sb")"
	check_live_peer "$m" "lb$b"
	check_live_peer "$b" "lb$m"
	check_eq "lb$m: servers, every field" "$(expect_servers "$3" "$4")" "$(servers_of "$sm")"
	# The BACKUP's counters come with the MASTER's next snapshot (1 s).
	check "lb$b: servers, every field (replicated)" lab_wait_for 3 servers_are "$b" "$3" "$4"
	check_snapshot_age "$m"
	check_snapshot_age "$b"
}

# --- before any failover: lb1 MASTER, lb2 BACKUP -----------------------------
require "lb1 starts" ha_start 1 150
require "lb1 is MASTER" ha_wait_role 1 MASTER 3
require "lb2 starts" ha_start 2 100
require "lb2 is BACKUP" ha_wait_role 2 BACKUP 3
require "both servers up on lb1" lab_wait_for 5 servers_are 1 0 0
check "6 GETs through the VIP are answered" get 6
check_pair 1 2 3 3
seq0=$(seq_of 1)

# --- failover: lb1 killed, lb2 MASTER alone ---------------------------------
lab_kill lb1 KILL # returns once lb1 is reaped: no advert after this
t_kill=$(now_ms)
require "lb2 takes over" ha_wait_role 2 MASTER 3
age=$(($(now_ms) - t_kill)) # at least this long since lb1's last advert
s2=$(st 2)
check_eq "lb2: node, role, priority, vip_held, vips" "$(expect_head 2 MASTER 100 true)" "$(head_of "$s2")"
check_eq "lb2 lists the dead lb1 as silent" "$(expect_peer lb1 "$LB1" 150 silent)" "$(peers_of "$s2")"
q='.peers[] | select(.name == "lb1") | .last_seen_ms'
a=$(jq -r "$q" <<<"$s2")
sleep 1
b=$(st 2 | jq -r "$q")
echo "# lb2 sees the dead lb1: last_seen_ms $a (killed $age ms before), 1 s later $b"
check_ge "lb2: the dead lb1's last_seen_ms counts from its last advert" "$a" $((age - 50))
check_ge "lb2: ... and grows with time" "$b" $((a + 950))
seq1=$(seq_of 2)
check_ge "lb2's sync.seq moved on from lb1's ($seq0) when it took over" "$seq1" $((seq0 + 1))
check "lb2: servers, every field (lb1's counters, replicated)" servers_are 2 3 3
check "4 GETs through the VIP are answered (by lb2)" get 4
check "lb2 counts them" servers_are 2 5 5
check_snapshot_age 2

# --- preemption back: lb1 restarts, takes lb2's state, then the VIP ---------
lab_wait_gone lb1 2
require "lb1 restarts" ha_start 1 150
require "lb1 preempts lb2" ha_wait_role 1 MASTER 5
require "lb2 steps down to BACKUP" ha_wait_role 2 BACKUP 3
check "4 GETs through the VIP are answered (by lb1)" get 4
check_pair 1 2 7 7
check_ge "lb1's sync.seq moved on again" "$(seq_of 1)" $((seq1 + 1))

for i in 1 2; do
	lab_stop "lb$i" 10
	check_eq "lb$i exits 0 on SIGTERM" 0 "$?"
	check "no sanitizer report from lb$i" lab_no_sanitizer_report "$LAB_DIR/lb$i.log"
done
lab_finish
