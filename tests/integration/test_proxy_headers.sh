#!/usr/bin/env bash
# The headers the proxy adds (docs/http.md): Via on forwarded requests and
# on responses (RFC 9110 7.6.3), appended to a Via received; X-Request-Id
# on every response: a proxied 200 (the same id the backend was sent, or
# the client's own), a 503 from a pool with nothing in rotation (after
# waiting queue_timeout for a server to come back), a 400;
# and `via = no` (applied by a reload): no Via of ours either way, the id
# still there.  The backend is fakesrv, whose /headers echoes the request
# head it received.
set -uo pipefail
source "$(dirname "$0")/../lib/lab.sh"

URL="http://$LAB_LB_IP"

write_conf() {
	{
		lab_node_conf lb1
		printf '[frontend]\nlisten = %s:80\nvia = %s\n\n' "$LAB_LB_IP" "$1"
		printf '[backend]\nhealth_check = /healthz\nhealth_interval = 500ms\nrise = 1\nfall = 3\n'
		printf 'queue_timeout = 500ms\n\n'
		lab_servers_conf 1
	} >"$LAB_DIR/lb.conf"
}

# get ARGS...: curl from the client; response head to $LAB_DIR/h, body to $LAB_DIR/b.
get() {
	lab_exec client timeout 5 curl -s -D "$LAB_DIR/h" -o "$LAB_DIR/b" "$@"
}
# hdr FILE NAME: the value of header NAME (first one), CR stripped.
hdr() { sed -n "s/^$2: //Ip" "$1" | tr -d '\r' | head -n1; }
nhdr() { grep -ci "^$2:" "$1"; }
status() { head -n1 "$LAB_DIR/h" | cut -d' ' -f2; }

# raw PAYLOAD: send PAYLOAD (printf %b) on a new connection, print the
# response head (up to its empty line), CR stripped.
raw() {
	lab_exec client timeout 5 bash -c '
		trap "" PIPE
		exec 3<>"/dev/tcp/$1/80" || exit 1
		printf "%b" "$2" >&3 2>/dev/null
		while IFS= read -r -t 3 l <&3; do
			l=${l%$'"'\r'"'}
			[[ -z "$l" ]] && break
			printf "%s\n" "$l"
		done' _ "$LAB_LB_IP" "$1"
}

lab_common_setup 1
write_conf yes
require "andromeda starts" lab_start_andromeda "$LAB_DIR/lb.conf"
check "be1 up" lab_wait_for 5 lab_all_up 1

# --- Via on the forwarded request and on the response -------------------------
get "$URL/headers"
check_eq "GET /headers is 200" 200 "$(status)"
check_eq "the backend sees Via: 1.1 lb1" "1.1 lb1" "$(hdr "$LAB_DIR/b" Via)"
check_eq "the client sees Via: 1.1 lb1" "1.1 lb1" "$(hdr "$LAB_DIR/h" Via)"
id=$(hdr "$LAB_DIR/h" X-Request-Id)
check "the 200 carries an X-Request-Id" test -n "$id"
check_eq "it is the id the backend was sent" "$id" "$(hdr "$LAB_DIR/b" X-Request-Id)"

get -H 'Via: 1.0 corp-proxy' "$URL/headers"
check_eq "a received Via gets ours appended (backend)" "1.0 corp-proxy, 1.1 lb1" "$(hdr "$LAB_DIR/b" Via)"
check_eq "one Via line at the backend" 1 "$(nhdr "$LAB_DIR/b" Via)"
get -0 "$URL/headers"
check_eq "an HTTP/1.0 request: Via: 1.0 lb1 at the backend" "1.0 lb1" "$(hdr "$LAB_DIR/b" Via)"

get -H 'X-Request-Id: client-abc.123' "$URL/"
check_eq "a client's own id comes back on the response" "client-abc.123" "$(hdr "$LAB_DIR/h" X-Request-Id)"
check_eq "and only once" 1 "$(nhdr "$LAB_DIR/h" X-Request-Id)"

# --- the balancer's own errors --------------------------------------------------
head400=$(raw 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n')
check "a bad request gets 400" grep -q '^HTTP/1.1 400 ' <<<"$head400"
check "the 400 carries an X-Request-Id" grep -qE '^X-Request-Id: [^ ]+$' <<<"$head400"

require "drain be1: nothing left in rotation" eval "lab_ctl drain be1 >/dev/null"
get "$URL/"
check_eq "an empty pool answers 503" 503 "$(status)"
check "the 503 carries an X-Request-Id" test -n "$(hdr "$LAB_DIR/h" X-Request-Id)"
get -H 'X-Request-Id: mine-503' "$URL/"
check_eq "the 503 carries the client's id" "mine-503" "$(hdr "$LAB_DIR/h" X-Request-Id)"
check_eq "the 503 carries Via: 1.1 lb1" "1.1 lb1" "$(hdr "$LAB_DIR/h" Via)"
require "enable be1" eval "lab_ctl enable be1 >/dev/null"

# --- via = no -----------------------------------------------------------------
write_conf no
lab_kill andromeda HUP
check "after a reload with via = no, the response has no Via" \
	lab_wait_for 5 eval 'get "$URL/headers" && [[ "$(status)" == 200 && "$(nhdr "$LAB_DIR/h" Via)" == 0 ]]'
check_eq "the backend sees no Via" 0 "$(nhdr "$LAB_DIR/b" Via)"
check "the response still carries an X-Request-Id" test -n "$(hdr "$LAB_DIR/h" X-Request-Id)"
get -H 'Via: 1.0 corp-proxy' "$URL/headers"
check_eq "a received Via passes unchanged" "1.0 corp-proxy" "$(hdr "$LAB_DIR/b" Via)"

lab_stop_andromeda
lab_finish
