#!/usr/bin/env bash
# Out of file descriptors (issue 11 item 4, docs/robustness.md): the daemon
# runs with `ulimit -n 64` and is held by more clients than it has
# descriptors - 200 on the proxy's listener, 20 on the sync listener, one
# andromedactl on the control socket.  Every listener must pause (not spin:
# the daemon uses < 0.5 s of CPU over 5 s while saturated), log its pause
# once, and serve again once the clients go.
set -uo pipefail
source "$(dirname "$0")/../lib/lab.sh"
source "$(dirname "$0")/../lib/ha.sh"

HOLDCONNS=${HOLDCONNS:-$BUILD_DIR/tests/holdconns}
NOFILE=64
NCLIENTS=200   # > NOFILE: the rest wait in the listen backlog (4096)
NSYNC=20       # < the sync listener's backlog (64)
CPU_MAX_MS=500
SYNC_PORT=7788

write_conf() {
	mkdir -p "$LAB_DIR/state"
	{
		printf '[node]\nname = lb1\nstate_dir = %s/state\ncontrol_socket = %s/control.sock\n\n' \
			"$LAB_DIR" "$LAB_DIR"
		# Held clients never send a request: keep them until released.
		printf '[frontend]\nlisten = %s:80\nheader_timeout = 2m\n\n' "$HA_VIP"
		# Checks need descriptors too: none is due while saturated.
		printf '[backend]\nhealth_check = /healthz\nhealth_interval = 1m\nrise = 1\n\n'
		lab_servers_conf 1
		printf '[ha]\ninterface = eth0\nvrid = 51\npriority = 150\nadvert_interval = 1s\n'
		printf 'vip = %s/24\nkey_file = %s/cluster.key\nsync_port = %s\n' "$HA_VIP" "$LAB_DIR" "$SYNC_PORT"
	} >"$LAB_DIR/lb1.conf"
}

# cpu_ms PID: user + system CPU time of PID so far, in ms.
cpu_ms() {
	local stat
	stat=$(cat "/proc/$1/stat") || return 1
	stat=${stat##*) } # comm may hold spaces: fields from 3 on
	set -- $stat
	echo $(((${12} + ${13}) * 1000 / $(getconf CLK_TCK)))
}

nfds() { ls "/proc/$1/fd" | wc -l; }
# at_limit PID: the daemon holds (nearly) all its descriptors.  Not exactly
# all: the sync listener evicts clients that never authenticate, and the
# descriptor is taken again on the next retry, up to 100 ms later.
at_limit() { (($(nfds "$1") >= NOFILE - 1)); }
log_count() { grep -c -- "$1" "$LAB_DIR/andromeda.log"; }
is_master() { [[ "$(lab_status_json | jq -r .role)" == MASTER ]]; }
get_ok() { [[ "$(lab_exec client curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$HA_VIP/")" == 200 ]]; }
ready() { grep -q '^ready' "$LAB_DIR/$1.log" 2>/dev/null; }

require "holdconns is built ($HOLDCONNS)" test -x "$HOLDCONNS"
ha_setup 1 1
write_conf
require "the config is valid" "$ANDROMEDA" -t -c "$LAB_DIR/lb1.conf"
# bash execs the daemon: the pid lab_spawn records is the daemon's.
lab_spawn lb1 andromeda bash -c 'ulimit -n "$0" && exec "$@"' "$NOFILE" "$ANDROMEDA" -c "$LAB_DIR/lb1.conf"
pid=$LAB_SPAWNED_PID
require "the daemon answers on its control socket" lab_wait_for 5 lab_status_json
require "lb1 becomes MASTER" lab_wait_for 10 is_master
require "be1 is up" lab_wait_for 5 lab_all_up 1
require "a GET is answered before the flood" lab_wait_for 5 get_ok
check_eq "the daemon's descriptor limit is $NOFILE" "$NOFILE" \
	"$(awk '/^Max open files/ { print $4 }' "/proc/$pid/limits")"

# --- saturate ---------------------------------------------------------------
lab_spawn client hold "$HOLDCONNS" -c -t 20 "$HA_VIP" 80 "$NCLIENTS" 120
require "$NCLIENTS clients connected to the proxy" lab_wait_for 20 ready hold
# Silent clients on an HTTP listener are accepted about a second late
# (TCP_DEFER_ACCEPT, docs/configuration.md): they must have taken the
# descriptors before the sync clients come, or those would get them.
check "the proxy listener pauses" lab_wait_for 10 grep -q "frontend $HA_VIP:80: cannot accept, pausing" \
	"$LAB_DIR/andromeda.log"
lab_spawn client holdsync "$HOLDCONNS" -c -t 20 "$(ha_lb_ip 1)" "$SYNC_PORT" "$NSYNC" 120
require "$NSYNC clients connected to the sync listener" lab_wait_for 20 ready holdsync
# andromedactl gives up after 5 s (or is answered if a descriptor frees:
# the sync listener evicts clients that never authenticate).
lab_spawn lb1 ctl "$ANDROMEDACTL" -s "$LAB_DIR/control.sock" status
check "the sync listener pauses" lab_wait_for 10 grep -q "sync listener: cannot accept, pausing" \
	"$LAB_DIR/andromeda.log"
check "the control socket pauses" lab_wait_for 10 grep -q "control $LAB_DIR/control.sock: cannot accept, pausing" \
	"$LAB_DIR/andromeda.log"
check "the daemon holds all its $NOFILE descriptors" lab_wait_for 5 at_limit "$pid"

c0=$(cpu_ms "$pid")
sleep 5 # the measurement window itself, not a wait for a condition
c1=$(cpu_ms "$pid")
check_le "CPU time over 5 s while saturated, ms" $((c1 - c0)) "$CPU_MAX_MS"
check "still out of descriptors after the window" lab_wait_for 5 at_limit "$pid"
lab_wait_gone ctl 5

# --- release ----------------------------------------------------------------
lab_stop hold 5
lab_stop holdsync 5
check "a GET is answered once the clients are gone" lab_wait_for 5 get_ok
check "andromedactl status is answered again" lab_wait_for 5 lab_status_json
check "the sync listener accepts again" lab_wait_for 5 lab_tcp_open client "$(ha_lb_ip 1)" "$SYNC_PORT"
check_eq "one pause line for the proxy listener" 1 "$(log_count "frontend $HA_VIP:80: cannot accept, pausing")"
check_eq "one pause line for the sync listener" 1 "$(log_count "sync listener: cannot accept, pausing")"
check_eq "one pause line for the control socket" 1 "$(log_count "control $LAB_DIR/control.sock: cannot accept, pausing")"
check "the proxy listener logs that it accepts again" \
	grep -q "frontend $HA_VIP:80: accepting again" "$LAB_DIR/andromeda.log"
check_le "no more pause lines of any kind" "$(log_count "cannot accept")" 3

lab_stop_andromeda
lab_finish
