#!/usr/bin/env bash
# test_ha_boot.sh - issue #11 item 3: boot order.  On a Raspberry Pi the
# service may start before its interface is up and has its address (DHCP,
# a late eth0).  Each program is started with its interface down and
# without an IPv4 address; 2 s later the link comes up and the address is
# added.  With no restart:
#   - lb1 alone reaches MASTER and serves through the VIP within 1 s of
#     the address appearing;
#   - lb2, beside the MASTER lb1, reaches BACKUP within 1 s (never MASTER),
#     follows lb1's sync under its own address, and lb1 lists it;
#   - andromeda-agent (announce_interval 10 s, so that only the address
#     event can explain it) registers its server within 1 s.
set -u
source "$(dirname "$0")/../lib/lab.sh"
source "$(dirname "$0")/../lib/ha.sh"

HA_MORE='[registration]\nenabled = yes'
ha_setup 2 1
require "agent is built ($AGENT)" test -x "$AGENT"

# unconfigure HOST: eth0 down, no IPv4 address (as at boot before DHCP).
unconfigure() {
	lab_exec "$1" ip addr flush dev eth0 && lab_exec "$1" ip link set eth0 down
}
vrrp_reason() { ha_ctl "$1" status --json | jq -r .vrrp.reason; }
vip_answers() { lab_exec client curl -sf --max-time 0.5 -o /dev/null "http://$HA_VIP/"; }
# log_ms FILE REGEX: the time (epoch ms) of the first line matching REGEX,
# from the program's own timestamp: what a poll through andromedactl would
# add (a loaded machine, a sanitizer build) is not measured.
log_ms() {
	local t
	t=$(grep -m1 -E -- "$2" "$1" | cut -d' ' -f1) && [[ -n "$t" ]] || return 1
	date -d "today $t" +%s%3N
}
# since T_FROM FILE REGEX: ms from T_FROM to that line (empty if none).
since() {
	local t
	t=$(log_ms "$2" "$3") && echo $((t - $1))
}

# --- lb1 alone: FAULT while unconfigured, MASTER once configured --------------
require "lb1's eth0 is down, without an address" unconfigure lb1
require "lb1 starts before its interface is configured" ha_start 1 150
check "lb1 waits in FAULT" ha_wait_role 1 FAULT 2
check_eq "status says why" "startup with link down" "$(vrrp_reason 1)"
check_eq "no primary address yet" "0.0.0.0" "$(ha_ctl 1 status --json | jq -r .vrrp.primary)"
sleep 2 # the interface is configured 2 s after the start (the scenario, not a wait)
check "lb1 is still running" lab_alive lb1
check "lb1 is still in FAULT" ha_role_is 1 FAULT
lab_exec lb1 ip link set eth0 up
check "carrier without an address: still FAULT" ha_wait_role 1 FAULT 1
ha_probe_start 10 300
t_addr=$(now_ms)
lab_addr lb1 "$(ha_lb_ip 1)/24"
check "lb1 becomes MASTER" ha_wait_role 1 MASTER 3
check "the probe sees lb1 serve" ha_wait_served_by lb1 3
ms=$(ha_takeover_ms "$t_addr" lb1)
echo "# address added on lb1 -> first answer through the VIP: ${ms:-none} ms"
check_le "lb1 serves through the VIP within 1 s of its address" "${ms:-99999}" 1000
check_eq "lb1's primary address is followed" "$(ha_lb_ip 1)" "$(ha_ctl 1 status --json | jq -r .vrrp.primary)"
check "lb1 logged the address" grep -q "primary IPv4 address is now $(ha_lb_ip 1)" "$LAB_DIR/lb1.log"
ha_probe_stop

# --- lb2 beside the MASTER: BACKUP once configured, never MASTER -------------
require "lb2's eth0 is down, without an address" unconfigure lb2
require "lb2 starts before its interface is configured" ha_start 2 100
check "lb2 waits in FAULT" ha_wait_role 2 FAULT 2
sleep 2
check "lb2 is still running, in FAULT" ha_role_is 2 FAULT
ha_probe_start 10 300
require "lb2's link comes up" lab_exec lb2 ip link set eth0 up
t_addr=$(now_ms)
require "lb2's address is added" lab_addr lb2 "$(ha_lb_ip 2)/24"
check "lb2 becomes BACKUP" ha_wait_role 2 BACKUP 3
ms=$(since "$t_addr" "$LAB_DIR/lb2.log" "FAULT -> BACKUP")
echo "# address added on lb2 -> BACKUP: ${ms:-none} ms"
check_le "lb2 is BACKUP within 1 s of its address" "${ms:-99999}" 1000
check "the VIP answers" vip_answers
# Master_Down_Interval is 3 x 100 ms + skew: by 1 s a node deaf to lb1's
# multicast adverts (a group joined while the link was down) has taken over.
sleep 1
check "lb2 stays BACKUP (it hears lb1's adverts)" ha_role_is 2 BACKUP
check "lb2 never was MASTER" bash -c "! grep -q -- '-> MASTER' '$LAB_DIR/lb2.log'"
check_eq "one MASTER: lb1" "lb1" "$(ha_masters 2)"
check_eq "only lb1 holds the VIP" "lb1" "$(ha_vip_holders 2)"
lb2_listed() {
	ha_ctl 1 peers --json | jq -e --arg a "$(ha_lb_ip 2)" \
		'any(.[]; .name == "lb2" and .address == $a and .role == "BACKUP")' >/dev/null
}
check "lb1 lists lb2 as BACKUP under its real address (sync signs with it)" lab_wait_for 2 lb2_listed
check "lb2 holds a sync session to lb1" \
	lab_wait_for 2 bash -c "[[ \$($ANDROMEDACTL -s $LAB_DIR/lb2.sock status --json | jq -r .sync.session_up) == true ]]"
check_eq "no probe through the VIP failed" 0 "$(ha_failed_since "$t_addr")"
ha_probe_stop

# --- the agent: registers once its address arrives -------------------------
# be2 serves on every address (as apache does), so its service is there
# before its address.
require "backend host be2" lab_host be2 "$(lab_be_ip 2)/24"
require "be2's eth0 is down, without an address" unconfigure be2
lab_spawn be2 be2 "$FAKESRV" -l 0.0.0.0:80 -n be2
require "be2's agent starts (announce_interval 10 s)" ha_agent 2 10s
sleep 2
check "the agent is still running" lab_alive agent2
check "lb1 does not list be2 yet" bash -c "! ha_lists 1 be2"
require "be2's link comes up" lab_exec be2 ip link set eth0 up
t_addr=$(now_ms)
require "be2's address is added" lab_addr be2 "$(lab_be_ip 2)/24"
check "lb1 lists be2" lab_wait_for 5 ha_lists 1 be2
ms=$(since "$t_addr" "$LAB_DIR/lb1.log" "server be2 .* added, registered")
echo "# address added on be2 -> lb1 adds be2: ${ms:-none} ms"
check_le "lb1 adds be2 within 1 s of its address" "${ms:-99999}" 1000
check_eq "be2 is registered with its address" "be2 $(lab_be_ip 2):80 registered" \
	"$(ha_servers 1 | awk '$1 == "be2" { print $1, $2, $3 }')"

lab_stop agent2 5
for i in 1 2; do
	lab_stop "lb$i" 10
	check_eq "lb$i exits 0 on SIGTERM" 0 "$?"
	check "no sanitizer report from lb$i" lab_no_sanitizer_report "$LAB_DIR/lb$i.log"
done
lab_finish
