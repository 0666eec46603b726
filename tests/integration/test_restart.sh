#!/usr/bin/env bash
# test_restart.sh - issue #15: `systemctl restart andromeda` on the active
# node is no failover.  lb1 runs under a fake systemd
# (tests/tools/fake_systemd.py: NOTIFY_SOCKET, the fd store, the restart
# job's ExecStop / ExecStopPost / ExecStartPre / start); lb2 is its BACKUP.
# wrk -c64 keep-alive through the VIP while lb1 is restarted RESTARTS
# times in a row.  Asserts: no failed request (no socket error, no
# non-2xx), the VIP answered every 10 ms, no role change on lb2, lb1
# MASTER throughout (the gap between the stop and the start, 500 ms here,
# is longer than lb2's Master_Down_Interval), the store emptied by each new process, idle
# keep-alive clients handed over.  Then the BACKUP restarted the same way
# stays BACKUP beside the MASTER.  Then a restart whose start fails
# (invalid file) releases the VIP (lb2 takes over), and a plain stop is the
# graceful failover it always was.
# RESTARTS=10 is the issue's figure; CI runs 5.
set -u
source "$(dirname "$0")/../lib/lab.sh"
source "$(dirname "$0")/../lib/ha.sh"

RESTARTS=${RESTARTS:-5}
FAKE="$SRC_DIR/tests/tools/fake_systemd.py"

ha_setup 2 2
SD="$LAB_DIR/sd1"
require "wrk and python3 are installed" lab_have wrk python3
mkdir -p "$SD"
# The gap between the stop and the start outlasts lb2's Master_Down_Interval
# (3 x 100 ms + skew): only lb2's hold (BYE "restart") keeps it BACKUP.
export FAKE_SYSTEMD_START_DELAY_MS=${FAKE_SYSTEMD_START_DELAY_MS:-500}
HA_WRAP="python3 $FAKE serve $SD --" require "lb1 starts under the fake systemd" ha_start 1 150
SD2="$LAB_DIR/sd2"
mkdir -p "$SD2"
HA_WRAP="python3 $FAKE serve $SD2 --" require "lb2 starts under its fake systemd" ha_start 2 100
check "lb1 becomes MASTER" ha_wait_role 1 MASTER 3
check "lb2 is BACKUP" ha_wait_role 2 BACKUP 3
session_up() { [[ "$(ha_ctl 2 status --json | jq -r .sync.session_up)" == true ]]; }
check "lb2 follows lb1 through a sync session" lab_wait_for 5 session_up

sd() { timeout 60 python3 "$FAKE" ctl "$SD" "$1"; }
# The daemon (the fake's child) in the lab's pid files, so that the
# teardown ends it even when this script fails half-way.
track_daemon() { echo "$1 $(lab_starttime "$1")" >"$LAB_DIR/pids/lb1d"; }
track_daemon "$(sd pid)"
pid_gone() { ! kill -0 "$1" 2>/dev/null || [[ "$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null)" == Z ]]; }
lb2_masters() { grep -c -- "-> MASTER" "$LAB_DIR/lb2.log"; }

# The probe's connections wait in the stored listener's backlog over the gap.
ha_probe_start 10 2000
check "the probe is served by lb1" ha_wait_served_by lb1 3
t_start=$(now_ms)
# wrk must outlast the loop, however slow the machine (an ASan build's
# restarts took 2.4-3.1 s each on a slow one, and the checks as long):
# a bound of 24 s a restart, and SIGINT once the loop is done (wrk then
# prints its figures as at the end of its run).
wrk_s=$((RESTARTS * 24 + 10))
lab_spawn client wrk wrk -t2 -c64 -d"${wrk_s}s" --timeout 5s "http://$HA_VIP/"
sleep 1

