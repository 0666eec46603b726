#!/usr/bin/env bash
# test_vrrp6_overrun.sh - issue 16: an IPv6 VIP removed while the
# daemon's kernel watch is overrun (ENOBUFS: the kernel dropped the
# event) is put back by the re-check after the overrun (ha6_resync,
# docs/vrrp.md "Taking the IPv6 VIPs"), as an IPv4 one is.
#
#   lb1 alone, MASTER, vip = IPv4 VIP, 2001:db8:18::10/64.  SIGSTOP it;
#   add and delete 1500 IPv6 addresses on its eth0 (3000 address events:
#   far more than the watch socket's buffer holds), then delete the IPv6
#   VIP, whose event is dropped with the rest; SIGCONT.  The daemon reads
#   ENOBUFS, dumps the link again and re-checks its VIPs: the IPv6 VIP is
#   back, logged as missing after a netlink overrun.
set -u
source "$(dirname "$0")/../lib/lab.sh"
source "$(dirname "$0")/../lib/ha.sh"
source "$(dirname "$0")/../lib/vrrp6.sh"

v6_setup 1 1
require "lb1 starts (vip = $HA_VIP/24, $V6_VIP/64)" v6_start 1 150
require "lb1 is MASTER" ha_wait_role 1 MASTER 5
require "lb1 holds the IPv6 VIP" lab_wait_for 3 v6_has_vip 1

# 2001:db8:18:ff::1..1500/128: inside the lab's /48, not the VIP's /64.
batch=$LAB_DIR/overrun.batch
for ((i = 1; i <= 1500; i++)); do echo "addr add 2001:db8:18:ff::$i/128 dev eth0 nodad"; done >"$batch"
for ((i = 1; i <= 1500; i++)); do echo "addr del 2001:db8:18:ff::$i/128 dev eth0"; done >>"$batch"

require "lb1 stops (SIGSTOP)" lab_kill lb1 STOP
check "3000 address events while lb1 is stopped" lab_exec lb1 ip -batch "$batch"
check "the IPv6 VIP removed by hand (its event is lost)" lab_exec lb1 ip -6 addr del "$V6_VIP/64" dev eth0
check "the IPv6 VIP is gone" v6_lacks_vip 1
require "lb1 goes on (SIGCONT)" lab_kill lb1 CONT
check "lb1 saw the overrun" lab_wait_for 5 grep -q "kwatch: lost kernel events" "$LAB_DIR/lb1.log"
check "lb1 put the IPv6 VIP back" lab_wait_for 5 v6_has_vip 1
check "by the re-check after the overrun" \
	grep -q "IPv6 VIP missing after a netlink overrun: put back" "$LAB_DIR/lb1.log"
check "it is still added without DAD" bash -c \
	"ip -n $(lab_ns lb1) -6 -o addr show dev eth0 | grep ' $V6_VIP/64' | grep -q nodad"
check "lb1 is still MASTER" ha_wait_role 1 MASTER 3
check "the IPv4 VIP stayed" ha_has_vip 1
check "the test addresses are gone" bash -c \
	"! ip -n $(lab_ns lb1) -6 -o addr show dev eth0 | grep -q '2001:db8:18:ff::'"

lab_stop lb1 10
check "lb1 removed the IPv6 VIP on SIGTERM" lab_wait_for 3 v6_lacks_vip 1
check "no sanitizer report" lab_no_sanitizer_report "$LAB_DIR/lb1.log"
lab_finish
