#!/usr/bin/env bash
# test_sync_bye.sh - issue 11 item 7: a live MASTER that closes a BACKUP's
# sync session on purpose (slow reader, protocol error, eviction) says why
# with MSG_BYE, and the BACKUP neither takes over nor moves the VIP; it
# reconnects.  Controls: a session closed without a BYE (what a crashed
# MASTER's kernel does) and a BYE "shutdown" (the MASTER is leaving) still
# make it act as on a priority-0 advert (the crash detector).
#
# A real MASTER only writes answers to snapshot requests on a session, so a
# real BACKUP cannot be made a slow reader without freezing its VRRP too;
# the MASTER here is scripted instead: lb1 runs the VRRP election with
# vrrp_probe (priority 200, adverts every 100 ms, it never stops) and the
# sync sessions with sync_peer (HELLO exchange, then one action per
# session).  lb2 is a real andromeda, priority 100.
set -u
source "$(dirname "$0")/../lib/lab.sh"
source "$(dirname "$0")/../lib/ha.sh"

ha_setup 2 1
VRRP_PROBE=$BUILD_DIR/tests/vrrp_probe
SYNC_PEER=$BUILD_DIR/tests/sync_peer
require "vrrp_probe and sync_peer are built" test -x "$VRRP_PROBE" -a -x "$SYNC_PEER"

st() { ha_ctl 2 status --json; }
sync_field() { st | jq -r ".sync.$1"; }
vip_added() { ha_ctl 2 journal --json | jq '[.[] | select(.event == "vip-added")] | length'; }
# peer NAME ACTION...: the scripted MASTER's sync side on lb1, in the background.
peer() {
	lab_spawn lb1 "$1" "$SYNC_PEER" "$LAB_DIR/cluster.key" "$LAB_DIR/peer.epoch" 7788 5000 "${@:2}"
	PEER_PID=$LAB_SPAWNED_PID
	lab_wait_for 3 grep -q '^listening$' "$LAB_DIR/$1.log"
}

lab_spawn lb1 vrrp "$VRRP_PROBE" node eth0 -p 200 -i 100 -a "$HA_VIP" -w 120000
require "the scripted MASTER (lb1) wins the election" lab_wait_for 3 grep -q 'state BACKUP -> MASTER' \
	"$LAB_DIR/vrrp.log"

# lb1's adverts come from vrrp_probe, a VRRP speaker without the key, and
# sync_peer numbers the sessions it serves: with the default interop = no,
# lb2 would open a probe session to lb1 to see it prove the key (issue
# 20), which would take the first scripted action.  interop = yes: the
# election as RFC 5798 has it, the sessions as before.
# shellcheck disable=SC2034 # read by ha_conf (tests/lib/ha.sh)
HA_EXTRA='interop = yes'

# --- BYEs: the BACKUP stays BACKUP, the VIP does not move --------------------------
require "sync_peer listens on lb1" peer bye1 bye:slow_reader bye:protocol_error bye:evicted
require "lb2 starts" ha_start 2 100
check "lb2 is BACKUP" ha_wait_role 2 BACKUP 3
# Each session: HELLO both ways, the BACKUP's snapshot request (it proved
# lb1), a BYE, the BACKUP's close.  Session 2 and 3 are lb2 reconnecting.
check "three sessions ended by a BYE, each closed by lb2" lab_wait_for 10 grep -q '^session 3 bye evicted eof$' \
	"$LAB_DIR/bye1.log"
lab_wait_gone bye1 3
wait "$PEER_PID"
check_eq "sync_peer exits 0" 0 "$?"
# lb2 decided crash or not when it closed each session, before its EOF
# reached sync_peer: the counters below are final.
check_eq "lb2 counted the three BYEs" 3 "$(sync_field byes_received)"
check_eq "lb2 saw no MASTER lost (crash detector not fired)" 0 "$(sync_field master_lost)"
check "lb2 is still BACKUP" ha_role_is 2 BACKUP
check "lb2 never armed a takeover" bash -c "! grep -q 'taking over' '$LAB_DIR/lb2.log'"
check "lb2 never became MASTER" bash -c "! grep -q -- '-> MASTER' '$LAB_DIR/lb2.log'"
check_eq "lb2 never added the VIP (journal)" 0 "$(vip_added)"
check "lb2 does not hold the VIP" bash -c "! ip netns exec $(lab_ns lb2) ip -4 -o addr show dev eth0 | grep -q ' $HA_VIP/'"
for why in slow_reader protocol_error evicted; do
	check "lb2 logged the reason: $why" grep -q "closes our session: $why" "$LAB_DIR/lb2.log"
done

# --- controls: no BYE (a crash), then BYE shutdown (leaving) ------------------------
# After each takeover lb1's next advert (priority 200) sends lb2 back to
# BACKUP, and lb2 reconnects: session 3 is held until lb2 stops.
require "sync_peer listens again" peer ctl close bye:shutdown hold
check "a session closed without a BYE" lab_wait_for 10 grep -q '^session 1 closed$' "$LAB_DIR/ctl.log"
check "lb2 reconnects after it, then gets a BYE shutdown" lab_wait_for 10 grep -q '^session 2 bye shutdown eof$' \
	"$LAB_DIR/ctl.log"
check "lb2 reconnects again" lab_wait_for 10 grep -q '^session 3 proven$' "$LAB_DIR/ctl.log"
check_eq "lb2 took both as the MASTER lost" 2 "$(sync_field master_lost)"
check_eq "lb2 counted the BYE shutdown" 4 "$(sync_field byes_received)"
# The decision is the mechanism under test: whether lb2 then really holds
# the VIP depends on whether lb1's next advert (every 100 ms) comes before
# lb2's Skew_Time (60 ms) runs out, as RFC 5798 says for priority 0.
check_eq "lb2 armed the takeover both times (Master_Down_Timer = Skew_Time)" 2 \
	"$(grep -c 'closed by its kernel: taking over as after priority 0' "$LAB_DIR/lb2.log")"
check "lb2 is BACKUP again (lb1 advertises 200)" ha_wait_role 2 BACKUP 3

lab_stop lb2 10
check_eq "lb2 exits 0 on SIGTERM" 0 "$?"
check "sync_peer saw lb2 close the held session" lab_wait_for 3 grep -q '^session 3 peer closed$' "$LAB_DIR/ctl.log"
lab_wait_gone ctl 3
wait "$PEER_PID"
check_eq "sync_peer exits 0" 0 "$?"
check "no sanitizer report from lb2" lab_no_sanitizer_report "$LAB_DIR/lb2.log"
lab_stop vrrp 5 >/dev/null
lab_finish
