#!/usr/bin/env bash
# test_ha_active.sh - issue 16: active-active with two VRRP instances.
# lb1 and lb2 run [ha] (vrid 51, VIP A) and [vrrp web-b] (vrid 52, VIP B)
# with crossed priorities: lb1 is MASTER of A, lb2 of B, and a client
# using both addresses (what DNS round-robin over A and B gives) is
# served by both balancers.  kill -9 of lb1: lb2 holds both VIPs (the
# takeover of A is timed from the kill to the first good answer on A);
# lb1 comes back and takes A back (preempt), B stays on lb2.  Throughout,
# ip addr is sampled in both namespaces every 10 ms: no VIP is ever held
# by both at once.  A hitless upgrade of lb2 keeps web-b on it.  Then
# kill -9 of lb2: lb1 holds both (B after its check of lb2's sync port,
# docs/vrrp.md "Instances").
set -u
source "$(dirname "$0")/../lib/lab.sh"
source "$(dirname "$0")/../lib/ha.sh"

VIP_A=$HA_VIP
VIP_B=198.18.0.9
HA_LISTEN="$VIP_A:80, $VIP_B:80"
ha_setup 2 2

cat >"$LAB_DIR/notify.sh" <<NTF
#!/bin/sh
echo "\$1 \$2 \$3" >>"$LAB_DIR/notify-\$ANDROMEDA_NODE.log"
NTF
chmod 755 "$LAB_DIR/notify.sh"
HA_EXTRA="notify = $LAB_DIR/notify.sh"
# more PRIO: [vrrp web-b] with that priority, and the metrics listener.
more() { HA_MORE="[vrrp web-b]\nvrid = 52\npriority = $1\nvip = $VIP_B/24\n\n[stats]\nlisten = 127.0.0.1:8404"; }
start1() { more 100 && ha_start 1 150; }
start2() { more 150 && ha_start 2 100; }

# role I NAME: instance NAME's role on lbI.
role() { ha_ctl "$1" status --json | jq -r --arg n "$2" '.instances[] | select(.name == $n) | .role'; }
role_is() { [[ "$(role "$1" "$2")" == "$3" ]]; }
wait_role() { lab_wait_for "$4" role_is "$1" "$2" "$3"; }
# holds I VIP: lbI has VIP on eth0 (and its own address: the list was read).
vips_of() { lab_exec "lb$1" ip -4 -o addr show dev eth0; }
holds() { vips_of "$1" | grep -q " $2/"; }
lacks() { local a; a=$(vips_of "$1") && grep -q " $(ha_lb_ip "$1")/" <<<"$a" && ! grep -q " $2/" <<<"$a"; }
# holds_only I A B: lbI holds A and not B; holds_both I.
holds_only() { holds "$1" "$2" && lacks "$1" "$3"; }
holds_both() { holds "$1" "$VIP_A" && holds "$1" "$VIP_B"; }
lacks_both() { lacks "$1" "$VIP_A" && lacks "$1" "$VIP_B"; }

require "lb1 starts" start1
require "lb2 starts" start2

# --- both serve -----------------------------------------------------------
check "lb1 is MASTER of ha (VIP A)" wait_role 1 ha MASTER 5
check "lb2 is MASTER of web-b (VIP B)" wait_role 2 web-b MASTER 5
check "lb1 is BACKUP of web-b" wait_role 1 web-b BACKUP 3
check "lb2 is BACKUP of ha" wait_role 2 ha BACKUP 3
check "lb1 holds VIP A, not B" lab_wait_for 3 holds_only 1 "$VIP_A" "$VIP_B"
check "lb2 holds VIP B, not A" lab_wait_for 3 holds_only 2 "$VIP_B" "$VIP_A"
check_eq "top-level role is the first instance's (lb2)" BACKUP "$(ha_role 2)"
check_eq "status lists both instances" "ha:51 web-b:52" \
	"$(ha_ctl 2 status --json | jq -r '[.instances[] | "\(.name):\(.vrid)"] | join(" ")')"
check_eq "web-b on lb2: priority, base, vips, vip_held" "150 150 $VIP_B/24 true" \
	"$(ha_ctl 2 status --json | jq -r '.instances[1] | "\(.priority) \(.base_priority) \(.vips[0]) \(.vip_held)"')"
