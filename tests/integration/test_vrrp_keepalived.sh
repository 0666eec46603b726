#!/usr/bin/env bash
# test_vrrp_keepalived.sh - andromeda and keepalived (VRRPv3, Debian's
# 2.2) in one VRID: interoperation is `[ha] interop = yes` (issue 20).
#
#   lb1  andromeda, priority 150            lb2  keepalived, priority 100
#
#   1. interop = yes: they elect together.  lb1 MASTER, keepalived BACKUP;
#      kill -9 of andromeda -> keepalived MASTER with the VIP; andromeda
#      restarted -> it takes keepalived's adverts as a live MASTER's, then
#      preempts it (150 > 100) and keepalived steps down.
#   2. interop = no (the default), andromeda at priority 50 beside the
#      keepalived MASTER: keepalived holds no cluster key, so its adverts
#      are dropped as "unauthenticated source" and andromeda does not defer
#      to it (two MASTERs: the reason interop exists).
set -u
source "$(dirname "$0")/../lib/lab.sh"
source "$(dirname "$0")/../lib/ha.sh"

ha_setup 2 1
require "keepalived is installed (deploy/packages.sh PKG_CHECKS)" lab_have keepalived

ka_start() {
	cat >"$LAB_DIR/ka.conf" <<-EOF
		global_defs {
		    router_id lb2
		    vrrp_version 3
		}
		vrrp_instance VI_1 {
		    state BACKUP
		    interface eth0
		    virtual_router_id 51
		    priority 100
		    advert_int 0.1
		    virtual_ipaddress {
		        $HA_VIP/24 dev eth0
		    }
		}
	EOF
	rm -f "$LAB_DIR/ka.pid" "$LAB_DIR/ka.vrrp.pid"
	lab_spawn lb2 ka keepalived --dont-fork --log-console --log-detail --vrrp \
		-f "$LAB_DIR/ka.conf" -p "$LAB_DIR/ka.pid" -r "$LAB_DIR/ka.vrrp.pid"
}
# ka_state: keepalived's last "Entering X STATE".
ka_state() {
	sed -n 's/.*Entering \([A-Z]*\) STATE.*/\1/p' "$LAB_DIR/ka.log" | tail -n1
}
ka_state_is() { [[ "$(ka_state)" == "$1" ]]; }
st() { ha_ctl 1 status --json; }
unauth() { st | jq -r '.vrrp.dropped["unauthenticated source"]'; }

# ------------------------------------------------------------ interop = yes --
# shellcheck disable=SC2034 # read by ha_conf (tests/lib/ha.sh)
HA_EXTRA='interop = yes'
require "andromeda starts on lb1 (interop = yes)" ha_start 1 150
require "andromeda is MASTER" ha_wait_role 1 MASTER 3
require "keepalived starts on lb2" ka_start
check "keepalived is BACKUP behind andromeda" lab_wait_for 5 ka_state_is BACKUP
check "keepalived stays BACKUP for 1 s (10 of andromeda's adverts)" lab_holds 1 ka_state_is BACKUP
check "andromeda is still MASTER" ha_role_is 1 MASTER
vip_on_lb1_only() { ha_has_vip 1 && ! ha_has_vip 2; }
check "only andromeda holds the VIP" vip_on_lb1_only

lab_kill lb1 KILL
check "keepalived takes over after kill -9 of andromeda" lab_wait_for 5 ka_state_is MASTER
check "keepalived holds the VIP" lab_wait_for 3 ha_has_vip 2

require "andromeda restarts (interop = yes)" ha_start 1 150
check "andromeda preempts keepalived (150 > 100)" ha_wait_role 1 MASTER 10
check "keepalived steps down" lab_wait_for 5 ka_state_is BACKUP
check "andromeda counted keepalived's adverts" test "$(st | jq -r .vrrp.adverts_received)" -gt 0
check_eq "none dropped as unauthenticated source" 0 "$(unauth)"
check_eq "keepalived's checksum verifies (RFC 5798 variant)" 0 "$(st | jq -r '.vrrp.dropped["bad checksum"]')"
lab_stop lb1 10
check_eq "andromeda exits 0 on SIGTERM" 0 "$?"
check "keepalived takes over after andromeda's priority 0" lab_wait_for 5 ka_state_is MASTER

# ------------------------------------------------------- interop = no -------
HA_EXTRA=''
require "andromeda starts on lb1 (interop = no), priority 50" ha_start 1 50
check "andromeda does not defer to keepalived (no key): it becomes MASTER too" ha_wait_role 1 MASTER 5
check "andromeda counts keepalived's adverts as unauthenticated source" test "$(unauth)" -gt 0
check_eq "and counts none as an advert" 0 "$(st | jq -r .vrrp.adverts_received)"
check "it says so in its log (after a second)" lab_wait_for 5 \
	grep -q "dropped packet from $(ha_lb_ip 2): unauthenticated source" "$LAB_DIR/lb1.log"

lab_stop lb1 10
check_eq "andromeda exits 0 on SIGTERM" 0 "$?"
check "no sanitizer report from andromeda" lab_no_sanitizer_report "$LAB_DIR/lb1.log"
lab_stop ka 10 >/dev/null
lab_finish
