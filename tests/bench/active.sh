#!/usr/bin/env bash
# active.sh - active-active failover of the second instance (issue 16,
# docs/vrrp.md "Instances"): lb1 is MASTER of [ha] (VIP A, 150 against
# 100), lb2 of [vrrp web-b] (VIP B, 150 against 100).  Each round kill -9's
# lb2, releases its VIPs as systemd's ExecStopPost= does, and times the
# kill to the first good answer on VIP B through lb1 (a new connection
# every 10 ms, 50 ms timeout); lb2 then restarts and takes web-b back
# (preempt, once it has lb1's state).  lb1 moves at once when it knows no
# other live balancer, so this is issue 15's kill -9 target (20 ms median,
# 40 ms worst) for a [vrrp NAME] instance.  For comparison in the same run,
# each round then kill -9's lb1 the same way and times VIP A through lb2
# (the first instance: the named successor).
#
#   sudo nice bash tests/bench/active.sh [-n ROUNDS]
#
# Prints each round (with the survivor's reason) and min/median/max.  RESULTS=FILE
# also appends the line there.
set -u
ROUNDS=10
while getopts "n:h" opt; do
	case $opt in
	n) ROUNDS=$OPTARG ;;
	*) sed -n '2,16p' "$0"; exit 2 ;;
	esac
done
[[ "$ROUNDS" =~ ^[0-9]+$ && "$ROUNDS" -ge 1 && "$ROUNDS" -le 50 ]] || { echo "active: -n takes 1..50" >&2; exit 2; }

SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
source "$SRC_DIR/tests/bench/lib.sh" # and tests/lib/lab.sh
source "$SRC_DIR/tests/lib/ha.sh"
bench_require_built "$ANDROMEDA" "$PROBE"

VIP_A=$HA_VIP
VIP_B=198.18.0.9
# shellcheck disable=SC2034 # HA_* are read by ha_conf (tests/lib/ha.sh)
HA_LISTEN="$VIP_A:80, $VIP_B:80"
# shellcheck disable=SC2034
HA_ADVERT=100ms
# shellcheck disable=SC2034
more() { HA_MORE="[vrrp web-b]\nvrid = 52\npriority = $1\nvip = $VIP_B/24"; }
start1() { more 100 && ha_start 1 150; }
start2() { more 150 && ha_start 2 100; }
role() { ha_ctl "$1" status --json | jq -r --arg n "$2" '.instances[] | select(.name == $n) | .role'; }
role_is() { [[ "$(role "$1" "$2")" == "$3" ]]; }
session_up() { [[ "$(ha_ctl 2 status --json | jq -r .sync.session_up)" == true ]]; }
# first_ok LOG NODE T: ms from T to NODE's first good answer in LOG.
first_ok() { awk -v t="$3" -v n="$2" '$1 >= t && $2 == "ok" && $3 == n { print $1 - t; f = 1; exit } END { exit !f }' "$LAB_DIR/$1"; }
# reason I VRID: lbI's reason for its last move to MASTER in VRID.
reason() { sed -n "s/.*vrrp $2: BACKUP -> MASTER (\(.*\))\$/\1/p" "$LAB_DIR/lb$1.log" | tail -n1; }

