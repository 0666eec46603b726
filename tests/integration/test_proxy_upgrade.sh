#!/usr/bin/env bash
# test_proxy_upgrade.sh - Upgrade (WebSocket-style) through the proxy: the
# 101 goes to the client with Via, then bytes are tunnelled both ways
# unchanged until the client half-closes; the tunnel shows in routes.
set -u
source "$(dirname "$0")/../lib/lab.sh"

lab_common_setup 1
require "nc is installed" lab_have nc
{
	lab_node_conf lb1
	printf '[frontend]\nlisten = %s:80\n\n[backend]\nhealth_interval = 1s\n\n' "$LAB_LB_IP"
	lab_servers_conf 1
} >"$LAB_DIR/lb.conf"
require "andromeda starts" lab_start_andromeda "$LAB_DIR/lb.conf"

head='GET /ws HTTP/1.1\r\nHost: upgrade.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n'
base64 -w 76 </dev/urandom | head -c 300000 >"$LAB_DIR/payload"
{ printf "$head"; cat "$LAB_DIR/payload"; } >"$LAB_DIR/request"
lab_exec client timeout 10 nc -N "$LAB_LB_IP" 80 <"$LAB_DIR/request" >"$LAB_DIR/reply"
check "the client gets 101 Switching Protocols" grep -q '^HTTP/1.1 101 ' "$LAB_DIR/reply"
check "the 101 carries Via" grep -qi '^Via: 1.1 lb1' "$LAB_DIR/reply"
check "... and Upgrade: echo" grep -qi '^Upgrade: echo' "$LAB_DIR/reply"
# After the head: the backend's name line, then our bytes echoed.
body=$(awk 'found { print } /^\r$/ { found = 1 }' "$LAB_DIR/reply")
check_eq "the backend behind the tunnel" be1 "$(head -n1 <<<"$body")"
check_eq "300 KB went through the tunnel and back unchanged" \
	"$(md5sum <"$LAB_DIR/payload" | cut -d' ' -f1)" "$(tail -n +2 <<<"$body" | head -c 300000 | md5sum | cut -d' ' -f1)"

# A tunnel held open shows in the routing table as "tunnel".
# Held until we stop it (30 s at most), not for a span the check must fit in.
lab_spawn client hold sh -c "{ printf '$head'; sleep 30; } | nc $LAB_LB_IP 80 >/dev/null"
tunnel_listed() { lab_ctl routes --json | jq -e 'any(.[]; .state == "tunnel" and .server == "be1")' >/dev/null; }
check "andromedactl routes lists the open tunnel" lab_wait_for 2 tunnel_listed
lab_stop hold 5 >/dev/null
check "normal requests still work" lab_exec client curl -sf --max-time 2 -o /dev/null "http://$LAB_LB_IP/"
lab_stop_andromeda
lab_finish
