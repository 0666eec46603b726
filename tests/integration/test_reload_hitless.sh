#!/usr/bin/env bash
# test_reload_hitless.sh - issue #15 / SPEC "Signals": SIGHUP reloads every
# key, listeners and threads included, without dropping a connection.  Two
# balancers (lb1 MASTER, lb2 BACKUP), wrk -c64 keep-alive through the VIP
# while lb1's file changes `listen` (one address added, one removed) and
# `threads`, then SIGHUP: a new process applies it the hitless upgrade way
# (docs/configuration.md "Reloading").  Asserts: no failed request, no
# socket error, no failed probe (every 10 ms), lb1 MASTER throughout, no
# role change on lb2; the added listener answers, the removed one refuses,
# the thread count is the new one.  Then a reload of reloadable keys only
# stays in the same process, and an invalid file is refused with
# file:line in the log, by the same process, still MASTER; and a new
# `vip` is taken, the dropped one taken off the interface.
set -u
source "$(dirname "$0")/../lib/lab.sh"
source "$(dirname "$0")/../lib/ha.sh"

ha_setup 2 2
require "wrk is installed" lab_have wrk
# lb1 listens on the VIP's port 80 and 8080 with one proxy thread.
conf1=$(LAB_THREADS=1 ha_conf 1 150)
sed -i "s/^listen = .*/listen = $HA_VIP:80, $HA_VIP:8080/" "$conf1"
require "lb1's file is valid" "$ANDROMEDA" -t -c "$conf1"
lab_spawn lb1 lb1 ${HA_WRAP:-} "$ANDROMEDA" -c "$conf1"
require "lb1 answers" lab_wait_for 5 ha_ctl 1 status
require "lb2 starts" ha_start 2 100
check "lb1 becomes MASTER" ha_wait_role 1 MASTER 3
check "lb2 is BACKUP" ha_wait_role 2 BACKUP 3
session_up() { [[ "$(ha_ctl 2 status --json | jq -r .sync.session_up)" == true ]]; }
check "lb2 follows lb1 through a sync session" lab_wait_for 5 session_up
check "lb1 serves on :8080" lab_exec client curl -sf --max-time 2 -o /dev/null "http://$HA_VIP:8080/"

lb1_pid() { ha_ctl 1 upgrade status --json | jq -r .pid; }
adopt_pid() { echo "$1 $(lab_starttime "$1")" >"$LAB_DIR/pids/lb1"; }
pid_gone() { ! kill -0 "$1" 2>/dev/null || [[ "$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null)" == Z ]]; }
threads_are() { [[ "$(ha_ctl 1 status --json | jq -r '.proxy.threads | length')" == "$1" ]]; }
check "lb1 runs 1 proxy thread" threads_are 1

ha_probe_start 10 500
check "the probe is served by lb1" ha_wait_served_by lb1 3
t_start=$(now_ms)
lab_spawn client wrk wrk -t2 -c64 -d10s --timeout 5s "http://$HA_VIP/"
sleep 2

# --- listen: +8081 -8080, threads 1 -> 2: a new process -------------------
old=$(lb1_pid)
sed -i -e "s/^listen = .*/listen = $HA_VIP:80, $HA_VIP:8081/" -e "s/^threads = .*/threads = 2/" "$conf1"
kill -HUP "$old"
new_pid_answers() { local p; p=$(lb1_pid) && [[ -n "$p" && "$p" != null && "$p" != "$old" ]]; }
check "SIGHUP with new listeners and threads: a new process answers" lab_wait_for 10 new_pid_answers
new=$(lb1_pid)
check "the old process $old exits" lab_wait_for 10 pid_gone "$old"
adopt_pid "$new"
check "lb1 logged why it started a new process" \
	grep -q "reload: \[frontend\] listen or tls_listen changed: a new process applies it" "$LAB_DIR/lb1.log"
check "lb1 ($new) is MASTER" ha_role_is 1 MASTER
check "lb1 holds the VIP" ha_has_vip 1
check "lb1 runs 2 proxy threads" threads_are 2
check "the added listener :8081 serves" lab_exec client curl -sf --max-time 2 -o /dev/null "http://$HA_VIP:8081/"
refused() { ! lab_exec client curl -s --max-time 2 -o /dev/null "http://$HA_VIP:8080/"; }
check "the removed listener :8080 refuses" lab_wait_for 10 refused

