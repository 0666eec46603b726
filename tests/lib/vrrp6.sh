# vrrp6.sh - IPv6 VIP helpers for the HA lab (tests/lib/ha.sh): the lab's
# IPv6 addresses are in 2001:db8:18::/48 only (SPEC "Test lab rules").
# Source after lab.sh and ha.sh.
#
#   v6_setup 2 1              # ha_setup + IPv6 on client and lb1..lb2
#   v6_start 1 150            # lbI with vip = IPv4 VIP, $V6_VIP/64
#   v6_server 1               # [V6_VIP]:8080 on lbI answers "Via: 1.1 lbI"

V6_VIP=2001:db8:18::10
V6_CLIENT=2001:db8:18::100

v6_lb_ip() { echo "2001:db8:18::$((10 + $1))"; }

# Inside 2001:db8:18::/48, written out up to the third group.
v6_addr_ok() { [[ "${1,,}" =~ ^2001:db8:18:[0-9a-f:]*(/(4[89]|[5-9][0-9]|1[01][0-9]|12[0-8]))?$ ]]; }

# v6_host NAME ADDR/LEN: an IPv6 address on NAME's eth0 (nodad; DAD off
# for the link, so a new link-local address is usable at once too).
v6_host() {
	local ns
	v6_addr_ok "$2" || { lab_log "refusing IPv6 address '$2': only 2001:db8:18::/48"; return 1; }
	ns=$(lab_ns "$1")
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.eth0.accept_dad=0 \
		net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.eth0.disable_ipv6=0 || return 1
	ip -n "$ns" -6 addr add "$2" dev eth0 nodad
}

# v6_ll_ready NAME: NAME's eth0 has a link-local address past DAD.
v6_ll_ready() {
	ip -n "$(lab_ns "$1")" -6 -o addr show dev eth0 scope link -tentative | grep -q fe80
}

# v6_setup NLB NBE: the HA lab plus IPv6 on the client and the balancers.
v6_setup() {
	local i
	ha_setup "$1" "$2"
	require "IPv6 on the client" v6_host client "$V6_CLIENT/64"
	for ((i = 1; i <= $1; i++)); do
		require "IPv6 on lb$i" v6_host "lb$i" "$(v6_lb_ip "$i")/64"
		require "lb$i has a usable link-local address" lab_wait_for 5 v6_ll_ready "lb$i"
	done
}

# v6_start I PRIORITY: node lbI with the IPv6 VIP beside the IPv4 one.
v6_start() {
	local conf
	conf=$(ha_conf "$1" "$2")
	sed -i "s|^vip = .*|&, $V6_VIP/64|" "$conf"
	timeout 10 "$ANDROMEDA" -t -c "$conf" >/dev/null || return 1
	lab_spawn "lb$1" "lb$1" ${HA_WRAP:-} "$ANDROMEDA" -c "$conf"
	lab_wait_for 5 ha_ctl "$1" status >/dev/null
}

# v6_server I: a tiny HTTP server on [V6_VIP]:8080 in lbI, bound before
# the VIP is there (IP_FREEBIND, as andromeda's listeners), answering
# 200 with "Via: 1.1 lbI" (what tests/tools/probe reads).
v6_server() {
	lab_spawn "lb$1" "web6_$1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_IP, 15, 1)  # IP_FREEBIND
s.bind((sys.argv[1], 8080)); s.listen(64)
body = b"served by " + sys.argv[2].encode() + b"\n"
while True:
    c, _ = s.accept()
    try:
        c.settimeout(2); c.recv(4096)
        c.sendall(b"HTTP/1.1 200 OK\r\nVia: 1.1 " + sys.argv[2].encode() +
                  b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
    except OSError:
        pass
    c.close()
' "$V6_VIP" "lb$1"
}

v6_st() { ha_ctl "$1" status --json; }
v6_role() { v6_st "$1" | jq -r '.vrrp6.role // empty'; }
v6_role_is() { [[ "$(v6_role "$1")" == "$2" ]]; }
# v6_has_vip I: lbI has the IPv6 VIP on eth0.
v6_has_vip() { lab_exec "lb$1" ip -6 -o addr show dev eth0 | grep -q " $V6_VIP/64"; }
v6_lacks_vip() {
	local a
	a=$(lab_exec "lb$1" ip -6 -o addr show dev eth0) || return 1
	grep -q " $(v6_lb_ip "$1")/64" <<<"$a" && ! grep -q " $V6_VIP/" <<<"$a"
}
# v6_client_mac: the client's neighbour entry for the IPv6 VIP (MAC).
v6_client_mac() {
	lab_exec client ip -6 neigh show "$V6_VIP" | awk '{for (i=1;i<NF;i++) if ($i=="lladdr") print $(i+1)}'
}
# v6_get: GET the IPv6 VIP from the client; prints the body.
v6_get() { lab_exec client curl -sf -g --max-time 2 "http://[$V6_VIP]:8080/"; }
v6_served_by() { [[ "$(v6_get)" == "served by $1" ]]; }
