#!/usr/bin/env bash
# Round-robin through the real daemon: 3 fakesrv backends that answer with
# their name, 3000 sequential keep-alive GETs -> exactly 1000 each (counted
# by the client and by the backends), weights 3:1:1 over 500 -> 300/100/100,
# and the headers the proxy adds (Via on responses, X-Forwarded-For and
# X-Request-Id on requests), HTTP/1.0 clients.
set -uo pipefail
source "$(dirname "$0")/../lib/lab.sh"

URL="http://$LAB_LB_IP"

# count_names FILE NAME...: "NAME=count" for each, from a body per line.
count_names() {
	local f=$1 n
	shift
	for n in "$@"; do
		printf '%s=%s ' "$n" "$(grep -cx "$n" "$f")"
	done
}

write_conf() {
	{
		lab_node_conf lb1
		printf '[frontend]\nlisten = %s:80\n\n' "$LAB_LB_IP"
		printf '[backend]\nhealth_check = /healthz\nhealth_interval = 1s\nrise = 1\nfall = 3\n\n'
		lab_servers_conf 3 "$@"
	} >"$LAB_DIR/lb.conf"
}

backend_requests() {
	lab_exec client curl -s --max-time 2 "http://$(lab_be_ip "$1")/stats" | jq -r .requests
}

lab_common_setup 3

# --- equal weights --------------------------------------------------------
write_conf 1 1 1
require "andromeda starts (equal weights)" lab_start_andromeda "$LAB_DIR/lb.conf"
check "all 3 servers up in andromedactl status" lab_wait_for 5 lab_all_up 3

# curl's URL globbing sends the 3000 requests over one keep-alive
# connection; each transfer prints its body ("beN") then "c=<new conns>".
lab_exec client timeout 120 curl -s -w 'c=%{num_connects} s=%{http_code}\n' \
	"$URL/?n=[1-3000]" >"$LAB_DIR/rr.out"
check_eq "3000 responses" 3000 "$(grep -c '^c=' "$LAB_DIR/rr.out")"
check_eq "all 3000 are 200" 3000 "$(grep -c 's=200$' "$LAB_DIR/rr.out")"
check_eq "one client connection for 3000 requests (keep-alive)" 1 \
	"$(awk -F'[= ]' '/^c=/ { s += $2 } END { print s + 0 }' "$LAB_DIR/rr.out")"
check_eq "client sees exactly 1000 per backend" "be1=1000 be2=1000 be3=1000 " \
	"$(count_names "$LAB_DIR/rr.out" be1 be2 be3)"
check_eq "backends counted exactly 1000 each (no retry, no duplicate)" "1000 1000 1000" \
	"$(backend_requests 1) $(backend_requests 2) $(backend_requests 3)"

# --- headers ---------------------------------------------------------------
hdrs=$(lab_exec client timeout 5 curl -s -D - -o /dev/null "$URL/")
check "response carries Via: 1.1 lb1" grep -qi '^Via: 1\.1 lb1' <<<"$hdrs"
check "response keeps the backend's X-Server header" grep -qi '^X-Server: be[123]' <<<"$hdrs"
seen=$(lab_exec client timeout 5 curl -s "$URL/headers")
check "backend sees X-Forwarded-For: $LAB_CLIENT_IP" \
	grep -qiE "^X-Forwarded-For: ([0-9., ]*, )?$LAB_CLIENT_IP"$'\r'?'$' <<<"$seen"
check "backend sees X-Forwarded-Proto: http" grep -qi '^X-Forwarded-Proto: http' <<<"$seen"
check "backend sees an X-Request-Id" grep -qiE '^X-Request-Id: [^[:space:]]+' <<<"$seen"
check_eq "HTTP/1.0 client gets 200" 200 \
	"$(lab_exec client timeout 5 curl -s -0 -o /dev/null -w '%{http_code}' "$URL/")"
check_eq "HEAD gets 200 and no body" "200 0" \
	"$(lab_exec client timeout 5 curl -s -I -o /dev/null -w '%{http_code} %{size_download}' "$URL/")"

lab_stop_andromeda

# --- weights 3:1:1 ----------------------------------------------------------
write_conf 3 1 1
require "andromeda starts (weights 3:1:1)" lab_start_andromeda "$LAB_DIR/lb.conf"
check "all 3 servers up (weighted)" lab_wait_for 5 lab_all_up 3
lab_exec client timeout 60 curl -s "$URL/?w=[1-500]" >"$LAB_DIR/wrr.out"
check_eq "weights 3:1:1 over 500 requests" "be1=300 be2=100 be3=100 " \
	"$(count_names "$LAB_DIR/wrr.out" be1 be2 be3)"
check_eq "status counts 500 requests in total" 500 \
	"$(lab_status_json | jq '[.servers[].requests] | add')"
lab_stop_andromeda

lab_finish