lab_wait_gone wrk 20
wrk_out=$(cat "$LAB_DIR/wrk.log")
echo "$wrk_out" | sed 's/^/# /'
reqs=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$wrk_out")
check "wrk completed requests ($reqs)" test "${reqs:-0}" -gt 1000
check "wrk: no socket error (connect, read, write, timeout) across the reload" \
	bash -c "! grep -q 'Socket errors' <<<'$wrk_out'"
check "wrk: no non-2xx answer" bash -c "! grep -q 'Non-2xx' <<<'$wrk_out'"
check "the probe has logged every request sent so far" ha_probe_flush
check_eq "the VIP answered every probe (10 ms) across the reload" 0 "$(ha_failed_since "$t_start")"
check_eq "lb2 logged no role change" 0 "$(grep -c -- "vrrp [0-9]*: .* -> " "$LAB_DIR/lb2.log" | awk '{print $1 - 1}')"
check "lb2 is still BACKUP" ha_role_is 2 BACKUP
check "lb2's crash detector stayed quiet" bash -c "! grep -q 'closed by its kernel' '$LAB_DIR/lb2.log'"
check "lb2 follows the new lb1 through a sync session" lab_wait_for 5 session_up
check "no process of lb1 removed the VIP" bash -c "! grep -q 'vip: removed' '$LAB_DIR/lb1.log'"

# --- reloadable keys only: applied in place, same process ------------------
sed -i "s/^health_interval = .*/&\nretries = 3/" "$conf1"
kill -HUP "$new"
check "a reload of reloadable keys is applied" lab_wait_for 5 \
	bash -c "grep -q 'reload: .* applied' '$LAB_DIR/lb1.log'"
check_eq "... by the same process" "$new" "$(lb1_pid)"

# --- an invalid file: refused with file:line, same process, still MASTER ---
cp "$conf1" "$conf1.good"
echo "not a valid line" >>"$conf1"
line=$(wc -l <"$conf1")
kill -HUP "$new"
check "an invalid file is refused with file:line" lab_wait_for 5 \
	grep -q "reload: $conf1:$line: .*keeping the running configuration" "$LAB_DIR/lb1.log"
check_eq "... the same process still answers" "$new" "$(lb1_pid)"
check "... no new process was started" bash -c "[[ \$(grep -c 'upgrade: started' '$LAB_DIR/lb1.log') == 1 ]]"
check "lb1 is still MASTER" ha_role_is 1 MASTER
check "the VIP still serves through lb1" lab_exec client curl -sf --max-time 2 -o /dev/null "http://$HA_VIP/"
cp "$conf1.good" "$conf1"

ha_probe_stop

# --- [ha] vip changed: the old process takes the dropped VIP off ----------
new_vip=198.18.0.9
sed -i -e "s|^vip = .*|vip = $new_vip/24|" -e "s|^listen = .*|listen = $new_vip:80|" "$conf1"
old=$new
kill -HUP "$old"
check "SIGHUP with a new VIP: a new process answers" lab_wait_for 10 new_pid_answers
new=$(lb1_pid)
check "the old process $old exits" lab_wait_for 10 pid_gone "$old"
adopt_pid "$new"
has_addr() { lab_exec lb1 ip -4 -o addr show dev eth0 | grep -q " $1/"; }
check "lb1 holds the new VIP $new_vip" lab_wait_for 5 has_addr "$new_vip"
check "the VIP the file dropped ($HA_VIP) is gone from lb1" lab_wait_for 5 ha_lacks_vip 1
check "... taken off by the old process as it handed over" grep -q "upgrade: removed 1 VIP(s) the new file no longer has" "$LAB_DIR/lb1.log"
check "lb1 is MASTER" ha_role_is 1 MASTER
check "lb1 serves on the new VIP" lab_exec client curl -sf --max-time 2 -o /dev/null "http://$new_vip/"

# The new lb1 is no child of this shell: no exit status.
kill -TERM "$new"
check "lb1 ($new) exits on SIGTERM" lab_wait_for 15 pid_gone "$new"
for i in 1 2; do
	check "no sanitizer report from lb$i" lab_no_sanitizer_report "$LAB_DIR/lb$i.log"
done
lab_finish
