#!/usr/bin/env bash
# test_steady_writes.sh - issue 11 item 2 (SD card): a node in steady
# state, MASTER or BACKUP, writes nothing to disk - no fsync/fdatasync and
# no byte in /proc/PID/io write_bytes - and a failover costs a handful of
# synced journal records.  The figures printed ("# ...") are the ones in
# docs/journal.md.
#
# Window: STEADY_S seconds (default 15) instead of a minute.  It is the
# same test: every periodic source of a steady node - adverts (100 ms),
# health checks (500 ms), agent re-announcements (500 ms), the MASTER's
# snapshot (1 s) - fires 15 times or more in it, and the write this test
# exists for (a journal record per snapshot on the BACKUP) came with every
# one of them; a source with a longer period does not exist.
set -u
source "$(dirname "$0")/../lib/lab.sh"
source "$(dirname "$0")/../lib/ha.sh"

STEADY_S=${STEADY_S:-15}
HA_NSTATIC=1
HA_MORE='[registration]\nenabled = yes'
ha_setup 2 2
require "strace is installed" lab_have strace
require "lb1 starts" ha_start 1 150
require "lb1 is MASTER" ha_wait_role 1 MASTER 3
require "lb2 starts" ha_start 2 100
require "lb2 is BACKUP" ha_wait_role 2 BACKUP 3
require "agent on be2 starts" ha_agent 2
be2_up() { ha_servers "$1" | grep -q '^be2 .* up$'; }
require "lb1 has be2 up" lab_wait_for 5 be2_up 1
require "lb2 has be2 up" lab_wait_for 5 be2_up 2
# Settle: the first snapshots and health results are real changes.
sleep 2

# syncs_and_bytes I SECONDS: "SYNCS BYTES" of node lbI over that window.
syncs_and_bytes() {
	local pid out b0 b1
	pid=$(lab_pid "lb$1") || return 1
	out="$LAB_DIR/strace$1.txt"
	b0=$(awk '/^write_bytes/ { print $2 }' "/proc/$pid/io")
	timeout -s INT "$2" strace -f -c -e trace=fsync,fdatasync -p "$pid" -o "$out" 2>/dev/null
	b1=$(awk '/^write_bytes/ { print $2 }' "/proc/$pid/io")
	# strace -c: "% time seconds usecs/call calls errors syscall" rows.
	echo "$(awk '$NF == "fsync" || $NF == "fdatasync" { n += $4 } END { print n + 0 }' "$out") $((b1 - b0))"
}

syncs_and_bytes 1 "$STEADY_S" >"$LAB_DIR/steady1" &
bg=$!
syncs_and_bytes 2 "$STEADY_S" >"$LAB_DIR/steady2"
wait "$bg" # not a bare wait: the lab's daemons are our children too
read -r s1 w1 <"$LAB_DIR/steady1"
read -r s2 w2 <"$LAB_DIR/steady2"
echo "# steady ${STEADY_S}s: MASTER $s1 syncs $w1 bytes; BACKUP $s2 syncs $w2 bytes"
check "still lb1 MASTER, lb2 BACKUP" bash -c "[[ '$(ha_role 1) $(ha_role 2)' == 'MASTER BACKUP' ]]"
check_eq "MASTER: no fsync/fdatasync in steady state" 0 "$s1"
check_eq "MASTER: no byte written in steady state" 0 "$w1"
check_eq "BACKUP: no fsync/fdatasync in steady state" 0 "$s2"
check_eq "BACKUP: no byte written in steady state" 0 "$w2"
check "lb2 still applies the snapshots" bash -c \
	"[[ \$(timeout 3 '$ANDROMEDACTL' -s '$LAB_DIR/lb2.sock' status --json | jq .sync.snapshots_applied) -ge $STEADY_S ]]"

# --- one failover: what it costs the node that takes over -----------------------
syncs_and_bytes 2 4 >"$LAB_DIR/failover2" &
bg=$!
sleep 0.5
lab_kill lb1 KILL
check "lb2 takes over" ha_wait_role 2 MASTER 2
wait "$bg"
read -r fs fw <"$LAB_DIR/failover2"
echo "# failover (kill -9 of the MASTER), on the new MASTER: $fs syncs, $fw bytes"
check "a failover is journalled (synced)" test "$fs" -ge 1
check "and costs little (< 10 syncs)" test "$fs" -lt 10
lab_finish
