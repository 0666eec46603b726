#!/usr/bin/env bash
# IPv6 on the data path (issue 16; docs/configuration.md, "IPv6"): a
# dual-stack listener pair (0.0.0.0:80 and [::]:80 side by side, the IPv6
# one IPV6_V6ONLY), IPv6 backends, HTTP health checks to them marking one
# down and up again, X-Forwarded-For of an IPv6 client, the [stats]
# listener on IPv6, a server added at run time by an IPv6 address and
# journalled with it, and a restart that rebuilds it from the journal.
# A server by name (address = web4.lab.test:80): resolved from a hosts
# file of the test's (bind-mounted over /etc/hosts for andromeda alone, in
# a private mount namespace), followed when the name moves from IPv6 to
# IPv4, kept (logged once) while the name does not resolve.
# An andromeda-agent announcing an IPv6 service to ff02::114 on its link
# (no IPv4 broadcast): registered with its IPv6 address, serves, and
# withdraws on SIGTERM.  A hitless upgrade hands both listeners, IPv4
# and IPv6, to the new process.
# Addresses: 2001:db8:18::/48 only, in the lab's namespaces.
set -uo pipefail
source "$(dirname "$0")/../lib/lab.sh"
source "$(dirname "$0")/../lib/lab_ip6.sh"

P6=2001:db8:18
LB6=$P6::10
CL6=$P6::100
be6() { echo "$P6::$((20 + $1))"; }

write_conf() {
	{
		lab_node_conf lb1
		printf '[frontend]\nlisten = 0.0.0.0:80, [::]:80\naccess_log = %s/access.log\n\n' "$LAB_DIR"
		printf '[backend]\nhealth_check = /healthz\nhealth_interval = 200ms\nrise = 1\nfall = 1\n'
		printf 'resolve_interval = 300ms\n\n'
		printf '[server be1]\naddress = [%s]:80\n\n[server be2]\naddress = [%s]:80\n\n' \
			"$(be6 1)" "$(be6 2)"
		printf '[server be4]\naddress = web4.lab.test:80\n\n'
		printf '[server be5]\naddress = nowhere.lab.test:8080\n\n'
		printf '[registration]\nenabled = yes\nkey_file = %s/cluster.key\n\n' "$LAB_DIR"
		printf '[stats]\nlisten = [%s]:8404\n' "$LB6"
	} >"$LAB_DIR/lb.conf"
}

# get URL [curl args]: body from the client host (-g: brackets are literal).
get() { lab_exec client curl -gs --max-time 5 "$@"; }
# names N URL: the backends' names of N requests, one a line.
names() {
	local i
	for ((i = 0; i < $1; i++)); do get "$2"; done
}
test_field() { [[ "$(lab_server_field "$1" "$2")" == "$3" ]]; }
# name_field SERVER FIELD: its entry in status's "names" table.
name_field() {
	lab_status_json | jq -r --arg n "$1" --arg f "$2" \
		'.names[] | select(.server == $n) | .[$f] // empty' 2>/dev/null
}
name_state_is() { [[ "$(name_field "$1" state)" == "$2" ]]; }
hdr() { sed -n "s/^$1: //Ip" | tr -d '\r' | head -n1; }

# andromeda sees $LAB_DIR/hosts as /etc/hosts (and a resolv.conf with no
# server: a name missing from the file fails inside the namespace); the
# mount is private to its process, the -t check included.
hosts_wrapper() {
	printf '198.18.0.1 unused.lab.test\n' >"$LAB_DIR/hosts"
	printf 'options timeout:1 attempts:1\n' >"$LAB_DIR/resolv.conf"
	cat >"$LAB_DIR/andromeda-hosts" <<-EOF
		#!/bin/sh
		exec unshare -m --propagation private sh -c '
			mount --bind "$LAB_DIR/hosts" /etc/hosts &&
			mount --bind "$LAB_DIR/resolv.conf" /etc/resolv.conf &&
			exec "\$0" "\$@"' "$ANDROMEDA" "\$@"
	EOF
	chmod +x "$LAB_DIR/andromeda-hosts"
	ANDROMEDA=$LAB_DIR/andromeda-hosts
}
# set_hosts LINE: the name's address now (same inode: the mount follows).
set_hosts() { printf '%s\n' "$1" >"$LAB_DIR/hosts"; }