for ((n = 1; n <= RESTARTS; n++)); do
	old=$(sd pid)
	t0=$(now_ms)
	out=$(sd restart)
	rc=$?
	echo "# restart $n: $out in $(($(now_ms) - t0)) ms"
	check_eq "restart $n: the restart job succeeds ($out)" 0 "$rc"
	new=${out#ok }
	check "restart $n: a new main process ($new, was $old)" test "$new" != "$old"
	track_daemon "$new"
	check "restart $n: the old process $old is gone" pid_gone "$old"
	check "restart $n: lb1 is MASTER" ha_wait_role 1 MASTER 2
	check "restart $n: lb1 holds the VIP" ha_has_vip 1
	check_eq "restart $n: lb2 never became MASTER" 0 "$(lb2_masters)"
	check_eq "restart $n: the new process emptied the store" "" "$(sd store)"
	sleep 0.5
done

check "wrk ran across every restart" lab_alive wrk
lab_kill wrk INT
lab_wait_gone wrk 10
wrk_out=$(cat "$LAB_DIR/wrk.log")
echo "$wrk_out" | sed 's/^/# /'
reqs=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$wrk_out")
check "wrk completed requests ($reqs)" test "${reqs:-0}" -gt 1000
check "wrk: no socket error across $RESTARTS restarts" bash -c "! grep -q 'Socket errors' <<<'$wrk_out'"
check "wrk: no non-2xx answer" bash -c "! grep -q 'Non-2xx' <<<'$wrk_out'"
check "the probe has logged every request sent so far" ha_probe_flush
check_eq "the VIP answered every probe (10 ms) across the restarts" 0 "$(ha_failed_since "$t_start")"
check_eq "lb2 logged no role change" 0 "$(grep -c -- "vrrp [0-9]*: .* -> " "$LAB_DIR/lb2.log" | awk '{print $1 - 1}')"
check "lb2 held its takeover for the restart" grep -q "the MASTER restarts: no takeover" "$LAB_DIR/lb2.log"
check "idle keep-alive clients were handed over" \
	grep -Eq "restart: serving [1-9][0-9]* client\(s\) of the previous process" "$LAB_DIR/lb1.log"
check "ExecStopPost left the VIP to the next process" \
	grep -q "restart: the VIP stays for the next process" "$LAB_DIR/lb1.log"
check "no process of lb1 removed the VIP" bash -c "! grep -q 'vip: removed' '$LAB_DIR/lb1.log'"
check "no process of lb1 sent priority 0" bash -c "! grep -q 'released with priority 0' '$LAB_DIR/lb1.log'"
check "lb2 follows the new lb1 through a sync session" lab_wait_for 5 session_up

# --- the BACKUP restarted: it stays BACKUP, the MASTER notices nothing ----
echo "$(timeout 60 python3 "$FAKE" ctl "$SD2" pid) 0" >"$LAB_DIR/pids/lb2d"
t_b=$(now_ms)
out=$(timeout 60 python3 "$FAKE" ctl "$SD2" restart)
check "lb2's restart job succeeds ($out)" grep -q '^ok' <<<"$out"
echo "${out#ok } 0" >"$LAB_DIR/pids/lb2d"
check "lb2 is BACKUP again" ha_wait_role 2 BACKUP 3
check "lb1 is still MASTER" ha_role_is 1 MASTER
check_eq "lb2 holds no VIP" "lb1" "$(ha_vip_holders 2)"
check "lb2 follows lb1 again" lab_wait_for 5 session_up
check "the probe has logged every request sent so far" ha_probe_flush
check_eq "no failed probe across lb2's restart" 0 "$(ha_failed_since "$t_b")"
check "lb1 logged no role change" bash -c "! grep -q 'vrrp [0-9]*: MASTER -> ' '$LAB_DIR/lb1.log'"

# --- a restart whose start fails: ExecStopPost releases the VIP ----------
cp "$LAB_DIR/lb1.conf" "$LAB_DIR/lb1.conf.good"
echo "not a valid line" >>"$LAB_DIR/lb1.conf"
old=$(sd pid)
out=$(sd restart)
echo "# restart with an invalid file: $out"
check "a restart with an invalid file fails at ExecStartPre" grep -q "failed ExecStartPre" <<<"$out"
check "... the old process $old is gone" pid_gone "$old"
check "... and the VIP is off lb1" ha_lacks_vip 1
check "... lb2 takes over after its hold" ha_wait_role 2 MASTER 10
cp "$LAB_DIR/lb1.conf.good" "$LAB_DIR/lb1.conf"

ha_probe_stop
sd stop >/dev/null
timeout 60 python3 "$FAKE" ctl "$SD2" stop >/dev/null
lab_wait_gone lb1 10
lab_wait_gone lb2 10
check "no sanitizer report from lb1" lab_no_sanitizer_report "$LAB_DIR/lb1.log"
check "no sanitizer report from lb2" lab_no_sanitizer_report "$LAB_DIR/lb2.log"
lab_finish
