#!/usr/bin/env bash
# test_vrrp6_keepalived.sh - andromeda and keepalived (Debian's 2.2) in
# one VRID over IPv6 (issue 16; docs/vrrp.md#ipv6): with `interop = yes`
# the IPv6 family of andromeda's instance runs its own RFC 5798 election,
# as keepalived's IPv6 vrrp_instance does, in the 2001:db8:18::/48 lab.
#
#   lb1  andromeda, priority 150, vip = 198.18.0.10/24, 2001:db8:18::10/64
#   lb2  keepalived, priority 100, virtual_ipaddress 2001:db8:18::10/64
#
# andromeda MASTER, keepalived BACKUP; kill -9 of andromeda -> keepalived
# MASTER with the IPv6 VIP; andromeda restarted -> it hears keepalived's
# adverts (checksum and hop limit good) and preempts it.
set -u
source "$(dirname "$0")/../lib/lab.sh"
source "$(dirname "$0")/../lib/ha.sh"
source "$(dirname "$0")/../lib/vrrp6.sh"

v6_setup 2 1
require "keepalived is installed (deploy/packages.sh PKG_CHECKS)" lab_have keepalived
require "web on lb1" v6_server 1
require "web on lb2" v6_server 2

ka_start() {
	cat >"$LAB_DIR/ka.conf" <<-EOF
		global_defs {
		    router_id lb2
		    vrrp_version 3
		}
		vrrp_instance VI_6 {
		    state BACKUP
		    interface eth0
		    virtual_router_id 51
		    priority 100
		    advert_int 0.1
		    virtual_ipaddress {
		        $V6_VIP/64 dev eth0
		    }
		}
	EOF
	rm -f "$LAB_DIR/ka.pid" "$LAB_DIR/ka.vrrp.pid"
	lab_spawn lb2 ka keepalived --dont-fork --log-console --log-detail --vrrp \
		-f "$LAB_DIR/ka.conf" -p "$LAB_DIR/ka.pid" -r "$LAB_DIR/ka.vrrp.pid"
}
ka_state() { sed -n 's/.*Entering \([A-Z]*\) STATE.*/\1/p' "$LAB_DIR/ka.log" | tail -n1; }
ka_state_is() { [[ "$(ka_state)" == "$1" ]]; }
v6() { v6_st 1 | jq -r ".vrrp6.$1"; }

# shellcheck disable=SC2034 # read by ha_conf (tests/lib/ha.sh)
HA_EXTRA='interop = yes'
require "andromeda starts on lb1 (interop = yes)" v6_start 1 150
check_eq "its IPv6 family runs its own election" election "$(v6 mode)"
check "andromeda's IPv6 election is MASTER" lab_wait_for 5 v6_role_is 1 MASTER
check "andromeda holds the IPv6 VIP" lab_wait_for 3 v6_has_vip 1
require "keepalived starts on lb2" ka_start
check "keepalived is BACKUP behind andromeda (over IPv6)" lab_wait_for 5 ka_state_is BACKUP
check "keepalived stays BACKUP for 1 s (10 of andromeda's adverts)" lab_holds 1 ka_state_is BACKUP
check "andromeda is still MASTER" v6_role_is 1 MASTER
check "keepalived does not hold the IPv6 VIP" v6_lacks_vip 2

lab_kill lb1 KILL
check "keepalived takes over after kill -9 of andromeda" lab_wait_for 5 ka_state_is MASTER
check "keepalived holds the IPv6 VIP" lab_wait_for 3 v6_has_vip 2
check "the client reaches lb2 through the IPv6 VIP" lab_wait_for 5 v6_served_by lb2
check_eq "the client's neighbour entry holds lb2's MAC" "$(ha_mac 2)" "$(v6_client_mac)"
# The address keepalived moved away from the dead lb1 (kill -9 left it).
lab_exec lb1 "$ANDROMEDA" --release -c "$LAB_DIR/lb1.conf"

require "andromeda restarts (interop = yes)" v6_start 1 150
check "andromeda's IPv6 election preempts keepalived (150 > 100)" lab_wait_for 10 v6_role_is 1 MASTER
check "keepalived steps down" lab_wait_for 5 ka_state_is BACKUP
check "andromeda counted keepalived's IPv6 adverts" test "$(v6 adverts_received)" -gt 0
check_eq "none with a bad checksum (the IPv6 pseudo-header sum agrees)" 0 "$(v6 'dropped["bad checksum"]')"
check_eq "none with a wrong hop limit" 0 "$(v6 'dropped["TTL not 255"]')"
check_eq "none dropped as unauthenticated source" 0 "$(v6 'dropped["unauthenticated source"]')"
check "the IPv6 VIP is back on lb1" lab_wait_for 3 v6_has_vip 1
check "and gone from keepalived's lb2" lab_wait_for 3 v6_lacks_vip 2
mac_is_lb1() { [[ "$(v6_client_mac)" == "$(ha_mac 1)" ]]; }
check "our NA moved the client's neighbour entry from keepalived's MAC to lb1's" \
	lab_wait_for 3 mac_is_lb1
check "the client reaches lb1 through the IPv6 VIP" lab_wait_for 5 v6_served_by lb1

lab_stop lb1 10
check_eq "andromeda exits 0 on SIGTERM" 0 "$?"
check "keepalived takes over after andromeda's priority 0" lab_wait_for 5 ka_state_is MASTER
check "lb1 removed its IPv6 VIP" v6_lacks_vip 1
check "no sanitizer report from andromeda" lab_no_sanitizer_report "$LAB_DIR/lb1.log"
lab_stop ka 10 >/dev/null
lab_finish
