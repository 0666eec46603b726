#!/usr/bin/env bash
# test_vrrp6_instance.sh - issue 16: an IPv6 VIP in a [vrrp NAME]
# instance (docs/vrrp.md "Instances" and #ipv6), in the 2001:db8:18::/48
# lab.  lb1 is MASTER of [ha] (VIP A), lb2 of [vrrp web-b], whose vip
# line is "198.18.0.9/24, 2001:db8:18::9/64".  Checked: lb2 holds the
# instance's IPv6 VIP (nodad), lb1 does not; the client reaches it over
# IPv6 through lb2; status shows it per instance.  kill -9 of lb2 (VIPs
# released as ExecStopPost= does): lb1 takes web-b with its IPv6 VIP and
# sends the unsolicited NAs, which point the client's neighbour entry at
# lb1 at once (without them the client would need its own solicitation
# after 5 s of DELAY); a kernel-removed IPv6 VIP is put back (kwatch);
# --release removes it.
set -u
source "$(dirname "$0")/../lib/lab.sh"
source "$(dirname "$0")/../lib/ha.sh"
source "$(dirname "$0")/../lib/vrrp6.sh"

VIP_A=$HA_VIP
VIP_B=198.18.0.9
B6=2001:db8:18::9
# shellcheck disable=SC2034 # read by ha_conf (tests/lib/ha.sh)
HA_LISTEN="$VIP_A:80, $VIP_B:80"
# shellcheck disable=SC2034
HA_ADVERT=100ms
v6_setup 2 1
require "python3 is installed" lab_have python3
# shellcheck disable=SC2034 # read by ha_conf
more() { HA_MORE="[stats]\nlisten = 127.0.0.1:8404\n\n[vrrp web-b]\nvrid = 52\npriority = $1\nvip = $VIP_B/24, $B6/64"; }
start1() { more 100 && ha_start 1 150; }
start2() { more 150 && ha_start 2 100; }
role() { ha_ctl "$1" status --json | jq -r --arg n "$2" '.instances[] | select(.name == $n) | .role'; }
role_is() { [[ "$(role "$1" "$2")" == "$3" ]]; }
inst() { ha_ctl "$1" status --json | jq -c '.instances[] | select(.name == "web-b")'; }
has_b6() { lab_exec "lb$1" ip -6 -o addr show dev eth0 | grep -q " $B6/64"; }
lacks_b6() {
	local a
	a=$(lab_exec "lb$1" ip -6 -o addr show dev eth0) || return 1
	grep -q " $(v6_lb_ip "$1")/64" <<<"$a" && ! grep -q " $B6/" <<<"$a"
}
client_mac() { lab_exec client ip -6 neigh show "$B6" | awk '{for (i=1;i<NF;i++) if ($i=="lladdr") print $(i+1)}'; }
client_mac_is() { [[ "$(client_mac)" == "$(ha_mac "$1")" ]]; }
get_b6() { lab_exec client curl -sf -g --max-time 2 "http://[$B6]:8080/"; }
served_b6() { [[ "$(get_b6)" == "served by $1" ]]; }
# web I: [B6]:8080 on lbI (IP_FREEBIND: bound before the VIP is there).
web() {
	lab_spawn "lb$1" "web_$1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_IP, 15, 1)  # IP_FREEBIND
s.bind((sys.argv[1], 8080)); s.listen(64)
body = b"served by " + sys.argv[2].encode()
while True:
    c, _ = s.accept()
    try:
        c.settimeout(2); c.recv(4096)
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
    except OSError:
        pass
    c.close()
' "$B6" "lb$1"
}

require "web on lb1" web 1
require "web on lb2" web 2
require "lb1 starts (web-b: vip = $VIP_B/24, $B6/64)" start1
require "lb1 is MASTER of ha" lab_wait_for 5 role_is 1 ha MASTER
require "lb2 starts" start2

# --- lb2 holds web-b's IPv6 VIP ----------------------------------------------
check "lb2 is MASTER of web-b" lab_wait_for 5 role_is 2 web-b MASTER
check "lb1 is BACKUP of web-b" lab_wait_for 3 role_is 1 web-b BACKUP
check "lb2 holds web-b's IPv6 VIP" lab_wait_for 3 has_b6 2
check "it was added without DAD" bash -c \
	"ip -n $(lab_ns lb2) -6 -o addr show dev eth0 | grep ' $B6/64' | grep -q nodad"
