#!/usr/bin/env bash
# failover6.sh - the kill -9 drill with an IPv6 VIP beside the IPv4 one
# (issue 16, docs/vrrp.md#ipv6), in the 2001:db8:18::/48 lab.  Two
# andromeda nodes (150 and 100, preempt off) hold vip = 198.18.0.10/24,
# 2001:db8:18::10/64; the client probes both VIPs every 10 ms with a new
# connection each (tests/tools/probe: the IPv4 VIP through andromeda's
# listener, the IPv6 one through a small web server on each node bound
# with IP_FREEBIND, which survives the kill as a separate HAProxy would).
# Each round kill -9's the MASTER and times, per family, from the kill to
# the first good answer served by the other node; the killed node is then
# released (ExecStopPost's `andromeda --release`) and restarted as BACKUP.
#
#   sudo bash tests/bench/failover6.sh [-n ROUNDS] [-i INTERVAL_MS] [-t TIMEOUT_MS]
#
# Prints each round and the min/median/max per family.  RESULTS=FILE also
# appends the markdown line there.
set -u
ROUNDS=5
IVL=100
TO=200
while getopts "n:i:t:h" opt; do
	case $opt in
	n) ROUNDS=$OPTARG ;;
	i) IVL=$OPTARG ;;
	t) TO=$OPTARG ;;
	*) sed -n '2,17p' "$0"; exit 2 ;;
	esac
done
[[ "$ROUNDS" =~ ^[0-9]+$ && "$ROUNDS" -ge 1 && "$ROUNDS" -le 50 ]] || { echo "failover6: -n takes 1..50" >&2; exit 2; }
[[ "$IVL" =~ ^[1-9][0-9]*0$ && "$IVL" -le 40950 ]] || { echo "failover6: -i takes multiples of 10 ms" >&2; exit 2; }
[[ "$TO" =~ ^[1-9][0-9]*$ && "$TO" -le 10000 ]] || { echo "failover6: -t takes 1..10000 ms" >&2; exit 2; }

SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
source "$SRC_DIR/tests/bench/lib.sh" # and tests/lib/lab.sh
source "$SRC_DIR/tests/lib/ha.sh"
source "$SRC_DIR/tests/lib/vrrp6.sh"
bench_require_built "$ANDROMEDA" "$PROBE"
HA_EXTRA="preempt = no" # a restarted node stays BACKUP: each round is one takeover
HA_ADVERT="${IVL}ms"

v6_setup 2 1
v6_server 1 || die "web on lb1"
v6_server 2 || die "web on lb2"
v6_start 1 150 || die "lb1 does not start"
ha_wait_role 1 MASTER 5 || die "lb1 is not MASTER"
v6_start 2 100 || die "lb2 does not start"
ha_wait_role 2 BACKUP 5 || die "lb2 is not BACKUP"
lab_wait_for 5 v6_served_by lb1 || die "the IPv6 VIP does not answer"

bound=$((ROUNDS * 20000))
lab_spawn client probe4 sh -c "exec '$PROBE' $HA_VIP 80 10 $TO $bound $((bound / 10)) >'$LAB_DIR/p4.log'"
lab_spawn client probe6 sh -c "exec '$PROBE' $V6_VIP 8080 10 $TO $bound $((bound / 10)) >'$LAB_DIR/p6.log'"

# first_ok LOG T NODE: ms from T to NODE's first good answer in LOG.
first_ok() { awk -v t="$2" -v n="$3" '$1 >= t && $2 == "ok" && $3 == n { print $1 - t; f = 1; exit } END { exit !f }' "$1"; }
session_up() { [[ "$(ha_ctl "$1" status --json | jq -r .sync.session_up)" == true ]]; }

# why_none T: what the probes saw since T, and the client's neighbour
# entries, when a family got no answer from the new MASTER.
why_none() {
	local f
	for f in p4 p6; do
		echo "  $f since the kill: $(awk -v t="$1" '$1 >= t { $1 = ""; n[$0]++ } END { for (k in n) printf "%d x%s; ", n[k], k }' "$LAB_DIR/$f.log")"
	done
	echo "  client: $(lab_exec client ip -6 neigh show "$V6_VIP")"
	echo "  lb1 MAC $(ha_mac 1), lb2 MAC $(ha_mac 2)"
}

R4=() R6=()
master=1
for ((r = 1; r <= ROUNDS; r++)); do
	other=$((3 - master))
	lab_wait_for 10 session_up "$other" || die "lb$other has no sync session to lb$master"
	sleep 1
	t=$(now_ms)
	lab_kill "lb$master" KILL
	lab_wait_for 5 ha_role_is "$other" MASTER || die "lb$other did not take over"
	# Up to 8 s: past the NA refresh (garp_refresh 5 s), which heals a
	# client that missed the burst.
	lab_wait_for 8 first_ok "$LAB_DIR/p4.log" "$t" "lb$other" >/dev/null
	lab_wait_for 8 first_ok "$LAB_DIR/p6.log" "$t" "lb$other" >/dev/null
	a=$(first_ok "$LAB_DIR/p4.log" "$t" "lb$other")
	b=$(first_ok "$LAB_DIR/p6.log" "$t" "lb$other")
	printf 'round %d: kill -9 lb%d -> lb%d: IPv4 %s ms, IPv6 %s ms\n' "$r" "$master" "$other" "${a:-none}" "${b:-none}"
	[[ -n "$a" && -n "$b" ]] || why_none "$t"
	R4+=("${a:-99999}") R6+=("${b:-99999}")
	lab_wait_gone "lb$master" 3
	lab_exec "lb$master" "$ANDROMEDA" --release -c "$LAB_DIR/lb$master.conf" >/dev/null 2>&1
	v6_start "$master" "$(( master == 1 ? 150 : 100 ))" || die "lb$master does not restart"
	lab_wait_for 5 ha_role_is "$master" BACKUP || die "lb$master is not BACKUP"
	master=$other
done
lab_stop probe4 5 >/dev/null
lab_stop probe6 5 >/dev/null

stats() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { printf "min %d, median %d, max %d", v[1], v[int((NR + 1) / 2)], v[NR] }'; }
line="kill -9, advert ${IVL} ms, probe timeout ${TO} ms, $ROUNDS rounds: IPv4 VIP $(stats "${R4[@]}") ms; IPv6 VIP $(stats "${R6[@]}") ms"
echo "$line"
[[ -n "${RESULTS:-}" ]] && echo "- $line" >>"$RESULTS"
exit 0
