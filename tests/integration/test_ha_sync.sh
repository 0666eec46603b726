#!/usr/bin/env bash
# test_ha_sync.sh - issue #4: registration, replication, the journal and
# the crash detector.  Three balancers, four backends (be1, be2 static;
# be3, be4 register themselves with andromeda-agent).
set -u
source "$(dirname "$0")/../lib/lab.sh"
source "$(dirname "$0")/../lib/ha.sh"

HA_NSTATIC=2
HA_MORE='[registration]\nenabled = yes'
ha_setup 3 4
require "andromeda-agent is built" test -x "$AGENT"
require "msgtool is built" test -x "$BUILD_DIR/tests/msgtool"
require "lb1 starts" ha_start 1 150
require "lb1 is MASTER" ha_wait_role 1 MASTER 3
require "lb2 starts" ha_start 2 100
check "lb2 is BACKUP" ha_wait_role 2 BACKUP 3

served_by() { lab_exec client curl -s --max-time 1 "http://$HA_VIP/?n=[1-8]" | grep -q "^$1$"; }

# --- an agent registers a new backend ----------------------------------------
t0=$(now_ms)
require "agent on be3 starts" ha_agent 3
check "be3 receives traffic within 2 s" lab_wait_for 2 served_by be3
echo "# be3 served $(($(now_ms) - t0)) ms after its agent started"
check_eq "lb1 lists be3 as registered and up" "be3 198.18.0.23:80 registered up" "$(ha_servers 1 | grep '^be3 ')"
check "lb2 lists it within 1 s more" lab_wait_for 1 ha_lists 2 be3
check "the agent logged lb1's acknowledgement" \
	lab_wait_for 2 grep -qF "balancer lb1 ($(ha_lb_ip 1)) accepted be3" "$LAB_DIR/agent3.log"
require "agent on be4 starts" ha_agent 4
check "lb2 lists be4" lab_wait_for 3 ha_lists 2 be4
be4_up() { ha_servers 1 | grep -q '^be4 .* up$'; }
check "be4 passes its health checks" lab_wait_for 3 be4_up

# --- drain is replicated -------------------------------------------------------
check "drain be2 on lb1" ha_ctl 1 drain be2
drained_on_2() { ha_servers 2 | grep -q '^be2 .* drain$'; }
check "lb2 shows be2 draining" lab_wait_for 2 drained_on_2

# --- a balancer added later receives the whole pool ---------------------------
require "lb3 starts late" ha_start 3 50
same_pool() { [[ "$(ha_servers "$1")" == "$(ha_servers "$2")" ]]; }
check "lb3 has lb1's pool within 2 s" lab_wait_for 2 same_pool 3 1
check_eq "lb2 has lb1's pool" "$(ha_servers 1)" "$(ha_servers 2)"
session_up() { [[ "$(ha_ctl "$1" status --json | jq -r .sync.session_up)" == true ]]; }
check "lb2 holds a sync session to lb1" session_up 2

# --- hostile packets change nothing and are counted ------------------------------
before=$(ha_servers 1)
key="$LAB_DIR/cluster.key"
# The counters from here on: a datagram of a peer's that came before its
# session was proven (at start-up, lb3's join) is not this check's.
drops_total() { ha_ctl "$1" status --json | jq -c "$2"; }
base1=$(drops_total 1 .registration.dropped) base2=$(drops_total 2 .sync.dropped)
for mode in wrongkey truncated garbage; do
	lab_exec client "$BUILD_DIR/tests/msgtool" 198.18.0.11 7789 "$key" announce "$mode"
	lab_exec client "$BUILD_DIR/tests/msgtool" 198.18.0.12 7788 "$key" delta "$mode"
done
lab_exec client "$BUILD_DIR/tests/msgtool" 198.18.0.11 7789 "$key" announce replay 198.18.0.23
lab_exec client "$BUILD_DIR/tests/msgtool" 198.18.0.12 7788 "$key" delta replay 198.18.0.11
# Each node must count each datagram once, under its own cause, and
# nothing else: wait (bounded) until the counters say so, then assert.
# drops I PATH BASE: node I's drops under PATH since BASE, the non-zero ones.
drops() {
	ha_ctl "$1" status --json | jq -S -c --argjson b "$3" \
		"$2 | with_entries(.value -= (\$b[.key] // 0)) | with_entries(select(.value != 0))"
}
drops_are() { [[ "$(drops "$1" "$2" "$3")" == "$4" ]]; }
want='{"bad_mac":1,"bad_magic":1,"replay":1,"truncated":1}'
lab_wait_for 3 drops_are 1 .registration.dropped "$base1" "$want"
check_eq "registration on lb1: forged, truncated, garbage and replay counted once each" \
	"$want" "$(drops 1 .registration.dropped "$base1")"
