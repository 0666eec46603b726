#!/usr/bin/env bash
# Bad input over raw TCP: each request-smuggling shape, bad request lines,
# oversized URI and head, an unknown HTTP version, a slow head and a slow
# body, an oversized body.  Each gets its status line and the connection
# is closed; none of the rejected heads reaches the backend; the daemon
# keeps serving and exits cleanly.
set -uo pipefail
source "$(dirname "$0")/../lib/lab.sh"

write_conf() {
	{
		lab_node_conf lb1
		printf '[frontend]\nlisten = %s:80\nheader_timeout = 1s\nclient_timeout = 1s\n' "$LAB_LB_IP"
		printf 'max_body_size = 1k\n\n'
		printf '[backend]\nhealth_check = /healthz\nhealth_interval = 500ms\nrise = 1\nfall = 3\n\n'
		lab_servers_conf 1
	} >"$LAB_DIR/lb.conf"
}

# raw PAYLOAD: send PAYLOAD (printf %b escapes) on a fresh connection from
# the client; print "STATUS-LINE|closed-or-open|ms-to-status".  "closed"
# means EOF (or reset) within 3 s of the status line.
raw() {
	# The proxy may answer and close before it has read the whole payload:
	# the rest of our write then fails (EPIPE); what counts is the answer.
	lab_exec client timeout 15 bash -c '
		trap "" PIPE
		exec 3<>"/dev/tcp/$1/80" || { echo "connect failed|-|-"; exit 0; }
		t0=$(date +%s%N)
		printf "%b" "$2" >&3 2>/dev/null
		IFS= read -r -t 5 line <&3
		t1=$(date +%s%N)
		state=open
		while :; do
			IFS= read -r -t 3 l <&3
			rc=$?
			((rc == 0)) && continue
			((rc > 128)) || state=closed
			break
		done
		printf "%s|%s|%d\n" "${line%$'"'\r'"'}" "$state" $(((t1 - t0) / 1000000))' _ "$LAB_LB_IP" "$1"
}

# expect DESC STATUS PAYLOAD: the status line starts with "HTTP/1.1 STATUS"
# and the connection is closed.
expect() {
	local r
	r=$(raw "$3")
	check_eq "$1 -> $2, connection closed" "HTTP/1.1 $2|closed" \
		"$(cut -d' ' -f1,2 <<<"${r%%|*}")|$(cut -d'|' -f2 <<<"$r")"
	LAST_MS=$(cut -d'|' -f3 <<<"$r")
}

backend_requests() {
	lab_exec client curl -s --max-time 2 "http://$(lab_be_ip 1)/stats" | jq -r .requests
}

lab_common_setup 1
write_conf
require "andromeda starts" lab_start_andromeda "$LAB_DIR/lb.conf"
check "be1 up" lab_wait_for 5 lab_all_up 1

H='Host: www.example.test\r\n'
LONG_URI="/$(head -c 5000 /dev/zero | tr '\0' a)"
BIG_HEAD=""
for ((i = 0; i < 20; i++)); do
	BIG_HEAD+="X-Filler-$i: $(head -c 500 /dev/zero | tr '\0' b)\r\n"
done

# Rejected from the head alone: none of these may reach the backend.
expect "CL + TE (smuggling)" 400 \
	"POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
expect "two different Content-Length" 400 \
	"POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"
expect "non-numeric Content-Length" 400 \
	"POST / HTTP/1.1\r\n${H}Content-Length: 5x\r\n\r\nhello"
expect "obs-fold header continuation" 400 \
	"GET / HTTP/1.1\r\n${H}X-Folded: a\r\n b\r\n\r\n"
expect "space before the colon" 400 \
	"GET / HTTP/1.1\r\nHost : www.example.test\r\n\r\n"
expect "garbage request line" 400 \
	"GARBAGE\r\n\r\n"
expect "HTTP/9.1" 505 \
	"GET / HTTP/9.1\r\n${H}\r\n"
expect "5000-byte URI" 414 \
	"GET $LONG_URI HTTP/1.1\r\n${H}\r\n"
expect "10 kB header block" 431 \
	"GET / HTTP/1.1\r\n${H}${BIG_HEAD}\r\n"
expect "Content-Length over max_body_size" 413 \
	"POST / HTTP/1.1\r\n${H}Content-Length: 2000\r\n\r\n"
expect "slow head (header_timeout = 1s)" 408 \
	"GET / HTTP/1.1\r\n${H}"
check_ge "408 not before header_timeout (ms)" "$LAST_MS" 900
check_le "408 soon after header_timeout (ms)" "$LAST_MS" 3000
check_eq "no rejected head reached the backend" 0 "$(backend_requests)"

# Rejected in the body (the head may already have been forwarded).
expect "invalid chunk size" 400 \
	"POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
expect "slow body (client_timeout = 1s)" 408 \
	"POST / HTTP/1.1\r\n${H}Content-Length: 10\r\n\r\nabc"
check_ge "slow body 408 not before client_timeout (ms)" "$LAST_MS" 900

# Still serving, and a well-formed request on a raw connection is kept open.
r=$(raw "GET / HTTP/1.1\r\n${H}\r\n")
check_eq "a normal raw GET still gets 200 and keep-alive" "HTTP/1.1 200|open" \
	"$(cut -d' ' -f1,2 <<<"${r%%|*}")|$(cut -d'|' -f2 <<<"$r")"
check_eq "curl GET still works" be1 "$(lab_exec client timeout 5 curl -s "http://$LAB_LB_IP/")"
check "andromeda still running" lab_alive andromeda

lab_stop_andromeda
lab_finish
