#!/usr/bin/env bash
# test_ha_failover.sh - issue #3: three balancers (priorities 150/100/50)
# share a VIP; kill -9, preemption, graceful SIGTERM, carrier loss, a
# partition and a stale VIP, each checked from a client probing the VIP.
set -u
source "$(dirname "$0")/../lib/lab.sh"
source "$(dirname "$0")/../lib/ha.sh"

ha_setup 3 2
require "lb1 starts" ha_start 1 150
require "lb2 starts" ha_start 2 100
require "lb3 starts" ha_start 3 50

# --- election ------------------------------------------------------------
check "lb1 (priority 150) becomes MASTER" ha_wait_role 1 MASTER 3
check "lb2 is BACKUP" ha_wait_role 2 BACKUP 2
check "lb3 is BACKUP" ha_wait_role 3 BACKUP 2
check_eq "exactly one MASTER" "lb1" "$(ha_masters 3)"
check_eq "only the MASTER holds the VIP" "lb1" "$(ha_vip_holders 3)"
check "ip addr labels the VIP as andromeda's" \
	bash -c "ip -n $(lab_ns lb1) -4 -o addr show dev eth0 | grep -q 'eth0:andr'"
# Backups are silent in VRRP: they hear the MASTER; the MASTER knows its
# backups from their sync sessions.
peers_of() { ha_ctl "$1" peers --json | jq -r '[.[] | "\(.name) \(.address) \(.role) \(.priority)"] | sort | join(",")'; }
lists_backups() { [[ "$(peers_of 1)" == "lb2 198.18.0.12 BACKUP 100,lb3 198.18.0.13 BACKUP 50" ]]; }
check "lb1 lists its two backups by name" lab_wait_for 3 lists_backups
check_eq "lb2 lists lb1 as the MASTER peer, by name" "lb1 198.18.0.11 MASTER 150" "$(peers_of 2)"
check "the VIP serves through lb1" lab_exec client curl -sf --max-time 2 -o /dev/null "http://$HA_VIP/"

ha_probe_start 10 500
check "probe sees lb1" ha_wait_served_by lb1 3

# --- kill -9 of the MASTER: the next one takes over ------------------------
t_kill=$(now_ms)
lab_kill lb1 KILL
check "lb2 takes over after kill -9 of lb1" ha_wait_role 2 MASTER 3
check "clients are served by lb2" ha_wait_served_by lb2 3
ms=$(ha_takeover_ms "$t_kill" lb2)
echo "# kill -9 lb1 -> first success via lb2: ${ms:-none} ms ($(ha_failed_since "$t_kill") failed probes)"
# How fast is the bench's business (bench/); here: which mechanism.  lb2
# follows lb1 through a sync session, which lb1's kernel resets.
takeover_is() { [[ "$(ha_last_takeover "$1")" == $2 ]]; }
check "lb2 took over on the crash detector ($(ha_last_takeover 2))" \
	takeover_is 2 'master lost (sync session reset)*'
check_eq "the client's neighbour entry for the VIP holds lb2's MAC" "$(ha_mac 2)" "$(ha_client_vip_mac)"
check "lb3 stays BACKUP" ha_role_is 3 BACKUP

# --- and the next: lb3 ---------------------------------------------------
# lb3 must have opened its session to the new MASTER for its crash detector
# to have anything to see.
session_up() { [[ "$(ha_ctl "$1" status --json | jq -r .sync.session_up)" == true ]]; }
check "lb3 follows lb2 through a sync session" lab_wait_for 3 session_up 3
t_kill=$(now_ms)
lab_kill lb2 KILL
check "lb3 takes over after kill -9 of lb2" ha_wait_role 3 MASTER 3
check "clients are served by lb3" ha_wait_served_by lb3 3
ms=$(ha_takeover_ms "$t_kill" lb3)
echo "# kill -9 lb2 -> first success via lb3: ${ms:-none} ms"
check "lb3 took over on the crash detector ($(ha_last_takeover 3))" \
	takeover_is 3 'master lost (sync session reset)*'
# What systemd's ExecStopPost= does after any exit: release the dead
# node's VIP, so its kernel stops answering for it.
check "the killed lb2 still holds the VIP" ha_has_vip 2
check "andromeda --release removes it" lab_exec lb2 "$ANDROMEDA" --release -c "$LAB_DIR/lb2.conf"
check "lb2 no longer has the VIP" ha_lacks_vip 2

