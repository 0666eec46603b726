#!/usr/bin/env bash
# test_ha_notify.sh - issue 14, hooks: the [ha] notify script.  Every call
# appends "START END INSTANCE ROLE PRIORITY PREV NODE VIPS" to a file per
# node; checked in order across boot, a kill -9 failover (the survivor's
# MASTER line), a preemption back and clean stops (STOP, written before
# the daemon exits).  A slow script (3 s a call) neither delays the
# takeover nor reorders the calls (each starts after the one before
# ended); a script that hangs is killed with its process group at
# notify_timeout, logged, and the next call still runs.
set -u
source "$(dirname "$0")/../lib/lab.sh"
source "$(dirname "$0")/../lib/ha.sh"

ha_setup 2 1
# The slow script's sleep: long enough that lb1's restart and preemption
# (about 1 s here, more on a loaded machine) land inside lb2's MASTER call.
SLOW_S=3

cat >"$LAB_DIR/notify.sh" <<NTF
#!/bin/sh
t0=\$(date +%s%3N)
[ -e "$LAB_DIR/slow" ] && sleep $SLOW_S
if [ -e "$LAB_DIR/hang" ] && [ "\$2" = BACKUP ]; then
	sleep 60 &
	echo \$! >"$LAB_DIR/hang.pid"
	wait
fi
echo "\$t0 \$(date +%s%3N) \$1 \$2 \$3 \$ANDROMEDA_PREV_ROLE \$ANDROMEDA_NODE \$ANDROMEDA_VIPS" >>"$LAB_DIR/notify-\$ANDROMEDA_NODE.log"
NTF
chmod 755 "$LAB_DIR/notify.sh"
HA_EXTRA="notify = $LAB_DIR/notify.sh"

# calls NODE: "ROLE PRIORITY PREV" of each call, space-joined.
calls() { awk '{ printf "%s%s/%s/%s", (NR > 1 ? " " : ""), $4, $5, $6 }' "$LAB_DIR/notify-lb$1.log" 2>/dev/null; }
calls_are() { [[ "$(calls "$1")" == "$2" ]]; }
# serial NODE: every call started after the one before it ended.
serial() { awk 'NR > 1 && $1 < end { bad = 1 } { end = $2 } END { exit bad }' "$LAB_DIR/notify-lb$1.log"; }

require "lb1 starts" ha_start 1 150
require "lb2 starts" ha_start 2 100
check "lb1 becomes MASTER" ha_wait_role 1 MASTER 5
check "lb2 is BACKUP" ha_wait_role 2 BACKUP 2

# --- boot ------------------------------------------------------------------
check "lb1: BACKUP then MASTER, priority 150" lab_wait_for 3 calls_are 1 "BACKUP/150/INIT MASTER/150/BACKUP"
check "lb2: BACKUP, priority 100" lab_wait_for 3 calls_are 2 "BACKUP/100/INIT"
check_eq "instance, node and VIPs as arguments and in the environment" \
	"ha lb1 198.18.0.10/24" "$(awk 'NR == 1 { print $3, $7, $8 }' "$LAB_DIR/notify-lb1.log")"

# --- kill -9 of the MASTER with a slow script: the takeover does not wait --
touch "$LAB_DIR/slow"
ha_probe_start 10 500
check "probe sees lb1" ha_wait_served_by lb1 3
t_kill=$(now_ms)
lab_kill lb1 KILL
check "lb2 takes over" ha_wait_role 2 MASTER 3
t_role=$(now_ms)
check "clients are served by lb2" ha_wait_served_by lb2 3
ms=$(ha_takeover_ms "$t_kill" lb2)
echo "# kill -9 lb1 with a ${SLOW_S} s notify script -> lb2 MASTER seen in status after $((t_role - t_kill)) ms, first success via lb2 after ${ms:-none} ms"
check "the takeover did not wait for the ${SLOW_S} s script (${ms:-none} ms)" test "${ms:-99999}" -lt $((SLOW_S * 1000))

# --- lb1 back at once (preempt): lb2 goes MASTER -> BACKUP while its MASTER
# call still runs; the BACKUP call waits for it --------------------------
lab_wait_gone lb1 2
require "lb1 restarts" ha_start 1 150
check "lb1 takes the VIP back" ha_wait_role 1 MASTER 6
check "lb2 steps down" ha_wait_role 2 BACKUP 2
t_backup=$(now_ms)
check "lb2: MASTER then BACKUP, in order" lab_wait_for 8 calls_are 2 "BACKUP/100/INIT MASTER/100/BACKUP BACKUP/100/MASTER"
master_start=$(awk '$4 == "MASTER" { print $1 }' "$LAB_DIR/notify-lb2.log")
master_end=$(awk '$4 == "MASTER" { print $2 }' "$LAB_DIR/notify-lb2.log")
echo "# lb2: MASTER call $((master_start - t_kill))..$((master_end - t_kill)) ms after the kill; BACKUP seen at $((t_backup - t_kill)) ms"
check "lb2 was MASTER before its MASTER call ended" test "$master_end" -gt "$t_role"
check "lb2 was BACKUP again before its MASTER call ended (the BACKUP call had to queue)" \
	test "$master_end" -gt "$t_backup"
check "lb1: no STOP for the kill -9, then BACKUP, MASTER again" \
	lab_wait_for 8 calls_are 1 "BACKUP/150/INIT MASTER/150/BACKUP BACKUP/150/INIT MASTER/150/BACKUP"
check "lb1's calls ran one after the other" serial 1
check "lb2's calls ran one after the other" serial 2
ha_probe_stop

# --- clean stops: STOP, with the slow script, before the daemon exits ------
lab_stop lb2 15
check "lb2 wrote STOP before it exited" calls_are 2 "BACKUP/100/INIT MASTER/100/BACKUP BACKUP/100/MASTER STOP/100/BACKUP"
rm -f "$LAB_DIR/slow"
lab_stop lb1 15
check "lb1 (MASTER) wrote STOP before it exited" eval '[[ "$(calls 1)" == *" MASTER/150/BACKUP STOP/150/MASTER" ]]'

# --- a hanging script: killed at notify_timeout with its group, logged -----
touch "$LAB_DIR/hang"
rm -f "$LAB_DIR/notify-lb2.log"
HA_EXTRA="notify = $LAB_DIR/notify.sh\nnotify_timeout = 1s"
require "lb2 starts again" ha_start 2 100
check "lb2 logs the timeout" lab_wait_for 5 grep -q "notify ha BACKUP 100: $LAB_DIR/notify.sh: timed out after" "$LAB_DIR/lb2.log"
check "the script's child (sleep 60) was killed with its group" \
	lab_wait_for 2 eval '! kill -0 "$(cat "$LAB_DIR/hang.pid")" 2>/dev/null'
check "lb2 takes over from nobody: MASTER (the call after the hung one runs)" ha_wait_role 2 MASTER 5
check "the MASTER call ran" lab_wait_for 3 calls_are 2 "MASTER/100/BACKUP"
check_eq "lb2 counts one timeout" "1" "$(ha_ctl 2 status --json | jq .instances[0].notify.timeouts)"
rm -f "$LAB_DIR/hang"

for i in 1 2; do
	check "no sanitizer report from lb$i" lab_no_sanitizer_report "$LAB_DIR/lb$i.log"
done
lab_finish
