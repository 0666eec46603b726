#!/usr/bin/env bash
# test_vrrp6_failover.sh - issue 16: every IPv6 failover answers, round
# after round (docs/vrrp.md "Failover with an IPv6 VIP").
#
#   lb1 (150) and lb2 (100), preempt = no, 100 ms adverts, the IPv6 VIP
#   served by a small web server on each node (tests/lib/vrrp6.sh).  The
#   client probes [VIP]:8080 every 10 ms with a new connection.  ROUNDS
#   times: kill -9 the MASTER, release its VIPs as systemd's ExecStopPost=
#   does (andromeda --release), and require the first good answer from
#   the other node within BOUND_MS; then restart the killed one as BACKUP.
#   A round that needs the NA refresh (5 s) to heal the client fails.
#   Then the released node sends from the VIP address again (what its
#   kernel did when it still held the VIP: a neighbour solicitation from
#   the VIP that points the client back at it); the client must stay on
#   the MASTER.  Last, the VIP removed by hand on the MASTER is put back.
set -u
source "$(dirname "$0")/../lib/lab.sh"
source "$(dirname "$0")/../lib/ha.sh"
source "$(dirname "$0")/../lib/vrrp6.sh"

ROUNDS=${ROUNDS:-6}
BOUND_MS=${BOUND_MS:-1500} # far below the 5 s refresh, far above a loaded box's 100 ms
# shellcheck disable=SC2034 # read by ha_conf (tests/lib/ha.sh)
HA_EXTRA="preempt = no"
# shellcheck disable=SC2034
HA_ADVERT=100ms

v6_setup 2 1
require "python3 is installed" lab_have python3
require "web on lb1" v6_server 1
require "web on lb2" v6_server 2
require "lb1 starts" v6_start 1 150
require "lb1 is MASTER" ha_wait_role 1 MASTER 5
require "lb2 starts" v6_start 2 100
require "lb2 is BACKUP" ha_wait_role 2 BACKUP 5
require "the IPv6 VIP answers" lab_wait_for 5 v6_served_by lb1
lab_spawn client probe6 sh -c "exec '$PROBE' $V6_VIP 8080 10 200 600000 60000 >'$LAB_DIR/p6.log'"

# first_ok T NODE: ms from T to NODE's first good answer in p6.log.
first_ok() { awk -v t="$1" -v n="$2" '$1 >= t && $2 == "ok" && $3 == n { print $1 - t; f = 1; exit } END { exit !f }' "$LAB_DIR/p6.log"; }
session_up() { [[ "$(ha_ctl "$1" status --json | jq -r .sync.session_up)" == true ]]; }
# what the probe saw since T (for a failed round)
seen_since() { awk -v t="$1" '$1 >= t { $1 = ""; n[$0]++ } END { for (k in n) printf "%d x%s; ", n[k], k }' "$LAB_DIR/p6.log"; }

master=1
figures=()
for ((r = 1; r <= ROUNDS; r++)); do
	other=$((3 - master))
	require "round $r: lb$other has its sync session" lab_wait_for 10 session_up "$other"
	sleep 1
	t=$(lab_now_ms)
	lab_kill "lb$master" KILL
	lab_wait_gone "lb$master" 3
	lab_exec "lb$master" "$ANDROMEDA" --release -c "$LAB_DIR/lb$master.conf" >/dev/null 2>&1
	check "round $r: lb$other takes over" lab_wait_for 5 ha_role_is "$other" MASTER
	lab_wait_for 3 first_ok "$t" "lb$other" >/dev/null
	ms=$(first_ok "$t" "lb$other")
	figures+=("${ms:-none}")
	if ! check "round $r: the IPv6 VIP answers from lb$other within $BOUND_MS ms (${ms:-none} ms)" \
		test "${ms:-99999}" -le "$BOUND_MS"; then
		lab_log "probe since the kill: $(seen_since "$t")"
		lab_log "client: $(lab_exec client ip -6 neigh show "$V6_VIP"); lb1 $(ha_mac 1), lb2 $(ha_mac 2)"
	fi
	require "round $r: lb$master restarts" v6_start "$master" "$((master == 1 ? 150 : 100))"
	require "round $r: lb$master is BACKUP" lab_wait_for 5 ha_role_is "$master" BACKUP
	master=$other
done
lab_log "kill -9 to the first IPv6 answer, per round: ${figures[*]} ms"

# --- the released node cannot point the client back at itself --------------
old=$((3 - master))
lab_exec "lb$old" ip -6 neigh flush dev eth0
lab_exec "lb$old" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_IP, 15, 1)  # IP_FREEBIND: the VIP is not ours any more
s.bind((sys.argv[1], 0)); s.sendto(b"x", (sys.argv[2], 9))' "$V6_VIP" "$V6_CLIENT" 2>/dev/null
sleep 0.5
check_eq "the client's neighbour entry for the VIP is still lb$master's MAC" "$(ha_mac "$master")" \
	"$(v6_client_mac)"
check "the IPv6 VIP still answers from lb$master" v6_served_by "lb$master"

# --- [ha]'s IPv6 VIP removed by hand on the MASTER: put back (kwatch) --------
lab_exec "lb$master" ip -6 addr del "$V6_VIP/64" dev eth0
check "lb$master put the IPv6 VIP back" lab_wait_for 3 v6_has_vip "$master"
check "it answers from lb$master again" lab_wait_for 3 v6_served_by "lb$master"
check "lb$master's log says why" grep -q "IPv6 VIP removed while we hold it: put back" "$LAB_DIR/lb$master.log"
lab_stop probe6 3 >/dev/null
check "no sanitizer report" lab_no_sanitizer_report "$LAB_DIR/lb1.log"
lab_finish