# --- restart lb1, preempt on: it takes the VIP back, and its stale VIP
# (left by the kill -9) is removed at start-up -----------------------------
check "lb1's VIP was left behind by the kill -9" ha_has_vip 1
lab_wait_gone lb1 2
require "lb1 restarts" ha_start 1 150
check "lb1 logs the stale VIP removal" lab_wait_for 3 grep -q "left behind by an earlier run" "$LAB_DIR/lb1.log"
check "lb1 (preempt on) takes the VIP back" ha_wait_role 1 MASTER 3
check "lb3 steps down to BACKUP" ha_wait_role 3 BACKUP 2
check "clients are served by lb1 again" ha_wait_served_by lb1 3
check_eq "only lb1 holds the VIP" "lb1" "$(ha_vip_holders 3)"

# --- preempt off: a restarted better node stays BACKUP --------------------
lab_wait_gone lb2 2
require "lb2 restarts" ha_start 2 100
check "lb2 is BACKUP" ha_wait_role 2 BACKUP 3
lab_kill lb1 KILL
check "lb2 takes over from the killed lb1" ha_wait_role 2 MASTER 3
lab_wait_gone lb1 2
HA_EXTRA="preempt = no" require "lb1 restarts with preempt = no" ha_start 1 150
check "lb1 (preempt off) becomes BACKUP" ha_wait_role 1 BACKUP 3
# Ten advert intervals: a preempting node would have taken over by then.
lb1_backup_lb2_master() { ha_role_is 1 BACKUP && ha_role_is 2 MASTER; }
check "... and stays BACKUP, lb2 MASTER, for 1 s (10 adverts)" lab_holds 1 lb1_backup_lb2_master

# --- graceful SIGTERM: takeover after Skew_Time, no failed probe ------------
t_term=$(now_ms)
lab_kill lb2 TERM
check "lb1 takes over after SIGTERM of lb2" ha_wait_role 1 MASTER 2
check "clients are served by lb1" ha_wait_served_by lb1 3
lab_wait_gone lb2 5
check "the probe has logged every request sent so far" ha_probe_flush
ms=$(ha_takeover_ms "$t_term" lb1)
failed=$(ha_failed_since "$t_term")
echo "# SIGTERM lb2 -> first success via lb1: ${ms:-none} ms, $failed failed probes"; awk -v t="$t_term" '$1 >= t - 50 && $1 <= t + 600 { print "#   " $1 - t, $2, $3, $4, $5 }' "$LAB_DIR/probe.log" | grep -v " ok lb" | head -5
# A probe whose handshake straddles the switch (SYN to lb2, the rest to
# lb1 after its gratuitous ARP) is reset by lb1: at most that one.
check_le "at most one failed probe on a graceful handover" "$failed" 1
check "lb2 released the VIP on exit" ha_lacks_vip 2

# --- carrier loss: FAULT and release; carrier back: BACKUP ------------------
lab_exec lb1 ip link set eth0 down
check "lb1 goes to FAULT when eth0 loses carrier" ha_wait_role 1 FAULT 2
check "lb1 released the VIP in FAULT" ha_lacks_vip 1
check "lb3 takes over" ha_wait_role 3 MASTER 3
lab_exec lb1 ip link set eth0 up
check "lb1 returns to BACKUP when carrier is back" ha_wait_role 1 BACKUP 3

# --- VIP removed by hand while MASTER: put back ---------------------------
lab_exec lb3 ip addr del "$HA_VIP/24" dev eth0
check "lb3 puts back a VIP removed by hand" lab_wait_for 2 ha_has_vip 3
check "lb3 logged it" lab_wait_for 2 grep -q "VIP removed while MASTER" "$LAB_DIR/lb3.log"

# --- partition: VRRP between lb1 and lb3 dropped -> two MASTERs; healed -> one
partition() { ha_vrrp_block 1 "$1" && ha_vrrp_block 3 "$1"; }
only_lb1_master() { [[ "$(ha_masters 3)" == lb1 ]]; }
require "partition lb1 from lb3 (multicast only)" partition on
check "partitioned lb1 becomes MASTER too (split brain)" ha_wait_role 1 MASTER 3
check_eq "both think they are MASTER" "lb1 lb3" "$(ha_masters 3)"
t_heal=$(now_ms)
require "heal the partition" partition off
check "after healing, exactly one MASTER within 1 s" lab_wait_for 1 only_lb1_master
echo "# split brain healed in $(($(now_ms) - t_heal)) ms"
check "lb3 back to BACKUP" ha_wait_role 3 BACKUP 1
check "clients are served by lb1 after the heal" ha_wait_served_by lb1 3
check_eq "only lb1 holds the VIP" "lb1" "$(ha_vip_holders 3)"

ha_probe_stop
for i in 1 3; do
	lab_stop "lb$i" 10
	check_eq "lb$i exits 0 on SIGTERM" 0 "$?"
	check "no sanitizer report from lb$i" lab_no_sanitizer_report "$LAB_DIR/lb$i.log"
done
lab_finish
