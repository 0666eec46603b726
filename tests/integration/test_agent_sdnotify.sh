#!/usr/bin/env bash
# test_agent_sdnotify.sh - issue 11 item 12: andromeda-agent under a
# (stand-in) systemd, as systemd/andromeda-agent.service runs it
# (Type=notify, WatchdogSec=): READY=1 once, with a STATUS; WATCHDOG=1 at
# half WATCHDOG_USEC from its event loop, never later than WatchdogSec;
# STOPPING=1 on SIGTERM, then the withdraw and exit 0.  Without the
# notification code the agent sends nothing and every check below fails.
set -uo pipefail
source "$(dirname "$0")/../lib/lab.sh"

AGENT=${AGENT:-$BUILD_DIR/andromeda-agent}
SINK=$BUILD_DIR/tests/notify_sink
BE_IP=198.18.0.21
WATCHDOG_MS=1000

require "running as root" test "$EUID" -eq 0
require "andromeda-agent is built ($AGENT)" test -x "$AGENT"
require "notify_sink is built" test -x "$SINK"
require "fakesrv is built ($FAKESRV)" test -x "$FAKESRV"
lab_trap
require "lab namespace and bridge" lab_init
require "host be1" lab_host be1 "$BE_IP/24"
require "cluster key" eval '(umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d " \n" >"$LAB_DIR/cluster.key" && echo >>"$LAB_DIR/cluster.key")'
cat >"$LAB_DIR/agent.conf" <<EOF
[agent]
name = be1
service = $BE_IP:80
health_url = http://$BE_IP:80/healthz
interface = eth0
announce_interval = 200ms
key_file = $LAB_DIR/cluster.key
EOF
lab_spawn be1 be1 "$FAKESRV" -l "$BE_IP:80" -n be1
require "fakesrv answers /healthz" lab_wait_http be1 "http://$BE_IP/healthz" 5

log=$LAB_DIR/sink.log
# The sink's lifetime is only a bound: lab_stop ends it.
lab_spawn be1 sink "$SINK" "$LAB_DIR/notify.sock" 60
require "the notification socket is bound" lab_wait_for 2 test -S "$LAB_DIR/notify.sock"
lab_spawn be1 agent env NOTIFY_SOCKET="$LAB_DIR/notify.sock" WATCHDOG_USEC=$((WATCHDOG_MS * 1000)) \
	"$AGENT" -c "$LAB_DIR/agent.conf"

check "READY=1 within 2 s" lab_wait_for 2 grep -q 'READY=1' "$log"
check "... with a STATUS= (systemctl status shows it)" grep -q 'READY=1 STATUS=announcing' "$log"
# A window of 2.2 s measured from the first ping, on the sink's clock.
check "first WATCHDOG=1 within 1 s of READY" lab_wait_for 1 grep -q 'WATCHDOG=1' "$log"
first=$(awk '/WATCHDOG=1/ { print $1; exit }' "$log")
first=${first:-0}
watch_window() { (($(tail -n1 "$log" | cut -d' ' -f1) >= first + 2200)) || ! lab_alive sink; }
lab_wait_for 5 watch_window
n=$(awk -v f="$first" '/WATCHDOG=1/ && $1 <= f + 2200' "$log" | wc -l)
check_ge "WATCHDOG=1 every $((WATCHDOG_MS / 2)) ms (>= 4 in 2.2 s from the first)" "$n" 4
check_le "... and not more often (<= 6)" "$n" 6
gaps=$(grep 'WATCHDOG=1' "$log" | awk 'NR > 1 { print $1 - prev } { prev = $1 }' | sort -n)
check_ge "shortest watchdog gap >= 400 ms" "$(head -n1 <<<"$gaps")" 400
# systemd kills the unit when a ping is later than WatchdogSec after the last.
check_le "longest watchdog gap < WatchdogSec ($WATCHDOG_MS ms)" "$(tail -n1 <<<"$gaps")" $((WATCHDOG_MS - 1))
check_eq "READY=1 sent once" 1 "$(grep -c 'READY=1' "$log")"
check "the agent announces meanwhile" grep -q 'announcing on eth0' "$LAB_DIR/agent.log"

lab_stop agent 5
check_eq "exit 0 on SIGTERM" 0 "$?"
check "STOPPING=1 on SIGTERM" grep -q 'STOPPING=1' "$log"
check "and it withdrew" grep -q 'SIGTERM: withdrawing be1' "$LAB_DIR/agent.log"
lab_stop sink 2 >/dev/null
lab_finish
