#!/usr/bin/env bash
# test_vrrp6.sh - issue 16: an IPv6 VIP beside the IPv4 one (VRRPv3 over
# IPv6, docs/vrrp.md#ipv6), in the 2001:db8:18::/48 lab.
#
#   lb1 (priority 150) and lb2 (100), interop = no: the IPv6 family
#   follows the authenticated IPv4 election.  Checked: the MASTER holds
#   the IPv6 VIP (nodad) and advertises to ff02::12 from its link-local
#   address with hop limit 255; kill -9 moves the VIP to lb2, whose
#   unsolicited NA (override, target link-layer option, to ff02::1)
#   updates the client's neighbour cache; tcpdump in the client decodes
#   the adverts and the NAs without a "bad" marker.  Then hostile input:
#   VRRP over IPv6 and NS/NA with a wrong hop limit, a bad checksum, or
#   truncated, are counted by cause and change nothing.  A hitless
#   upgrade keeps the IPv6 VIP; a graceful stop and --release remove it.
set -u
source "$(dirname "$0")/../lib/lab.sh"
source "$(dirname "$0")/../lib/ha.sh"
source "$(dirname "$0")/../lib/vrrp6.sh"

v6_setup 2 1
# shellcheck disable=SC2034 # read by ha_conf (tests/lib/ha.sh)
HA_MORE='[stats]\nlisten = 127.0.0.1:8404'
require "tcpdump and python3 are installed" lab_have tcpdump python3
lab_spawn client tcpdump tcpdump -i eth0 -n -v -l -U "ip6 and (ip6[6] == 112 or icmp6)"
require "tcpdump runs" lab_wait_for 5 grep -q "listening on" "$LAB_DIR/tcpdump.log"
require "web on lb1" v6_server 1
require "web on lb2" v6_server 2
require "lb1 starts (vip = $HA_VIP/24, $V6_VIP/64)" v6_start 1 150
require "lb2 starts" v6_start 2 100

# --- election -------------------------------------------------------------
check "lb1 is MASTER" ha_wait_role 1 MASTER 5
check "lb2 is BACKUP" ha_wait_role 2 BACKUP 3
check_eq "the IPv6 family follows the IPv4 election (interop = no)" follow \
	"$(v6_st 1 | jq -r .vrrp6.mode)"
check "lb1's IPv6 family is MASTER" v6_role_is 1 MASTER
check "lb1 holds the IPv6 VIP" lab_wait_for 3 v6_has_vip 1
check "the IPv6 VIP was added without DAD (not tentative)" bash -c \
	"ip -n $(lab_ns lb1) -6 -o addr show dev eth0 | grep ' $V6_VIP/64' | grep -q nodad"
check "lb2 does not hold it" v6_lacks_vip 2
check "the client reaches lb1 through the IPv6 VIP" lab_wait_for 5 v6_served_by lb1
check_eq "the client's neighbour entry for the IPv6 VIP holds lb1's MAC" "$(ha_mac 1)" "$(v6_client_mac)"
heard() { test "$(v6_st 2 | jq -r .vrrp6.adverts_received)" -gt 5; }
check "lb2 hears lb1's IPv6 adverts" lab_wait_for 3 heard
check_eq "lb2 drops none of them" 0 "$(v6_st 2 | jq '[.vrrp6.dropped[]] | add')"

# --- kill -9: the IPv6 VIP moves with the IPv4 one -----------------------------
lab_kill lb1 KILL
check "lb2 takes over after kill -9 of lb1" ha_wait_role 2 MASTER 3
check "lb2's IPv6 family is MASTER" v6_role_is 2 MASTER
check "lb2 holds the IPv6 VIP" lab_wait_for 3 v6_has_vip 2
mac_is_lb2() { [[ "$(v6_client_mac)" == "$(ha_mac 2)" ]]; }
check "lb2's NA moved the client's neighbour entry to lb2's MAC" lab_wait_for 3 mac_is_lb2
check "the client reaches lb2 through the IPv6 VIP" lab_wait_for 5 v6_served_by lb2
na_sent() { v6_st 2 | jq -r .vrrp6.ndisc.na_sent; }
na_burst_sent() { test "$(na_sent)" -ge 5; }
check "lb2 sent its NA burst (garp_count = 5)" lab_wait_for 3 na_burst_sent