lab_wait_for 3 drops_are 2 .sync.dropped "$base2" "$want"
check_eq "sync on lb2: forged, truncated, garbage and replay counted once each" \
	"$want" "$(drops 2 .sync.dropped "$base2")"
check_eq "lb1's pool unchanged" "$before" "$(ha_servers 1)"
check_eq "lb2's pool unchanged" "$before" "$(ha_servers 2)"
check "lb1 still MASTER" ha_role_is 1 MASTER

# --- kill -9 of the MASTER: crash detector, same pool ------------------------
# A short probe timeout: a probe caught by a frozen MASTER must not hide
# the takeover behind its own timeout.
ha_probe_start 10 200
check "probe sees lb1" ha_wait_served_by lb1 3
before=$(ha_servers 1)
t_kill=$(now_ms)
lab_kill lb1 KILL
check "lb2 takes over" ha_wait_role 2 MASTER 2
check "clients are served by lb2" ha_wait_served_by lb2 3
ms=$(ha_takeover_ms "$t_kill" lb2)
echo "# kill -9 lb1 -> first success via lb2: ${ms:-none} ms ($(ha_failed_since "$t_kill" $((t_kill + ${ms:-0}))) failed probes)"
# What tells the crash detector from the RFC timeout is the reason lb2
# gives: "master lost (sync session reset)" is the session reset acted on
# at Skew_Time, i.e. before Master_Down_Interval (360 ms after lb1's last
# advert) could expire; the time is for the bench.
takeover_is() { [[ "$(ha_last_takeover "$1")" == $2 ]]; }
check "crash detector: lb2 took over on the session reset ($(ha_last_takeover 2))" \
	takeover_is 2 'master lost (sync session reset)*'
check "lb2 logged the crash detector" grep -q "closed by its kernel" "$LAB_DIR/lb2.log"
check_eq "the new MASTER's pool equals the old one's" "$before" "$(ha_servers 2)"
check "the registered be3 still gets traffic" lab_wait_for 2 served_by be3

# --- restart: the journal brings the registered servers back -------------------
lab_kill agent3 STOP
lab_kill agent4 STOP
lab_wait_gone lb1 2
require "lb1 restarts" ha_start 1 150
check "lb1 lists be3 from its journal at once" ha_lists 1 be3
check "lb1 lists be4 from its journal at once" ha_lists 1 be4
check "lb1 logged the restore" grep -q "restored 2 registered" "$LAB_DIR/lb1.log"
lab_kill agent3 CONT
lab_kill agent4 CONT
check "lb1 takes the VIP back (preempt)" ha_wait_role 1 MASTER 3
check "be3 is still in lb1's pool after the agents resume" lab_wait_for 2 ha_lists 1 be3

# --- SIGSTOP of the MASTER: the RFC timeout path -----------------------------------
check "probe sees lb1 again" ha_wait_served_by lb1 3
t_stop=$(now_ms)
lab_kill lb1 STOP
check "lb2 takes over from a frozen lb1" ha_wait_role 2 MASTER 3
check "clients are served by lb2" ha_wait_served_by lb2 3
ms=$(ha_takeover_ms "$t_stop" lb2)
echo "# SIGSTOP lb1 -> first success via lb2: ${ms:-none} ms"
# A frozen process keeps its socket open: no reset, so the RFC timeout.
check "a frozen MASTER is detected by Master_Down_Interval, not the session ($(ha_last_takeover 2))" \
	takeover_is 2 'no advert for * ms (Master_Down_Interval)'
lab_kill lb1 CONT
check "lb1 resumes and takes the VIP back" ha_wait_role 1 MASTER 3
only_master() { [[ "$(ha_masters 3)" == "$1" ]]; }
check "one MASTER: lb1 (lb2 hears it and yields)" lab_wait_for 3 only_master lb1
check "lb2 steps down" ha_wait_role 2 BACKUP 3

# --- an agent stops: drained, removed, nobody notices ---------------------------------
check "probe sees lb1" ha_wait_served_by lb1 3
t_wd=$(now_ms)
lab_stop agent4 5
gone_everywhere() { ! ha_lists 1 be4 && ! ha_lists 2 be4 && ! ha_lists 3 be4; }
check "be4 is removed from every balancer" lab_wait_for 3 gone_everywhere
check "the probe has logged every request sent so far" ha_probe_flush
check_eq "no failed client request while be4 left" 0 "$(ha_failed_since "$t_wd")"
withdrawn_in_journal() {
	ha_ctl 1 journal --json | jq -e '[.[] | select(.event == "server-withdrawn" and .server == "be4")] | length > 0' >/dev/null
}
check "the journal shows be4 withdrawn" withdrawn_in_journal

ha_probe_stop
for i in 1 2 3; do
	lab_stop "lb$i" 10
	check_eq "lb$i exits 0 on SIGTERM" 0 "$?"
	check "no sanitizer report from lb$i" lab_no_sanitizer_report "$LAB_DIR/lb$i.log"
done
lab_finish
