#!/usr/bin/env bash
# liveness.sh - the fast liveness exchange (issue 15, [ha]
# liveness_interval) measured in a namespace lab of two balancers
# (priorities 150 and 100, 100 ms adverts):
#
#   cpu   the CPU time of each daemon over CPU_S seconds, idle, with
#         liveness_interval 20 ms and 0 (off), from /proc/PID/schedstat
#         (nanoseconds on a CPU): the difference is what the exchange
#         costs, as a share of one core.
#   loss  for each loss rate (LOSS, % of every packet dropped at random
#         in and out of the MASTER's namespace by nftables numgen; this
#         kernel has no netem): QUIET_S seconds with nothing done (role
#         changes seen by the notify scripts: false failovers), then
#         ROUNDS power cuts of the MASTER (cable dead, then kill -9) and
#         the time from the cut to the BACKUP's "-> MASTER" log line, and
#         how it moved (liveness, or the RFC's Master_Down_Interval).
#
#   sudo bash tests/bench/liveness.sh [-p "cpu loss"] [-n ROUNDS] [-l "0 1 5 10"]
#                                     [-c CPU_S] [-q QUIET_S]
#
# RESULTS=FILE also appends the markdown summary there.
set -u
PARTS="cpu loss"
ROUNDS=5
LOSS="0 1 5 10"
CPU_S=60
QUIET_S=30
while getopts "p:n:l:c:q:h" opt; do
	case $opt in
	p) PARTS=$OPTARG ;;
	n) ROUNDS=$OPTARG ;;
	l) LOSS=$OPTARG ;;
	c) CPU_S=$OPTARG ;;
	q) QUIET_S=$OPTARG ;;
	*) sed -n '2,22p' "$0"; exit 2 ;;
	esac
done
[[ "$ROUNDS" =~ ^[0-9]+$ && "$ROUNDS" -ge 1 && "$ROUNDS" -le 50 ]] || { echo "liveness: -n takes 1..50" >&2; exit 2; }
[[ "$CPU_S" =~ ^[0-9]+$ && "$CPU_S" -ge 5 && "$CPU_S" -le 3600 ]] || { echo "liveness: -c takes 5..3600" >&2; exit 2; }
[[ "$QUIET_S" =~ ^[0-9]+$ && "$QUIET_S" -le 3600 ]] || { echo "liveness: -q takes 0..3600" >&2; exit 2; }
for v in $LOSS; do
	[[ "$v" =~ ^[0-9]+$ && "$v" -le 50 ]] || { echo "liveness: -l takes percentages 0..50" >&2; exit 2; }
done

SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
source "$SRC_DIR/tests/bench/lib.sh" # and tests/lib/lab.sh
source "$SRC_DIR/tests/lib/ha.sh"
source "$SRC_DIR/tests/lib/liveness.sh"
HA_EXTRA="preempt = no" # a restarted node stays BACKUP: each round is one takeover
live_notify
BASE_EXTRA=$HA_EXTRA

prio() { [[ $1 == 1 ]] && echo 150 || echo 100; }
master() { ha_role_is 1 MASTER && echo 1 || { ha_role_is 2 MASTER && echo 2; }; }

# up IVL: both nodes with liveness_interval IVL, lb1 MASTER, lb2 BACKUP
# with its liveness path up (IVL 0: just the roles).
up() {
	HA_EXTRA="$BASE_EXTRA\nliveness_interval = $1"
	ha_start 1 150 >/dev/null && ha_wait_role 1 MASTER 5 && ha_start 2 100 >/dev/null &&
		ha_wait_role 2 BACKUP 5 || return 1
	[[ $1 == 0 ]] || lab_wait_for 5 live_path_up 2
}
live_path_up() { [[ "$(live_stat "$1" state)" == up ]]; }
down() {
	lab_stop lb1 10 >/dev/null
	lab_stop lb2 10 >/dev/null
}

# cpu_ns PIDNAME: nanoseconds the process has run so far.
cpu_ns() { awk '{ print $1 }' "/proc/$(lab_pid "$1")/schedstat"; }

# cpu IVL: "lb1% lb2%" of one core over CPU_S seconds.
cpu() {
	local a1 a2 b1 b2 t0 t1
	up "$1" || return 1
	sleep 2
	a1=$(cpu_ns lb1) a2=$(cpu_ns lb2) t0=$(date +%s%N)
	sleep "$CPU_S"
	b1=$(cpu_ns lb1) b2=$(cpu_ns lb2) t1=$(date +%s%N)
	down
	awk -v a="$a1" -v b="$b1" -v c="$a2" -v d="$b2" -v t="$((t1 - t0))" \
		'BEGIN { printf "%.3f %.3f\n", 100 * (b - a) / t, 100 * (d - c) / t }'
}

