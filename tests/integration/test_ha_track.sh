#!/usr/bin/env bash
# test_ha_track.sh - issue 14, hooks: what moves the MASTER's priority.
# lb1 (priority 150) tracks a script ([track chk], weight -100, fall 2,
# rise 2, a file the test touches decides its result), an interface whose
# carrier loss is FAULT (trk0, a second veth in lb1's namespace) and one
# that lowers the priority by 80 (trk2:-80).  lb2 (priority 100) tracks
# nothing.  Both preempt (the default).
#   - the failing script drops lb1 to 50: lb2 takes the VIP; back when it
#     recovers (preempt);
#   - trk0 down: lb1 in FAULT, the VIP on lb2; up: back to lb1;
#   - trk2 down: lb1 at 70, the VIP on lb2; up: back;
# with the effective and the base priority in status --json and in the
# human view, and the change in lb1's log.
set -u
source "$(dirname "$0")/../lib/lab.sh"
source "$(dirname "$0")/../lib/ha.sh"

ha_setup 2 1
NS1=$(lab_ns lb1)
# Two veth pairs inside lb1's namespace: downing one end takes the other's
# carrier (and its own: admin down) away.
require "trk0/trk1 veth in lb1" ip -n "$NS1" link add trk0 type veth peer name trk1
require "trk2/trk3 veth in lb1" ip -n "$NS1" link add trk2 type veth peer name trk3
for d in trk0 trk1 trk2 trk3; do
	require "$d up" ip -n "$NS1" link set "$d" up
done

cat >"$LAB_DIR/check.sh" <<CHK
#!/bin/sh
[ ! -e "$LAB_DIR/fail" ]
CHK
chmod 755 "$LAB_DIR/check.sh"

LB1=$(ha_lb_ip 1)
HA_EXTRA="track_interface = trk0, trk2:-80" \
	HA_MORE="[track chk]\nscript = $LAB_DIR/check.sh\ninterval = 100ms\nweight = -100\nfall = 2\nrise = 2\n[stats]\nlisten = $LB1:8404" \
	require "lb1 starts" ha_start 1 150
require "lb2 starts" ha_start 2 100

st() { ha_ctl "$1" status --json; }
# prio_is NODE EFFECTIVE BASE: top level and the instance agree.
prio_is() {
	[[ "$(st "$1" | jq -c '[.priority, .base_priority, .instances[0].priority, .instances[0].base_priority]')" == "[$2,$3,$2,$3]" ]]
}
track_state() { st 1 | jq -r --arg n "$1" '.instances[0].tracks[] | select(.name == $n) | .state'; }
track_is() { [[ "$(track_state "$1")" == "$2" ]]; }
holder_is() { [[ "$(ha_vip_holders 2)" == "$1" ]]; }

check "lb1 (150) becomes MASTER" ha_wait_role 1 MASTER 5
check "lb2 is BACKUP" ha_wait_role 2 BACKUP 2
check "lb1: priority 150, base 150" prio_is 1 150 150
check "lb1 lists its three tracked items, up" \
	lab_wait_for 3 eval '[[ "$(st 1 | jq -c "[.instances[0].tracks[] | [.name, .type, .state, .weight]]")" == "[[\"trk0\",\"interface\",\"up\",0],[\"trk2\",\"interface\",\"up\",-80],[\"chk\",\"script\",\"up\",-100]]" ]]'
check "the script ran (runs > 0)" lab_wait_for 3 eval '(( $(st 1 | jq ".instances[0].tracks[2].runs") > 0 ))'