ha_setup 2 2
start1 || die "lb1 does not start"
lab_wait_for 5 role_is 1 ha MASTER || die "lb1 is not MASTER of ha"
start2 || die "lb2 does not start"
lab_wait_for 5 role_is 2 web-b MASTER || die "lb2 is not MASTER of web-b"
bound=$((ROUNDS * 20000))
lab_spawn client pb sh -c "exec '$PROBE' $VIP_B 80 10 50 $bound $((bound / 10)) >'$LAB_DIR/pb.log'"
lab_spawn client pa sh -c "exec '$PROBE' $VIP_A 80 10 50 $bound $((bound / 10)) >'$LAB_DIR/pa.log'"
settled() {
	lab_wait_for 10 role_is 1 ha MASTER && lab_wait_for 10 role_is 2 web-b MASTER &&
		lab_wait_for 10 session_up && lab_wait_for 5 role_is 1 web-b BACKUP &&
		lab_wait_for 5 role_is 2 ha BACKUP
}
# proc_gone PID: wait (2 ms steps, 5 s at most) until PID has exited (gone
# or a zombie).  kill_time runs in a subshell, where lab_kill's wait does
# not wait (not its child), so it polls.
proc_gone() {
	local k v i
	for ((i = 0; i < 2500; i++)); do
		[[ -r /proc/$1/status ]] || return 0
		while read -r k v _; do
			[[ "$k" == State: ]] && { [[ "$v" == Z ]] && return 0; break; }
		done <"/proc/$1/status"
		sleep 0.002
	done
	return 1
}
# lost LOG T MS: probes that timed out between T and T + MS (a SYN that
# went to a node that no longer had the VIP: dropped, so the probe waited
# its 50 ms).
lost() { awk -v t="$2" -v e="$(($2 + $3))" '$1 >= t && $1 <= e && $2 == "fail" && $3 == "timeout" { n++ } END { print n + 0 }' "$LAB_DIR/$1"; }
# kill_time I VIPLOG VRID: kill -9 lbI and, once its process has exited
# (systemd runs ExecStopPost= after that, not before), release its VIPs;
# print the ms to the other node's first good answer in VIPLOG, the ms
# from the kill to the exit and to the release, the probes lost, and the
# other node's reason.
kill_time() {
	local o=$((3 - $1)) t ms pid tg tr
	settled || { echo "99999 - - - the roles did not settle"; return; } # (a subshell: no die)
	sleep 1
	pid=$(lab_pid "lb$1")
	t=$(now_ms)
	lab_kill "lb$1" KILL
	[[ -n "$pid" ]] && proc_gone "$pid"
	tg=$(now_ms)
	lab_exec "lb$1" "$ANDROMEDA" --release -c "$LAB_DIR/lb$1.conf" >/dev/null 2>&1
	tr=$(now_ms)
	lab_wait_for 5 first_ok "$2" "lb$o" "$t" >/dev/null
	ms=$(first_ok "$2" "lb$o" "$t")
	echo "${ms:-99999} $((tg - t)) $((tr - t)) $(lost "$2" "$t" "${ms:-5000}") $(reason "$o" "$3")"
}

RB=() RA=()
for ((r = 1; r <= ROUNDS; r++)); do
	read -r b g rel n why < <(kill_time 2 pb.log 52)
	printf 'round %d: kill -9 lb2 -> first answer on VIP B (web-b) via lb1: %s ms (%s; exit %s ms, released %s ms, %s probe(s) lost)\n' \
		"$r" "$b" "$why" "$g" "$rel" "$n"
	start2 || die "lb2 does not restart"
	read -r a g rel n why < <(kill_time 1 pa.log 51)
	printf 'round %d: kill -9 lb1 -> first answer on VIP A (ha) via lb2: %s ms (%s; exit %s ms, released %s ms, %s probe(s) lost)\n' \
		"$r" "$a" "$why" "$g" "$rel" "$n"
	start1 || die "lb1 does not restart"
	RB+=("$b") RA+=("$a")
done
lab_stop pb 5 >/dev/null
lab_stop pa 5 >/dev/null

stats() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { printf "min %d, median %d, max %d", v[1], v[int((NR + 1) / 2)], v[NR] }'; }
line="active-active, kill -9, advert 100 ms, $ROUNDS rounds: first answer on web-b's VIP $(stats "${RB[@]}") ms; on ha's VIP (named successor) $(stats "${RA[@]}") ms"
echo "$line"
[[ -n "${RESULTS:-}" ]] && echo "- $line" >>"$RESULTS"
exit 0
