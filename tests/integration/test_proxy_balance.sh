#!/usr/bin/env bash
# [backend] balance through the real daemon, 3 fakesrv backends, be1 slow
# (fakesrv -d: every request waits 100 ms more).
#  source:     each of 6 client addresses keeps one backend over 10
#              requests; not all on one backend; draining a client's
#              backend moves that client, the others stay; enabling it
#              brings the client back.  status --json shows the algorithm.
#  leastconn:  switched by a reload (SIGHUP); 6 parallel streams: the slow
#              backend gets far fewer requests than its third.
#  roundrobin: reloaded back; the same load gives the slow one its third.
set -uo pipefail
source "$(dirname "$0")/../lib/lab.sh"

URL="http://$LAB_LB_IP"
SLOW_MS=100
NCLIENTS=6

write_conf() {
	{
		lab_node_conf lb1
		printf '[frontend]\nlisten = %s:80\n\n' "$LAB_LB_IP"
		printf '[backend]\nbalance = %s\nhealth_check = /healthz\nhealth_interval = 1s\nrise = 1\nfall = 3\n\n' "$1"
		lab_servers_conf 3
	} >"$LAB_DIR/lb.conf"
}

client_ip() { echo "198.18.0.$((100 + $1))"; }

# backend_of I: the one backend client I reached over 10 requests, or
# "mixed:..." when it reached more than one.
backend_of() {
	local names
	names=$(lab_exec client timeout 30 curl -s --interface "$(client_ip "$1")" \
		"$URL/?c=$1&n=[1-10]" | sort -u | tr '\n' ' ')
	names=${names% }
	[[ "$names" == *" "* || -z "$names" ]] && names="mixed:$names"
	echo "$names"
}

backend_requests() {
	lab_exec client curl -s --max-time 2 "http://$(lab_be_ip "$1")/stats" | jq -r .requests
}

balance_is() { [[ "$(lab_status_json | jq -r .pool.balance)" == "$1" ]]; }

# load: 300 GETs over 6 parallel keep-alive streams; prints the requests
# each backend got "b1 b2 b3".
load() {
	local before=() i
	for i in 1 2 3; do before[i]=$(backend_requests "$i"); done
	lab_exec client timeout 120 curl -s --no-progress-meter --parallel --parallel-max 6 \
		"$URL/?l=[1-300]" -o /dev/null >/dev/null
	for i in 1 2 3; do printf '%s ' "$(($(backend_requests "$i") - before[i]))"; done
}

require "running as root" test "$EUID" -eq 0
require "andromeda is built ($ANDROMEDA)" test -x "$ANDROMEDA"
require "fakesrv is built ($FAKESRV)" test -x "$FAKESRV"
require "jq and curl are installed" lab_have jq curl
lab_trap
require "lab namespace and bridge" lab_init
require "lab topology: client, lb, 3 backends" lab_topology 3
for ((i = 2; i <= NCLIENTS; i++)); do
	require "client address $(client_ip "$i")" lab_addr client "$(client_ip "$i")/24"
done
require "client address $(client_ip 1)" lab_addr client "$(client_ip 1)/24"
require "be1 (slow, ${SLOW_MS} ms)" lab_fakesrv 1 -d "$SLOW_MS"
require "be2" lab_fakesrv 2
require "be3" lab_fakesrv 3
for i in 1 2 3; do
	require "be$i answers" lab_wait_tcp client "$(lab_be_ip "$i")" 80 5
done

# --- source ------------------------------------------------------------------
write_conf source
require "andromeda starts (balance = source)" lab_start_andromeda "$LAB_DIR/lb.conf"
check "all 3 servers up" lab_wait_for 5 lab_all_up 3
check "status --json: pool.balance = source" balance_is source
declare -A home
for ((i = 1; i <= NCLIENTS; i++)); do
	home[$i]=$(backend_of "$i")
	check "client $(client_ip "$i") keeps one backend (${home[$i]})" \
		test "${home[$i]#mixed:}" == "${home[$i]}"
done
check "the clients are not all on one backend" \
	test "$(printf '%s\n' "${home[@]}" | sort -u | wc -l)" -ge 2

gone=${home[1]}
require "drain $gone (client 1's backend)" eval "lab_ctl drain $gone >/dev/null"
moved=$(backend_of 1)
one_other() { [[ "$1" != "$2" && "$1" != mixed:* ]]; }
check "client 1 moved off the drained $gone to one other backend ($moved)" one_other "$moved" "$gone"
for ((i = 2; i <= NCLIENTS; i++)); do
	[[ "${home[$i]}" == "$gone" ]] && continue
	check_eq "client $i stays on ${home[$i]} while $gone drains" "${home[$i]}" "$(backend_of "$i")"
done
require "enable $gone" eval "lab_ctl enable $gone >/dev/null"
check_eq "client 1 is back on $gone" "$gone" "$(backend_of 1)"

# --- leastconn (by reload) ---------------------------------------------------
write_conf leastconn
lab_kill andromeda HUP
check "after a reload, pool.balance = leastconn" lab_wait_for 5 balance_is leastconn
read -r lc1 lc2 lc3 <<<"$(load)"
lab_log "leastconn: be1 (slow) $lc1, be2 $lc2, be3 $lc3"
check_eq "leastconn: 300 requests" 300 "$((lc1 + lc2 + lc3))"
# A third would be 100; with 6 in flight and the others ~100x faster the
# slow one holds about one of them.
check "leastconn: the slow be1 got under 15% ($lc1 of 300)" test "$lc1" -lt 45

# --- roundrobin (by reload), the same load -----------------------------------
write_conf roundrobin
lab_kill andromeda HUP
check "after a reload, pool.balance = roundrobin" lab_wait_for 5 balance_is roundrobin
read -r rr1 rr2 rr3 <<<"$(load)"
lab_log "roundrobin: be1 (slow) $rr1, be2 $rr2, be3 $rr3"
check "roundrobin: the slow be1 got its third ($rr1 of 300)" test "$rr1" -ge 95 -a "$rr1" -le 105
check "leastconn sent the slow be1 under half what roundrobin did" test $((lc1 * 2)) -lt "$rr1"

lab_stop_andromeda
lab_finish