require "running as root" test "$EUID" -eq 0
require "andromeda is built ($ANDROMEDA)" test -x "$ANDROMEDA"
require "fakesrv is built ($FAKESRV)" test -x "$FAKESRV"
require "jq and curl are installed" lab_have jq curl
lab_trap
require "lab namespace and bridge" lab_init
require "lab topology: client, lb, 5 backends" lab_topology 5
for h in client:100 lb:10 be1:21 be2:22 be3:23 be4:24 be5:25; do
	require "IPv6 address on ${h%%:*}" lab_host6 "${h%%:*}" "$P6::${h##*:}/64"
done
for i in 1 2 3 4 5; do
	lab_spawn "be$i" "be$i" "$FAKESRV" -l "[$(be6 "$i")]:80" -n "be$i"
done
lab_spawn be4 be4v4 "$FAKESRV" -l "$(lab_be_ip 4):80" -n be4v4
require "fakesrv be4v4 answers on IPv4" lab_wait_tcp client "$(lab_be_ip 4)" 80 5
for i in 1 2 3 4; do
	require "fakesrv be$i answers on IPv6" lab_wait_tcp client "$(be6 "$i")" 80 5
done

(umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$LAB_DIR/cluster.key" && echo >>"$LAB_DIR/cluster.key")
write_conf
hosts_wrapper
set_hosts "$(be6 4) web4.lab.test"
require "andromeda starts" lab_start_andromeda "$LAB_DIR/lb.conf"
check "both IPv6 listeners are bound" lab_wait_tcp client "$LB6" 80 5
check "be1 and be2 up (health checks over IPv6)" lab_wait_for 5 lab_all_up 2
check_eq "status shows be1's address in brackets" "[$(be6 1)]:80" "$(lab_server_field be1 address)"

# --- a server by name -----------------------------------------------------------------
check "be4 (web4.lab.test) resolved and up" lab_wait_for 5 lab_server_state_is be4 up
check_eq "be4's address is the name's IPv6 one" "[$(be6 4)]:80" "$(lab_server_field be4 address)"
check_eq "status names be4's host" "web4.lab.test 80 resolved" \
	"$(name_field be4 host) $(name_field be4 port) $(name_field be4 state)"
check "be5 (nowhere.lab.test) failed to resolve, in status" lab_wait_for 5 name_state_is be5 failed
check "... with the resolver's reason" test -n "$(name_field be5 error)"
check "... and is not in the pool" test -z "$(lab_server_field be5 name)"
human_shows_be5() { lab_ctl status | grep -q "be5 .*nowhere.lab.test .*failed"; }
check "the human status shows the name that does not resolve" human_shows_be5
lab_ctl status | sed -n '/^names/,/^$/p'
lab_ctl drain be1 >/dev/null && lab_ctl drain be2 >/dev/null
check_eq "be4 serves (be1, be2 drained)" be4 "$(get "http://[$LB6]/")"
set_hosts "$(lab_be_ip 4) web4.lab.test"
check "the name moved to IPv4: be4 follows" \
	lab_wait_for 5 test_field be4 address "$(lab_be_ip 4):80"
check "be4 at the new address is up" lab_wait_for 5 lab_server_state_is be4 up
check_eq "requests go to the new address" be4v4 "$(get "http://[$LB6]/")"
# The file is rewritten in place, so a lookup may catch it half written
# (a failure of its own, logged): count from here on.
from=$(wc -l <"$LAB_DIR/andromeda.log")
fails() { tail -n +"$((from + 1))" "$LAB_DIR/andromeda.log" | grep -c 'cannot resolve web4.lab.test'; }
failed() { (($(fails) >= 1)); }
set_hosts "198.18.0.1 unused.lab.test"
check "a name that stops resolving is logged" lab_wait_for 10 failed
sleep 1 # three more intervals: still one line, the address kept
check_eq "logged once, not every interval" 1 "$(fails)"
check_eq "the server keeps its last address" "$(lab_be_ip 4):80" "$(lab_server_field be4 address)"
check "status: be4 still resolved, with the last lookup's failure" \
	test "$(name_field be4 state)" = resolved -a -n "$(name_field be4 error)"
set_hosts "$(be6 4) web4.lab.test"
check "it resolves again: back to IPv6" lab_wait_for 5 test_field be4 address "[$(be6 4)]:80"
lab_ctl enable be1 >/dev/null && lab_ctl enable be2 >/dev/null
lab_ctl drain be4 >/dev/null

# --- forwarding: IPv6 and IPv4 clients to IPv6 servers ---------------------------
out=$(names 4 "http://[$LB6]/")
check_eq "IPv6 client: round-robin over the IPv6 servers" "be1 be2 be1 be2" "$(echo $out)"
out=$(names 2 "http://$LAB_LB_IP/")
check "IPv4 client on 0.0.0.0:80: served by the IPv6 servers" \
	test "$(echo $out | tr ' ' '\n' | sort -u | tr '\n' ' ')" = "be1 be2 "

# --- X-Forwarded-For ---------------------------------------------------------------
check_eq "X-Forwarded-For of an IPv6 client is its address" "$CL6" \
	"$(get "http://[$LB6]/headers" | hdr X-Forwarded-For)"
check_eq "X-Forwarded-For of an IPv4 client" "$LAB_CLIENT_IP" \
	"$(get "http://$LAB_LB_IP/headers" | hdr X-Forwarded-For)"
check_eq "a received X-Forwarded-For gets the IPv6 client appended" "198.51.100.7, $CL6" \
	"$(get -H 'X-Forwarded-For: 198.51.100.7' "http://[$LB6]/headers" | hdr X-Forwarded-For)"

check "the access log shows the IPv6 client as [address]:port" \
	lab_wait_for 5 grep -qF "client=[$CL6]:" "$LAB_DIR/access.log"

# --- health checks: down and up again ----------------------------------------------
lab_kill be1 USR1 # fakesrv: /healthz answers 503 until the next SIGUSR1
check "be1 marked down by its failing check" lab_wait_for 5 lab_server_state_is be1 down
out=$(names 3 "http://[$LB6]/")
check_eq "while be1 is down, be2 takes every request" "be2 be2 be2" "$(echo $out)"
lab_kill be1 USR1
check "be1 back up" lab_wait_for 5 lab_server_state_is be1 up

# --- stats on IPv6 -----------------------------------------------------------------
check "GET /metrics on [$LB6]:8404 labels be1 with its IPv6 address" \
	grep -qF "address=\"[$(be6 1)]:80\"" <<<"$(get "http://[$LB6]:8404/metrics")"

# --- a server added at run time by its IPv6 address, journalled --------------------
check "andromedactl add be3 [$(be6 3)]:80" lab_ctl add be3 "[$(be6 3)]:80"
check "be3 comes up" lab_wait_for 5 lab_server_state_is be3 up
check_eq "be3's address" "[$(be6 3)]:80" "$(lab_server_field be3 address)"
check "be3 serves" grep -q be3 <<<"$(names 3 "http://[$LB6]/")"
jaddr=$(lab_ctl journal --json | jq -r '[.[] | select(.server == "be3")][0].address')
check_eq "the journal records be3's IPv6 address" "[$(be6 3)]:80" "$jaddr"
check "andromedactl refuses the same address again" \
	bash -c "! timeout 5 '$ANDROMEDACTL' -s '$LAB_DIR/control.sock' add be4 '[$(be6 3)]:80'"

# --- an agent announcing over IPv6 ------------------------------------------------
printf '[agent]\nname = web6\nservice = [%s]:80\nhealth_url = http://[%s]:80/healthz\n' \
	"$(be6 5)" "$(be6 5)" >"$LAB_DIR/agent.conf"
printf 'interface = eth0\nannounce_interval = 200ms\nkey_file = %s/cluster.key\nstate_file = %s/agent.seq\n' \
	"$LAB_DIR" "$LAB_DIR" >>"$LAB_DIR/agent.conf"
check "andromeda-agent -t accepts an IPv6 service" \
	timeout 10 "$BUILD_DIR/andromeda-agent" -t -c "$LAB_DIR/agent.conf"
lab_spawn be5 agent "$BUILD_DIR/andromeda-agent" -c "$LAB_DIR/agent.conf"
check "web6 registered by its IPv6 announcements, and up" \
	lab_wait_for 10 lab_server_state_is web6 up
check_eq "web6's address is its IPv6 service" "[$(be6 5)]:80" "$(lab_server_field web6 address)"
check_eq "web6 is a registered server" registered "$(lab_server_field web6 source)"
check "the agent logs the balancer's acknowledgement" \
	lab_wait_for 5 grep -q 'balancer lb1 .* accepted web6' "$LAB_DIR/agent.log"
check "the agent announced to ff02::114 on eth0" grep -q 'to ff02::114 port' "$LAB_DIR/agent.log"
check "web6 serves" grep -q be5 <<<"$(names 4 "http://[$LB6]/")"
lab_stop agent
check_eq "the agent exits 0 on SIGTERM" 0 "$?"
gone() { [[ -z "$(lab_server_field web6 name)" ]]; }
check "its withdraw removes web6" lab_wait_for 5 gone

# --- an interface that comes up after the start (no [ha]: the group is
# joined on every interface, and again on those that come later)
LATE=$(lab_ns late) LB_NS=$(lab_ns lb) L6=2001:db8:18:1
late_link() {
	lab_netns_add "$LATE" &&
		ip -n "$LB_NS" link add eth1 type veth peer name eth0 netns "$LATE" &&
		ip netns exec "$LB_NS" sysctl -qw net.ipv6.conf.eth1.accept_dad=0 &&
		ip netns exec "$LATE" sysctl -qw net.ipv6.conf.eth0.accept_dad=0 &&
		ip -n "$LB_NS" addr add "$L6::1/64" dev eth1 nodad &&
		ip -n "$LATE" addr add "$L6::2/64" dev eth0 nodad &&
		ip -n "$LB_NS" link set eth1 up && ip -n "$LATE" link set eth0 up
}
require "a new link from lb to host late, after the start" late_link
lab_spawn late late "$FAKESRV" -l "[$L6::2]:80" -n late
printf '[agent]\nname = web7\nservice = [%s::2]:80\nhealth_url = http://[%s::2]:80/healthz\n' \
	"$L6" "$L6" >"$LAB_DIR/agent7.conf"
printf 'interface = eth0\nannounce_interval = 200ms\nkey_file = %s/cluster.key\nstate_file = %s/agent7.seq\n' \
	"$LAB_DIR" "$LAB_DIR" >>"$LAB_DIR/agent7.conf"
lab_spawn late agent7 "$BUILD_DIR/andromeda-agent" -c "$LAB_DIR/agent7.conf"
check "the group is joined on the new interface" \
	lab_wait_for 5 grep -q 'registry: group ff02::114 joined on 1 more interface' "$LAB_DIR/andromeda.log"
check "web7, announced on the new link, registered and up" \
	lab_wait_for 10 lab_server_state_is web7 up
lab_stop agent7

# --- a hitless upgrade passes the IPv6 listener ------------------------------------
daemon_pid() { lab_ctl upgrade status --json | jq -r .pid; }
old=$(daemon_pid)
check "andromedactl upgrade" lab_ctl upgrade
new_answers() { local p; p=$(daemon_pid) && [[ -n "$p" && "$p" != null && "$p" != "$old" ]]; }
check "a new process answers" lab_wait_for 10 new_answers
new=$(daemon_pid)
echo "$new $(lab_starttime "$new")" >"$LAB_DIR/pids/andromeda"
check "the old process exits" lab_wait_for 10 bash -c "! kill -0 $old 2>/dev/null || grep -q '^State:.*Z' /proc/$old/status"
check "the new process serves on [::]:80" grep -qE '^be[0-9]' <<<"$(get "http://[$LB6]/")"
check "and on 0.0.0.0:80" grep -qE '^be[0-9]' <<<"$(get "http://$LAB_LB_IP/")"

# The new process is not this shell's child: no exit status to read.
lab_stop andromeda
check_eq "the upgraded process stopped cleanly" 2 "$(grep -c 'andromeda: info: stopped' "$LAB_DIR/andromeda.log")"
check "no sanitizer report in the andromeda log" lab_no_sanitizer_report "$LAB_DIR/andromeda.log"
require "andromeda restarts" lab_start_andromeda "$LAB_DIR/lb.conf"
check_eq "be3 rebuilt from the journal with its IPv6 address" "[$(be6 3)]:80" \
	"$(lab_server_field be3 address)"

lab_finish
