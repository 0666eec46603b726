#!/usr/bin/env bash
# drill.sh - the failover drill: two balancers share a VIP in a namespace
# lab, a client probes the VIP every 10 ms (new connection each time), and
# the MASTER is killed N times with kill -9, stopped N times with SIGTERM
# and has N power cuts (its cable goes dead: nftables drops everything in
# its namespace, then kill -9; nothing reaches the peers).  Prints, per
# kind, kill-to-first-success (min/median/max) and the failed probes.
#
#   sudo bash deploy/drill.sh [-n ROUNDS] [-i ADVERT_INTERVAL] [-t PROBE_TIMEOUT_MS]
#
# A power cut leaves the clients' ARP entry on the dead node until the
# new MASTER's gratuitous ARP: a probe sent before it waits its whole
# timeout, so -t 50 (or less) shows the takeover, -t 1000 the probe.
#
# Build first (tests/test.sh or cmake); BUILD_DIR defaults to ./build.
set -u
ROUNDS=5
INTERVAL=100ms
PROBE_TO=1000
while getopts "n:i:t:h" opt; do
	case $opt in
	n) ROUNDS=$OPTARG ;;
	i) INTERVAL=$OPTARG ;;
	t) PROBE_TO=$OPTARG ;;
	*) sed -n '2,16p' "$0"; exit 2 ;;
	esac
done
[[ "$ROUNDS" =~ ^[0-9]+$ && "$ROUNDS" -ge 1 && "$ROUNDS" -le 50 ]] || { echo "drill: -n takes 1..50" >&2; exit 2; }
[[ "$PROBE_TO" =~ ^[1-9][0-9]*$ && "$PROBE_TO" -le 10000 ]] || { echo "drill: -t takes 1..10000 ms" >&2; exit 2; }

SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
source "$SRC_DIR/tests/lib/lab.sh"
source "$SRC_DIR/tests/lib/ha.sh"
source "$SRC_DIR/tests/lib/liveness.sh" # live_cut, live_mend: the power cut
HA_ADVERT=$INTERVAL
HA_EXTRA="preempt = no"   # a restarted node stays BACKUP: each round is one takeover

ha_setup 2 2
require "lb1 starts" ha_start 1 150
require "lb1 is MASTER" ha_wait_role 1 MASTER 5
require "lb2 starts" ha_start 2 100
require "lb2 is BACKUP" ha_wait_role 2 BACKUP 5
ha_probe_start 10 "$PROBE_TO"
require "the VIP answers" ha_wait_served_by lb1 5

prio() { [[ $1 == 1 ]] && echo 150 || echo 100; }
current_master() { ha_role_is 1 MASTER && echo 1 || { ha_role_is 2 MASTER && echo 2; }; }

# round KIND SIGNAL: stop the MASTER, time the takeover, restart the node.
round() {
	local kind=$1 sig=$2 m o t ms failed
	m=$(current_master) || { echo "no MASTER before the round" >&2; return 1; }
	o=$((3 - m))
	sleep 0.5
	[[ $kind == powercut ]] && live_cut "$m" # the cable first, the processes after
	t=$(now_ms)
	lab_kill "lb$m" "$sig"
	if ! ha_wait_served_by "lb$o" 10; then
		echo "$kind: lb$o never served after stopping lb$m" >&2
		return 1
	fi
	ms=$(ha_takeover_ms "$t" "lb$o")
	failed=$(ha_failed_since "$t" $((t + ms)))
	echo "$kind lb$m->lb$o ${ms} ms, $failed failed probes" >&2
	((failed)) && awk -v t="$t" -v e=$((t + ms)) '$1 >= t && $1 <= e && $2 == "fail" { print "   fail at +" $1 - t " ms: " $3, $4, $5 }' "$LAB_DIR/probe.log" >&2
	echo "$ms $failed" >>"$LAB_DIR/drill.$kind"
	live_mend "$m"
	lab_wait_gone "lb$m" 10 || lab_kill "lb$m" KILL
	lab_wait_gone "lb$m" 5
	ha_start "$m" "$(prio "$m")" && ha_wait_role "$m" BACKUP 5
}

for ((r = 1; r <= ROUNDS; r++)); do
	check "kill -9 round $r" round kill9 KILL
done
for ((r = 1; r <= ROUNDS; r++)); do
	check "SIGTERM round $r" round sigterm TERM
done
for ((r = 1; r <= ROUNDS; r++)); do
	check "power cut round $r" round powercut KILL
done
ha_probe_stop

summary() {
	[[ -s "$LAB_DIR/drill.$1" ]] || { printf '%-8s no data\n' "$1"; return; }
	sort -n "$LAB_DIR/drill.$1" | awk -v k="$1" '
		{ t[NR] = $1; f += $2 }
		END { m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
		      printf "%-8s rounds %d  kill-to-first-success ms: min %d  median %d  max %d   failed probes: %d\n",
			     k, NR, t[1], m, t[NR], f }'
}
echo
echo "andromeda failover drill: advert_interval $INTERVAL, probe every 10 ms (new connection, $PROBE_TO ms timeout)"
summary kill9
summary sigterm
summary powercut
echo
lab_finish