# --- what tcpdump saw ------------------------------------------------------------
ll2=$(ip -n "$(lab_ns lb2)" -6 -o addr show dev eth0 scope link | awk '{sub(/\/.*/, "", $4); print $4; exit}')
TD=$LAB_DIR/tcpdump.log
advert_ok() {
	grep "hlim 255, next-header VRRP (112)" "$TD" |
		grep -q "$ll2 > ff02::12: VRRPv3, Advertisement, vrid 51, prio 100, intvl 10cs, length 24, addrs: $V6_VIP"
}
na_ok() {
	grep -A1 "hlim 255, next-header ICMPv6 (58) payload length: 32) $V6_VIP > ff02::1: \[icmp6 sum ok\] ICMP6, neighbor advertisement, length 32, tgt is $V6_VIP, Flags \[override\]$" "$TD" |
		grep -q "destination link-address option (2), length 8 (1): $(ha_mac 2)"
}
nothing_bad() { ! grep -qiE '\[bad|bad cksum|bad vrrp|malformed' "$TD"; }
check "tcpdump decodes lb2's adverts: link-local source, ff02::12, hop limit 255, the IPv6 VIP" advert_ok
check "tcpdump decodes lb2's NA: to ff02::1, hop limit 255, checksum ok, override only, target link-layer address" \
	lab_wait_for 3 na_ok
check "tcpdump flags nothing as bad" nothing_bad

# --- hostile input ---------------------------------------------------------------
# From the client: VRRP over IPv6 and NAs with a wrong hop limit, a bad
# checksum, or truncated.  lb2 (MASTER) counts each by cause, stays MASTER.
cat >"$LAB_DIR/inject.py" <<'PY'
import socket, struct, sys
IF = socket.if_nametoindex("eth0")
def sock(proto, hops):
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, proto)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, IF)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, hops)
    return s
vip = socket.inet_pton(socket.AF_INET6, sys.argv[1])
# prio 254 advert for VRID 51 with a checksum that cannot verify
adv = struct.pack("!BBBBHH", 0x31, 51, 254, 1, 10, 0xdead) + vip
n = int(sys.argv[2])
for _ in range(n):
    sock(112, 64).sendto(adv, ("ff02::12", 0, 0, IF))           # hop limit 64
    sock(112, 255).sendto(adv, ("ff02::12", 0, 0, IF))          # bad checksum
    sock(112, 255).sendto(adv[:6], ("ff02::12", 0, 0, IF))      # truncated
    na = struct.pack("!BBHI", 136, 0, 0, 0x20000000) + vip + bytes([2, 1]) + b"\x02" * 6
    sock(socket.IPPROTO_ICMPV6, 64).sendto(na, ("ff02::1", 0, 0, IF))        # hop limit 64
    sock(socket.IPPROTO_ICMPV6, 255).sendto(na[:12], ("ff02::1", 0, 0, IF))  # truncated