check "lb1 does not hold it" lacks_b6 1
check_eq "web-b's vips in status (both families)" "$VIP_B/24 $B6/64" \
	"$(inst 2 | jq -r '.vips | join(" ")')"
check_eq "web-b's IPv6 family on lb2: follow mode, MASTER, VIP held" "follow MASTER true" \
	"$(inst 2 | jq -r '.vrrp6 | "\(.mode) \(.role) \(.vip_held)"')"
check "the client reaches it through lb2 over IPv6" lab_wait_for 5 served_b6 lb2
check "the client's neighbour entry for it is lb2's MAC" client_mac_is 2
check_eq "[ha] has no IPv6 family of its own" null "$(ha_ctl 2 status --json | jq -c .vrrp6)"
metrics() { lab_exec "lb$1" curl -sf --max-time 2 http://127.0.0.1:8404/metrics; }
metric_of() { metrics "$1" | awk -v k="$2" '$1 == k { print $2 }'; }
check_eq "metrics: web-b's IPv6 VIP held on lb2 (an instance's own, [ha] has none)" 1 \
	"$(metric_of 2 'andromeda_vrrp6_vip_held{instance="web-b"}')"
check "metrics: web-b's NAs counted" test "$(metric_of 2 'andromeda_vrrp6_na_sent_total{instance="web-b"}')" -ge 1
check_eq "metrics: no IPv6 family for [ha], which has no IPv6 VIP" "" \
	"$(metric_of 2 'andromeda_vrrp6_vip_held{instance="ha"}')"
promtool_clean() { command -v promtool >/dev/null && metrics 2 | promtool check metrics >"$LAB_DIR/promtool.txt" 2>&1 && [[ ! -s "$LAB_DIR/promtool.txt" ]]; }
check "promtool check metrics finds nothing to report" promtool_clean
human_row() { ha_ctl 2 status | grep -E '^  web-b ' | grep -q 'MASTER, held'; }
check "the human status shows web-b's IPv6 side in its row (MASTER, held)" human_row
ha_ctl 2 status | sed -n '/^instances:/,/^$/p' | sed 's/^/# /'

# --- kill -9 of lb2: lb1 takes web-b and announces its IPv6 VIP --------------
na_before=$(inst 1 | jq -r .vrrp6.ndisc.na_sent)
t=$(now_ms)
lab_kill lb2 KILL
lab_exec lb2 "$ANDROMEDA" --release -c "$LAB_DIR/lb2.conf"
check "--release removed lb2's IPv6 VIP of web-b" lacks_b6 2
check "lb1 becomes MASTER of web-b" lab_wait_for 3 role_is 1 web-b MASTER
check "lb1 holds web-b's IPv6 VIP" lab_wait_for 3 has_b6 1
# Within 1 s: the NA, not the client's own probe (5 s of DELAY first).
check "the client's neighbour entry moved to lb1 (the NA)" lab_wait_for 1 client_mac_is 1
echo "# kill -9 lb2 -> client's entry for $B6 at lb1: $(($(now_ms) - t)) ms or less"
check "lb1 sent NAs for it" test "$(inst 1 | jq -r .vrrp6.ndisc.na_sent)" -gt "${na_before:-0}"
check "the client reaches it through lb1 over IPv6" lab_wait_for 3 served_b6 lb1

# --- removed by hand while MASTER: put back (the kernel watch) ---------------
lab_exec lb1 ip -6 addr del "$B6/64" dev eth0
check "lb1 put web-b's IPv6 VIP back" lab_wait_for 3 has_b6 1
check "the client still reaches it through lb1" lab_wait_for 3 served_b6 lb1

lab_stop lb1 10
check "lb1 removed web-b's IPv6 VIP on SIGTERM" lab_wait_for 3 lacks_b6 1
check "no sanitizer report" lab_no_sanitizer_report "$LAB_DIR/lb1.log"
lab_finish
