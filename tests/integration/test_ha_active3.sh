#!/usr/bin/env bash
# test_ha_active3.sh - issue 16: with three balancers a [vrrp NAME]
# instance does not move at once (docs/vrrp.md "Instances").  lb1 is
# MASTER of [ha] (150), lb2 of [vrrp web-b] (150), lb3 BACKUP of both
# (ha 50, web-b 120: the best BACKUP of web-b), lb1's web-b priority 100.
# kill -9 of lb2: lb1 finds lb2's sync port closed, but it knows lb3 (its
# sync session), which may be the better BACKUP of web-b, so it takes
# web-b only after Skew_Time, not at once; lb3 (no session to lb2) moves
# after Master_Down_Interval and, with the better priority and preempt,
# ends as web-b's MASTER, the only holder of its VIP.
set -u
source "$(dirname "$0")/../lib/lab.sh"
source "$(dirname "$0")/../lib/ha.sh"

VIP_A=$HA_VIP
VIP_B=198.18.0.9
# shellcheck disable=SC2034 # HA_* are read by ha_conf (tests/lib/ha.sh)
HA_LISTEN="$VIP_A:80, $VIP_B:80"
# shellcheck disable=SC2034
HA_ADVERT=100ms
ha_setup 3 1
# start I HA_PRIO WEB_B_PRIO
start() {
	# shellcheck disable=SC2034
	HA_MORE="[vrrp web-b]\nvrid = 52\npriority = $3\nvip = $VIP_B/24"
	ha_start "$1" "$2"
}
role() { ha_ctl "$1" status --json | jq -r --arg n "$2" '.instances[] | select(.name == $n) | .role'; }
role_is() { [[ "$(role "$1" "$2")" == "$3" ]]; }
session_up() { [[ "$(ha_ctl "$1" status --json | jq -r .sync.session_up)" == true ]]; }
holds_b() { lab_exec "lb$1" ip -4 -o addr show dev eth0 | grep -q " $VIP_B/"; }
lacks_b() { local a; a=$(lab_exec "lb$1" ip -4 -o addr show dev eth0) && grep -q " $(ha_lb_ip "$1")/" <<<"$a" && ! grep -q " $VIP_B/" <<<"$a"; }
web_b_reason() { sed -n 's/.*vrrp 52: BACKUP -> MASTER (\(.*\))$/\1/p' "$LAB_DIR/lb$1.log" | tail -n1; }

require "lb1 starts" start 1 150 100
require "lb1 is MASTER of ha" lab_wait_for 5 role_is 1 ha MASTER
require "lb2 starts" start 2 100 150
require "lb3 starts" start 3 50 120
check "lb2 is MASTER of web-b" lab_wait_for 5 role_is 2 web-b MASTER
check "lb3 is BACKUP of web-b" lab_wait_for 5 role_is 3 web-b BACKUP
check "lb3 is BACKUP of ha" lab_wait_for 5 role_is 3 ha BACKUP
check "lb2 follows lb1 through a sync session" lab_wait_for 10 session_up 2
check "lb3 follows lb1 through a sync session" lab_wait_for 10 session_up 3
sleep 0.5

lab_kill lb2 KILL
lab_exec lb2 "$ANDROMEDA" --release -c "$LAB_DIR/lb2.conf"
check "lb1 found lb2's sync port closed" lab_wait_for 3 grep -q "peer $(ha_lb_ip 2) .*: its process is gone" "$LAB_DIR/lb1.log"
check "lb1 did not take web-b at once: it knows lb3" \
	lab_wait_for 3 grep -q "web-b: its MASTER $(ha_lb_ip 2) is gone (sync session reset): taking over as after priority 0" "$LAB_DIR/lb1.log"
check "lb1 did not take web-b at once ($(web_b_reason 1))" \
	bash -c "[[ '$(web_b_reason 1)' != *'no other live backup'* ]]"
check "lb3 ends as MASTER of web-b (priority 120, preempt)" lab_wait_for 5 role_is 3 web-b MASTER
check "lb1 is BACKUP of web-b again" lab_wait_for 5 role_is 1 web-b BACKUP
only_lb3() { holds_b 3 && lacks_b 1; }
check "only lb3 holds VIP B" lab_wait_for 3 only_lb3
check_eq "lb1 is still MASTER of ha" MASTER "$(role 1 ha)"
for i in 1 3; do
	check "no sanitizer report from lb$i" lab_no_sanitizer_report "$LAB_DIR/lb$i.log"
done
lab_finish