check "andromedactl status shows the instances table" bash -c "'$ANDROMEDACTL' -s '$LAB_DIR/lb2.sock' status | grep -Eq '^  web-b +52 +MASTER'"
metric() { lab_exec "lb$1" curl -sf http://127.0.0.1:8404/metrics | grep -q "^andromeda_vrrp_state{instance=\"$2\"} $3\$"; }
metrics_lb2() { metric 2 web-b 2 && metric 2 ha 1; }
check "lb2 metrics: web-b MASTER (2), ha BACKUP (1)" metrics_lb2
check "lb2's notify ran per instance (web-b MASTER 150, ha BACKUP 100)" \
	lab_wait_for 3 bash -c "grep -qx 'web-b MASTER 150' '$LAB_DIR/notify-lb2.log' && grep -qx 'ha BACKUP 100' '$LAB_DIR/notify-lb2.log'"
check "lb1's notify ran per instance (ha MASTER 150, web-b BACKUP 100)" \
	lab_wait_for 3 bash -c "grep -qx 'ha MASTER 150' '$LAB_DIR/notify-lb1.log' && grep -qx 'web-b BACKUP 100' '$LAB_DIR/notify-lb1.log'"
check "lb2's journal names the instance" bash -c "'$ANDROMEDACTL' -s '$LAB_DIR/lb2.sock' journal | grep -q 'web-b: BACKUP -> MASTER'"

# The VIPs on eth0 in both namespaces every 10 ms (bounded: 40000
# samples): "before after vips..." per line, times in us (the kernel's
# view is read in between).
NL_PROBE=${NL_PROBE:-$BUILD_DIR/tests/nl_probe}
require "nl_probe is built" test -x "$NL_PROBE"
sampler() {
	lab_spawn "lb$1" "sample$1" "$NL_PROBE" sample eth0 10 40000 "$VIP_A/24" "$VIP_B/24"
}
sampler 1
sampler 2
ha_probe_start 10 500 # VIP A, into probe.log (the ha.sh helpers read it)
lab_spawn client probeB sh -c "exec '$PROBE' $VIP_B 80 10 500 600000 60000 >'$LAB_DIR/probeB.log'"
served_b() {
	local since=$(now_ms)
	lab_wait_for "$2" awk -v t="$since" -v n="$1" 'BEGIN { r = 1 } $1 >= t && $2 == "ok" && $3 == n { r = 0 } END { exit r }' \
		"$LAB_DIR/probeB.log"
}
check "VIP A is served by lb1" ha_wait_served_by lb1 3
check "VIP B is served by lb2" served_b lb2 3
# The client alternates between the two addresses, as after a round-robin
# DNS answer: each request is answered by its address's MASTER.
alternate() {
	local i via want vip
	for ((i = 0; i < 20; i++)); do
		if ((i % 2)); then want=lb2 vip=$VIP_B; else want=lb1 vip=$VIP_A; fi
		via=$(lab_exec client curl -s -m 2 -o /dev/null -D - "http://$vip/" | tr -d '\r' | sed -n 's/^[Vv]ia: 1.1 //p')
		[[ "$via" == "$want" ]] || { echo "# request $i to $vip: via '$via', want $want"; return 1; }
	done
}
check "20 requests alternating A and B: each answered by its MASTER" alternate

# --- kill -9 of lb1: lb2 holds both ------------------------------------------
t_kill=$(now_ms)
lab_kill lb1 KILL
# systemd's ExecStopPost= (deploy/): the dead node's kernel gives up the VIPs.
lab_exec lb1 "$ANDROMEDA" --release -c "$LAB_DIR/lb1.conf"
t_rel=$(now_ms)
check "lb2 becomes MASTER of ha" wait_role 2 ha MASTER 3
check "VIP A is served by lb2" ha_wait_served_by lb2 3
ms=$(ha_takeover_ms "$t_kill" lb2)
echo "# kill -9 lb1 -> first good answer on VIP A via lb2: ${ms:-none} ms ($(ha_failed_since "$t_kill") failed probes on A)"
check "lb2 took A over as lb1's named successor ($(ha_last_takeover 2))" \
	bash -c "[[ '$(ha_last_takeover 2)' == 'master lost (sync session reset), named successor'* ]]"
# Below Master_Down_Interval (3 x 100 ms + skew): the crash detector
# moved, not the RFC timer.  #15's targets (20 ms median, 40 worst) are
# a bench's business (tests/bench/failover.sh), not a loaded CI box's.
check "A answered again within 300 ms of the kill (${ms:-none} ms)" test "${ms:-99999}" -le 300
check "lb2 holds both VIPs" holds_both 2
check_eq "lb2 is still MASTER of web-b" MASTER "$(role 2 web-b)"
ha_probe_flush
check_eq "no failed probe on VIP B since the kill" 0 \
	"$(awk -v a="$t_kill" '$1 >= a && $2 == "fail" { n++ } END { print n + 0 }' "$LAB_DIR/probeB.log")"

# --- lb1 comes back: it takes A back, B stays on lb2 -------------------------
require "lb1 restarts" start1
check "lb1 is MASTER of ha again (preempt)" wait_role 1 ha MASTER 10
check "lb2 is BACKUP of ha" wait_role 2 ha BACKUP 3
check_eq "lb2 is still MASTER of web-b" MASTER "$(role 2 web-b)"
check_eq "lb1 is BACKUP of web-b" BACKUP "$(role 1 web-b)"
check "VIP A is served by lb1 again" ha_wait_served_by lb1 3
check "lb1 holds A, not B" lab_wait_for 3 holds_only 1 "$VIP_A" "$VIP_B"
check "lb2 holds B, not A" lab_wait_for 3 holds_only 2 "$VIP_B" "$VIP_A"
check "alternating requests: each answered by its MASTER again" alternate

# --- a hitless upgrade of lb2 (MASTER of web-b only) -------------------------
# The new process is told the [ha] instance's role (BACKUP) and finds
# web-b's VIP on the interface: it goes on as MASTER of web-b, no failover.
lb2_pid() { ha_ctl 2 upgrade status --json | jq -r .pid; }
old=$(lb2_pid)
lb1_web_b_masters() { grep -c -- "vrrp 52: [A-Z]* -> MASTER" "$LAB_DIR/lb1.log"; }
before=$(lb1_web_b_masters)
t_up=$(now_ms)
check "andromedactl upgrade on lb2" ha_ctl 2 upgrade
new_pid_answers() { local p; p=$(lb2_pid) && [[ -n "$p" && "$p" != null && "$p" != "$old" ]]; }
check "a new lb2 process answers" lab_wait_for 10 new_pid_answers
new=$(lb2_pid)
echo "$new $(lab_starttime "$new")" >"$LAB_DIR/pids/lb2" # for the kill below and the teardown
check "the new lb2 is MASTER of web-b" role_is 2 web-b MASTER
check "the new lb2 is BACKUP of ha" role_is 2 ha BACKUP
check "the new lb2 holds B, not A" holds_only 2 "$VIP_B" "$VIP_A"
sleep 0.5
check_eq "lb1 did not take web-b over" "$before" "$(lb1_web_b_masters)"
ha_probe_flush
check_eq "no failed probe on VIP B across the upgrade" 0 \
	"$(awk -v a="$t_up" '$1 >= a && $2 == "fail" { n++ } END { print n + 0 }' "$LAB_DIR/probeB.log")"

# --- never both: the sampled addresses --------------------------------------
sleep 0.2
lab_stop sample1 5
lab_stop sample2 5
# For each node and VIP, a run of samples holding it is a time it surely
# held it, from the first sample's end to the last one's start.
# lb1's samples between the kill and --release are the dead node's kernel
# (systemd removes them: ExecStopPost).  Two such spans of one VIP on both
# nodes that overlap are a double hold.
both() {
	awk -v k="$((t_kill * 1000))" -v r="$((t_rel * 1000))" -v va="$VIP_A" -v vb="$VIP_B" '
		FNR == 1 { node++ }
		$1 !~ /^[0-9]+$/ { next } # a log line of the sampler
		{
			dead = node == 1 && $2 >= k && $1 <= r
			for (v = 1; v <= 2; v++) {
				ip = v == 1 ? va : vb; has = 0
				for (f = 3; f <= NF; f++) if ($f == ip) has = 1
				key = node SUBSEP v
				if (has && !dead) {
					if (!(key in open)) open[key] = $2
					last[key] = $1
				} else if (key in open) {
					if (last[key] > open[key]) { n[key]++; s[key, n[key]] = open[key]; e[key, n[key]] = last[key] }
					delete open[key]
				}
			}
		}
		END {
			for (key in open) if (last[key] > open[key]) { n[key]++; s[key, n[key]] = open[key]; e[key, n[key]] = last[key] }
			bad = 0
			for (v = 1; v <= 2; v++)
				for (i = 1; i <= n[1, v]; i++)
					for (j = 1; j <= n[2, v]; j++)
						if (s[1, v, i] < e[2, v, j] && s[2, v, j] < e[1, v, i]) {
							printf "# VIP %d held by both: lb1 %.0f..%.0f, lb2 %.0f..%.0f us\n", v, s[1, v, i], e[1, v, i], s[2, v, j], e[2, v, j]
							bad++
						}
			print bad
		}' "$LAB_DIR/sample1.log" "$LAB_DIR/sample2.log"
}
samples() { grep -c '^[0-9]' "$LAB_DIR/sample$1.log"; }
echo "# ip addr samples: lb1 $(samples 1), lb2 $(samples 2)"
check "lb1 was sampled (over 200 samples)" test "$(samples 1)" -gt 200
check "lb2 was sampled (over 200 samples)" test "$(samples 2)" -gt 200
out=$(both)
[[ "$out" == 0 ]] || echo "$out" | sed '$d'
check_eq "no VIP held by both balancers at once" 0 "$(echo "$out" | tail -n1)"

# --- kill -9 of lb2: lb1 holds both --------------------------------------------
# lb1 is MASTER of ha: it holds no session to lb2, lb2 holds one to it.
# That one ends with lb2's process; lb1 finds lb2's sync port closed, and
# as MASTER of ha it knows every live balancer (their sessions): none but
# lb2, so it takes web-b at once (docs/vrrp.md "Instances").  A probe with
# a short timeout times it (probeB's 500 ms would quantise the figure).
session_up() { [[ "$(ha_ctl 2 status --json | jq -r .sync.session_up)" == true ]]; }
check "the new lb2 follows lb1 through a sync session" lab_wait_for 5 session_up
lab_spawn client probeB2 sh -c "exec '$PROBE' $VIP_B 80 10 50 600000 60000 >'$LAB_DIR/probeB2.log'"
sleep 0.5
t_kill2=$(now_ms)
lab_kill lb2 KILL
lab_exec lb2 "$ANDROMEDA" --release -c "$LAB_DIR/lb2.conf"
check "lb1 becomes MASTER of web-b" wait_role 1 web-b MASTER 3
check "VIP B is served by lb1" served_b lb1 3
first_b2() { awk -v t="$t_kill2" '$1 >= t && $2 == "ok" && $3 == "lb1" { print $1 - t; f = 1; exit } END { exit !f }' "$LAB_DIR/probeB2.log"; }
lab_wait_for 3 first_b2 >/dev/null
ms=$(first_b2)
# The log's time of the move (HH:MM:SS.mmm, today) in Unix ms.
t_master=$(sed -n 's/^\([0-9:.]*\) .*vrrp 52: BACKUP -> MASTER (master lost.*/\1/p' "$LAB_DIR/lb1.log" | tail -n1)
took=$(($(date -d "today $t_master" +%s%3N 2>/dev/null || echo 0) - t_kill2))
echo "# kill -9 lb2 -> lb1 MASTER of web-b after $took ms, first good answer on VIP B via lb1 after ${ms:-none} ms"
echo "#   (probe every 10 ms, 50 ms timeout: a SYN sent to lb2 after --release took its VIP waits that long)"
lb1_web_b_reason() { sed -n 's/.*vrrp 52: [A-Z]* -> MASTER (\(.*\))$/\1/p' "$LAB_DIR/lb1.log" | tail -n1; }
check "lb1 took web-b over on lb2's crash ($(lb1_web_b_reason))" \
	bash -c "[[ '$(lb1_web_b_reason)' == 'master lost (sync session reset), no other live backup' ]]"
check "lb1 found lb2's sync port closed" grep -q "peer $(ha_lb_ip 2) .*: its process is gone" "$LAB_DIR/lb1.log"
# Below Master_Down_Interval (360 ms at priority 100): not the RFC timer.
# Issue 15's 20 ms median is tests/bench/active.sh's business, not a
# loaded CI box's.
check "lb1 took web-b within 300 ms of the kill ($took ms)" test "$took" -ge 0 -a "$took" -le 300
check "VIP B answered via lb1 within 300 ms of the kill (${ms:-none} ms)" test "${ms:-99999}" -le 300
check "lb1 holds both VIPs" lab_wait_for 3 holds_both 1

ha_probe_stop
lab_stop probeB 5
lab_stop probeB2 5
lab_stop lb1 10
check_eq "lb1 exits 0 on SIGTERM" 0 "$?"
check "lb1 released both VIPs on its way out" lacks_both 1
check "lb1's notify said STOP for both instances" \
	bash -c "grep -q '^ha STOP' '$LAB_DIR/notify-lb1.log' && grep -q '^web-b STOP' '$LAB_DIR/notify-lb1.log'"
for i in 1 2; do
	check "no sanitizer report from lb$i" lab_no_sanitizer_report "$LAB_DIR/lb$i.log"
done
lab_finish