part_cpu() {
	local on off
	on=$(cpu 20ms) || return 1
	off=$(cpu 0) || return 1
	{
		printf '\n### Liveness CPU, idle pair, %d s each, share of one core (/proc/PID/schedstat)\n\n' "$CPU_S"
		printf '| liveness_interval | MASTER (lb1) | BACKUP (lb2) |\n|---|---:|---:|\n'
		printf '| 20ms | %s %% | %s %% |\n' $on
		printf '| 0 (off) | %s %% | %s %% |\n' $off
		awk -v a="$on" -v b="$off" 'BEGIN { split(a, x); split(b, y)
			printf "| cost of the exchange | %.3f %% | %.3f %% |\n", x[1] - y[1], x[2] - y[2] }'
	} | tee -a "$LAB_DIR/summary"
}

# tod_ms HH:MM:SS.mmm: ms since midnight.
tod_ms() { awk -F'[:.]' '{ print (($1 * 60 + $2) * 60 + $3) * 1000 + $4 }' <<<"$1"; }

# cut_round LOSS R: power cut of the MASTER; one "LOSS ms how" line.
cut_round() {
	local m o t line ms how
	m=$(master) || return 1
	o=$((3 - m))
	lab_wait_for 10 live_path_up "$o" || { echo "  lb$o's liveness path is not up" >&2; return 1; }
	sleep 0.3
	live_cut "$m"
	t=$(date +%T.%3N)
	lab_kill "lb$m" KILL
	ha_wait_role "$o" MASTER 5 || { echo "  lb$o did not take over" >&2; return 1; }
	line=$(grep -- '-> MASTER' "$LAB_DIR/lb$o.log" | tail -n1)
	ms=$(($(tod_ms "${line%% *}") - $(tod_ms "$t")))
	case $line in
	*liveness*) how=liveness ;;
	*"no advert"*) how=MDI ;;
	*) how=other ;;
	esac
	echo "$1 $ms $how" >>"$LAB_DIR/cuts"
	printf '  loss %3s %%  #%d  lb%d->lb%d  %4d ms  (%s)\n' "$1" "$2" "$m" "$o" "$ms" "$how"
	live_mend "$m"
	lab_wait_gone "lb$m" 5
	ha_start "$m" "$(prio "$m")" >/dev/null && ha_wait_role "$m" BACKUP 10
}

# loss_rate PCT: quiet window, then the cuts, the loss on the MASTER.
loss_rate() {
	local p=$1 r t m changes
	m=$(master) || return 1
	live_loss "$m" "$p"
	t=$(now_ms)
	sleep "$QUIET_S"
	changes=$(($(live_role_changes 1 "$t") + $(live_role_changes 2 "$t")))
	echo "$p $changes $(live_stat $((3 - m)) silences) $(live_stat $((3 - m)) vetoed)" >>"$LAB_DIR/quiet"
	printf '  loss %3s %%  %d s quiet: %d role changes, BACKUP saw %s silences, %s vetoed by the SYN check\n' \
		"$p" "$QUIET_S" "$changes" "$(live_stat $((3 - m)) silences)" "$(live_stat $((3 - m)) vetoed)"
	live_loss "$m" 0
	for ((r = 1; r <= ROUNDS; r++)); do
		m=$(master) || return 1
		live_loss "$m" "$p"
		if cut_round "$p" "$r"; then
			CHECK_PASSED=$((CHECK_PASSED + 1))
		else
			check "loss $p % round $r" false
		fi
		live_loss 1 0
		live_loss 2 0
	done
}

part_loss() {
	local p
	up 20ms || return 1
	: >"$LAB_DIR/cuts"
	: >"$LAB_DIR/quiet"
	for p in $LOSS; do
		loss_rate "$p"
	done
	down
	{
		printf '\n### Power cut detection against loss on the MASTER link, %d cuts per rate, %d s quiet per rate\n\n' "$ROUNDS" "$QUIET_S"
		printf 'Cut to the BACKUP'"'"'s `-> MASTER` (its log, ms), min / median / max; how it moved; role changes while nothing was done.\n\n'
		printf '| loss | takeover ms | by liveness | quiet: role changes | quiet: silences / vetoed |\n|---:|---:|---:|---:|---:|\n'
		for p in $LOSS; do
			sort -n -k2 "$LAB_DIR/cuts" | awk -v p="$p" '$1 == p { v[++n] = $2; if ($3 == "liveness") l++ }
				END { if (!n) { printf "| %s %% | - | - |", p; exit }
				      m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
				      printf "| %s %% | %d / %s / %d | %d of %d |", p, v[1], m, v[n], l, n }'
			awk -v p="$p" '$1 == p { printf " %d | %s / %s |\n", $2, $3, $4 }' "$LAB_DIR/quiet"
		done
	} | tee -a "$LAB_DIR/summary"
}

require "running as root" test "$EUID" -eq 0
require "nft is installed" lab_have nft
ha_setup 2 2
: >"$LAB_DIR/summary"
echo "liveness bench: parts $PARTS; rounds $ROUNDS; loss ${LOSS// /, } %; cpu ${CPU_S} s; quiet ${QUIET_S} s"
for part in $PARTS; do
	case $part in
	cpu) check "cpu part" part_cpu ;;
	loss) check "loss part" part_loss ;;
	*) check "unknown part $part" false ;;
	esac
done
[[ -z "${RESULTS:-}" ]] || cat "$LAB_DIR/summary" >>"$RESULTS"
echo
lab_finish