# --- the track script fails: 150 - 100 = 50 < 100 -------------------------
t0=$(now_ms)
touch "$LAB_DIR/fail"
check "the script goes down after fall = 2 failures" lab_wait_for 3 track_is chk down
check "lb1: priority 50, base 150" lab_wait_for 2 prio_is 1 50 150
check "lb2 (100, preempt) takes over" ha_wait_role 2 MASTER 3
check "lb1 steps down to BACKUP" ha_wait_role 1 BACKUP 2
echo "# track script fails -> lb2 MASTER: $(($(now_ms) - t0)) ms (fall 2 x 100 ms, then Master_Down_Interval)"
check "the VIP is on lb2 alone" lab_wait_for 2 holder_is lb2
check "the VIP serves through lb2" lab_exec client curl -sf --max-time 2 -o /dev/null "http://$HA_VIP/"
metrics() { lab_exec client curl -sf --max-time 2 "http://$LB1:8404/metrics"; }
m=$(metrics)
check "metrics: effective priority 50" grep -qx 'andromeda_vrrp_priority{instance="ha"} 50' <<<"$m"
check "metrics: base priority 150" grep -qx 'andromeda_vrrp_base_priority{instance="ha"} 150' <<<"$m"
check "metrics: chk down, trk0 up" eval 'grep -qx "andromeda_vrrp_track_up{instance=\"ha\",track=\"chk\"} 0" <<<"$m" && grep -qx "andromeda_vrrp_track_up{instance=\"ha\",track=\"trk0\"} 1" <<<"$m"'
if lab_have promtool; then
	check_eq "promtool check metrics: nothing to report" "" "$(promtool check metrics <<<"$m" 2>&1)"
fi
check "lb1 logged the priority change" grep -q "priority 150 -> 50 (base 150; track chk down" "$LAB_DIR/lb1.log"
human=$(ha_ctl 1 status)
sed "s/^/#   /" <<<"$human" | head -20
check "the human status shows both priorities" grep -q "priority 50 (base 150, moved by tracking)" <<<"$human"
check "the human status lists the tracked items" grep -q "^tracked by ha:" <<<"$human"

# --- it recovers: lb1 back at 150 preempts --------------------------------
rm -f "$LAB_DIR/fail"
check "the script is up again after rise = 2" lab_wait_for 3 track_is chk up
check "lb1: priority 150 again" lab_wait_for 2 prio_is 1 150 150
check "lb1 takes the VIP back (preempt)" ha_wait_role 1 MASTER 3
check "lb2 steps down" ha_wait_role 2 BACKUP 2
check "the VIP is on lb1 alone" lab_wait_for 2 holder_is lb1

# --- carrier loss of trk0 (weight 0): FAULT --------------------------------
t0=$(now_ms)
ip -n "$NS1" link set trk1 down
check "trk0 loses carrier: down" lab_wait_for 2 track_is trk0 down
check "lb1 goes to FAULT" ha_wait_role 1 FAULT 2
check "lb2 takes over" ha_wait_role 2 MASTER 3
echo "# trk0 carrier lost -> lb2 MASTER: $(($(now_ms) - t0)) ms (lb1 released with priority 0)"
check "the VIP is on lb2 alone" lab_wait_for 2 holder_is lb2
check "lb1's FAULT names trk0" eval '[[ "$(st 1 | jq -r .vrrp.reason)" == *trk0* ]]'
ip -n "$NS1" link set trk1 up
check "trk0 is up again" lab_wait_for 3 track_is trk0 up
check "lb1 leaves FAULT and takes the VIP back" ha_wait_role 1 MASTER 4
check "the VIP is on lb1 alone" lab_wait_for 2 holder_is lb1

# --- trk2:-80 down: 150 - 80 = 70 < 100 ------------------------------------
ip -n "$NS1" link set trk2 down
check "trk2 is down" lab_wait_for 2 track_is trk2 down
check "lb1: priority 70, base 150" lab_wait_for 2 prio_is 1 70 150
check "lb2 takes over from the lowered lb1" ha_wait_role 2 MASTER 3
check "lb1 is BACKUP, not FAULT" ha_wait_role 1 BACKUP 2
ip -n "$NS1" link set trk2 up
check "lb1: priority 150 again" lab_wait_for 3 prio_is 1 150 150
check "lb1 takes the VIP back" ha_wait_role 1 MASTER 4
check "the VIP is on lb1 alone" lab_wait_for 2 holder_is lb1

for i in 1 2; do
	check "no sanitizer report from lb$i" lab_no_sanitizer_report "$LAB_DIR/lb$i.log"
done
lab_finish