PY
drops() { v6_st 2 | jq -r ".vrrp6.$1[\"$2\"]"; }
before_ttl=$(drops dropped "TTL not 255")
check "the injector runs in the client" lab_exec client python3 "$LAB_DIR/inject.py" "$V6_VIP" 3
counted() { test "$(drops "$1" "$2")" -ge "$3"; }
check "wrong hop limit counted" lab_wait_for 3 counted dropped "TTL not 255" $((before_ttl + 3))
check "bad checksum counted" lab_wait_for 3 counted dropped "bad checksum" 3
check "truncated advert counted" lab_wait_for 3 counted dropped "short packet" 3
check "NA with a wrong hop limit counted" lab_wait_for 3 counted ndisc.dropped "hop limit not 255" 3
check "truncated NA counted" lab_wait_for 3 counted ndisc.dropped "short packet" 3
metrics() { lab_exec lb2 curl -sf --max-time 2 http://127.0.0.1:8404/metrics; }
metric_ge() { local v; v=$(metrics | awk -v k="$1" '$1 == k { print $2 }'); [[ -n "$v" ]] && ((v >= $2)); }
check "metrics: andromeda_vrrp6_ndisc_dropped_total counts the NAs with a wrong hop limit" \
	metric_ge 'andromeda_vrrp6_ndisc_dropped_total{instance="ha",cause="hop_limit_not_255"}' 3
check "metrics: andromeda_vrrp6_dropped_total counts the bad checksums" \
	metric_ge 'andromeda_vrrp6_dropped_total{instance="ha",cause="bad_checksum"}' 3
check "metrics: andromeda_vrrp6_na_sent_total" metric_ge 'andromeda_vrrp6_na_sent_total{instance="ha"}' 5
promtool_clean() { command -v promtool >/dev/null && metrics | promtool check metrics >"$LAB_DIR/promtool.txt" 2>&1 && [[ ! -s "$LAB_DIR/promtool.txt" ]]; }
check "promtool check metrics finds nothing to report with the vrrp6 families" promtool_clean
check "lb2 stays MASTER through it" lab_holds 1 ha_role_is 2 MASTER
check "lb2 still holds the IPv6 VIP" v6_has_vip 2
check_eq "no NA conflict counted (the forged NA never parsed)" 0 "$(v6_st 2 | jq -r .vrrp6.ndisc.conflicts)"
check "the client still reaches lb2" v6_served_by lb2
# The human view: the IPv6 family in a group of its own, its drops shown.
human=$(ha_ctl 2 status)
sed -n '/^vrrp6:/,/^sync:/p' <<<"$human" | sed 's/^/# /'
check "andromedactl status shows the IPv6 family (role, mode, VIP held)" \
	grep -qE '^vrrp6: +MASTER \((follows the IPv4 election|its own election)\), holds the IPv6 VIPs' <<<"$human"
check "... and its drops by cause" grep -qE '^  dropped: .*bad checksum=[1-9]' <<<"$human"

# --- hitless upgrade of the MASTER: the IPv6 VIP stays ----------------------------
old=$(ha_ctl 2 upgrade status --json | jq -r .pid)
vip6_kept() { v6_has_vip 2; }
lab_spawn client watch6 bash -c "while ip -n $(lab_ns lb2) -6 -o addr show dev eth0 | grep -q ' $V6_VIP/64'; do sleep 0.01; done; echo gone"
check "andromedactl upgrade on lb2" ha_ctl 2 upgrade
new_answers() { local p; p=$(ha_ctl 2 upgrade status --json | jq -r .pid); [[ -n "$p" && "$p" != null && "$p" != "$old" ]]; }
check "a new lb2 process answers" lab_wait_for 10 new_answers
new=$(ha_ctl 2 upgrade status --json | jq -r .pid)
echo "$new $(lab_starttime "$new")" >"$LAB_DIR/pids/lb2"
gone() { ! kill -0 "$1" 2>/dev/null || [[ "$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null)" == Z ]]; }
check "the old lb2 process exits" lab_wait_for 10 gone "$old"
check "lb2 is still MASTER" ha_role_is 2 MASTER
check_eq "the new process holds the IPv6 VIP" true "$(v6_st 2 | jq -r .vrrp6.vip_held)"
check "the IPv6 VIP never left lb2's interface during the upgrade" bash -c "! grep -q gone '$LAB_DIR/watch6.log'"
lab_stop watch6 2 >/dev/null
check "the client still reaches lb2 over IPv6" v6_served_by lb2

# --- graceful stop: the VIP goes ----------------------------------------------------
lab_stop lb2 10
rc=$? # the upgraded process is not this shell's child: its status is not ours to read
check "lb2 stops on SIGTERM (not killed after 10 s)" test "$rc" -ne 124
check "lb2 removed the IPv6 VIP" v6_lacks_vip 2
check "andromeda --release removes lb1's (kill -9) IPv6 VIP" lab_exec lb1 "$ANDROMEDA" --release -c "$LAB_DIR/lb1.conf"
check "lb1 no longer has it" v6_lacks_vip 1
check "no sanitizer report" lab_no_sanitizer_report "$LAB_DIR/lb2.log"
lab_stop tcpdump 2 >/dev/null
lab_finish
