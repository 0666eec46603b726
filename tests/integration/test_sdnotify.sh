#!/usr/bin/env bash
# test_sdnotify.sh - issue #5: the daemon under a (stand-in) systemd:
# READY=1 once serving, WATCHDOG=1 at half WATCHDOG_USEC from the event
# loop, STOPPING=1 on SIGTERM; SIGHUP reloads (and a bad file changes
# nothing); started as root with [node] user, it drops to that user and
# keeps only the three network capabilities.
set -u
source "$(dirname "$0")/../lib/lab.sh"
SINK=$BUILD_DIR/tests/notify_sink

lab_common_setup 3
require "notify_sink is built" test -x "$SINK"
conf="$LAB_DIR/lb.conf"
write_conf() {
	{
		lab_node_conf lb1
		printf '[frontend]\nlisten = %s:80\n\n[backend]\nhealth_interval = 500ms\n\n' "$LAB_LB_IP"
		lab_servers_conf "$1" 3 1 1
		printf '%b' "${2:-}"
	} >"$conf"
}
write_conf 2

# --- notify protocol ---------------------------------------------------------------
# The sink's own bound (60 s) is a safety net: the test stops it.
lab_spawn lb sink "$SINK" "$LAB_DIR/notify.sock" 60
require "the notify sink listens" lab_wait_for 10 test -S "$LAB_DIR/notify.sock"
lab_spawn lb andromeda env NOTIFY_SOCKET="$LAB_DIR/notify.sock" WATCHDOG_USEC=1000000 "$ANDROMEDA" -c "$conf"
check "andromeda answers" lab_wait_tcp client "$LAB_LB_IP" 80 5
log="$LAB_DIR/sink.log"
# Seven pings (six intervals) counted as they come, not after a sleep.
NWD=7
pings() { grep -c 'WATCHDOG=1' "$log"; }
check "$NWD WATCHDOG=1 pings arrive" lab_wait_for 10 eval '(($(pings) >= NWD))'
check_eq "READY=1 sent once" 1 "$(grep -c 'READY=1' "$log")"
# The interval is half WATCHDOG_USEC: the mean over six gaps, which one late
# wake-up barely moves.  What systemd needs is a ping before each
# WATCHDOG_USEC (1 s) is out, or it kills the service: no gap may reach it.
stamps=$(grep 'WATCHDOG=1' "$log" | head -n "$NWD" | cut -d' ' -f1)
mean=$(awk -v n="$NWD" 'NR == 1 { a = $1 } { b = $1 } END { if (NR == n) print int((b - a) / (n - 1)) }' <<<"$stamps")
check_ge "WATCHDOG=1 every 500 ms: mean gap over $((NWD - 1)) (ms)" "$mean" 450
check_le "... and not more often: mean gap (ms)" "$mean" 550
check_le "no gap between pings reaches WATCHDOG_USEC (ms)" \
	"$(awk 'NR > 1 { g = $1 - p; if (g > m) m = g } { p = $1 } END { print m + 0 }' <<<"$stamps")" 999

# --- SIGHUP reload ------------------------------------------------------------------
write_conf 3
lab_kill andromeda HUP
has_be3() { lab_server_field be3 address | grep -q 198.18.0.23; }
check "SIGHUP adds server be3" lab_wait_for 3 has_be3
check_eq "... and applied be1's new weight" 3 "$(lab_server_field be1 weight)"
check "the reload told systemd (RELOADING=1)" lab_wait_for 2 grep -q 'RELOADING=1' "$log"
echo 'advert_interval = 100' >>"$conf" # a key in the wrong place: invalid file
lab_kill andromeda HUP
check "an invalid file is reported with file:line" lab_wait_for 2 grep -q "reload: $conf:[0-9]*:" "$LAB_DIR/andromeda.log"
check "... and the running configuration stays" has_be3
write_conf 2
lab_kill andromeda HUP
gone_be3() { ! has_be3; }
check "a server dropped from the file leaves the pool" lab_wait_for 3 gone_be3

lab_stop andromeda 10
check_eq "exit 0 on SIGTERM" 0 "$?"
check "STOPPING=1 on SIGTERM" grep -q 'STOPPING=1' "$log"
lab_stop sink 2 >/dev/null

# --- privilege drop outside systemd -----------------------------------------------
write_conf 2
sed -i "s/^name = lb1$/name = lb1\nuser = nobody/" "$conf"
lab_spawn lb andromeda "$ANDROMEDA" -c "$conf"
check "andromeda answers as nobody" lab_wait_tcp client "$LAB_LB_IP" 80 5
pid=$(lab_pid andromeda)
check_eq "runs as uid of nobody" "$(id -u nobody)" "$(awk '/^Uid:/ {print $2}' /proc/$pid/status)"
check_eq "keeps only CAP_NET_BIND_SERVICE, CAP_NET_ADMIN, CAP_NET_RAW" 0000000000003400 \
	"$(awk '/^CapEff:/ {print $2}' /proc/$pid/status)"
check "still serves" lab_exec client curl -sf --max-time 2 -o /dev/null "http://$LAB_LB_IP/"
lab_stop_andromeda
lab_finish
