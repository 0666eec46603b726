#!/usr/bin/env bash
# The access log to a file (issue 14): one line per request with its
# fields checked for a 200, a 502 (a POST whose server sent garbage) and a
# retried GET (the same garbage, replayed on a good server); then the
# file is moved away (logrotate) and SIGHUP makes the daemon reopen it.
set -uo pipefail
source "$(dirname "$0")/../lib/lab.sh"

BADSRV=${BADSRV:-$BUILD_DIR/tests/badsrv}
URL="http://$LAB_LB_IP"
ALOG=

# f ID FIELD: FIELD of the access-log line of request ID ("" if none).
f() {
	grep -h " id=$1 " "${3:-$ALOG}" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n1
}
logged() { grep -q " id=$1 " "${2:-$ALOG}" 2>/dev/null; }

write_conf() {
	{
		lab_node_conf lb1
		printf '[frontend]\nlisten = %s:80\naccess_log = %s\n\n' "$LAB_LB_IP" "$ALOG"
		printf '[backend]\nconnect_timeout = 500ms\nserver_timeout = 5s\nretries = 2\n'
		printf 'health_check = /healthz\nhealth_interval = 200ms\nrise = 1\nfall = 50\n\n'
		lab_servers_conf 2
		printf '[server bad]\naddress = %s:80\n\n' "$(lab_be_ip 3)"
		printf '[stats]\nlisten = %s:8404\n' "$LAB_LB_IP"
	} >"$LAB_DIR/lb.conf"
}

lab_common_setup 2
require "badsrv is built ($BADSRV)" test -x "$BADSRV"
require "host be3" lab_host be3 "$(lab_be_ip 3)/24"
lab_spawn be3 bad "$BADSRV" -l "$(lab_be_ip 3):80" -n bad --malformed -t /bad
require "badsrv answers" lab_wait_tcp client "$(lab_be_ip 3)" 80 5
ALOG=$LAB_DIR/logs/access.log
mkdir -p "$LAB_DIR/logs"
write_conf
require "andromeda starts" lab_start_andromeda "$LAB_DIR/lb.conf"
check "all 3 servers up" lab_wait_for 5 lab_all_up 2
check "bad is up" lab_wait_for 5 lab_server_state_is bad up

# --- a 200
code=$(lab_exec client curl -s -o /dev/null -w '%{http_code}' -H 'X-Request-Id: ok-1' \
	"$URL/hello?x=1")
check_eq "GET /hello answers 200" 200 "$code"
check "its line is written within 2 s" lab_wait_for 2 logged ok-1
check_eq "status" 200 "$(f ok-1 status)"
check_eq "method" GET "$(f ok-1 method)"
check_eq "path (quoted, with the query)" '"/hello?x=1"' "$(f ok-1 path)"
check_eq "frontend" "$LAB_LB_IP:80" "$(f ok-1 frontend)"
check "client is the client's address:port" \
	grep -qE "^$LAB_CLIENT_IP:[0-9]+\$" <<<"$(f ok-1 client)"
check "server is be1, be2 or bad" grep -qxE 'be1|be2|bad' <<<"$(f ok-1 server)"
check_eq "termination: completed" -- "$(f ok-1 term)"
check_ge "bytes_in counts the request head" "$(f ok-1 bytes_in)" 40
check_ge "bytes_out counts the response" "$(f ok-1 bytes_out)" 60
check_eq "no retry" 0 "$(f ok-1 retries)"
check_ge "queue_ms (not queued: 0)" "$(f ok-1 queue_ms)" 0
check_ge "connect_ms reached" "$(f ok-1 connect_ms)" 0
check_ge "first_byte_ms reached" "$(f ok-1 first_byte_ms)" 0
check_ge "total_ms >= first_byte_ms" "$(f ok-1 total_ms)" "$(f ok-1 first_byte_ms)"
check "the time is ISO 8601 UTC" \
	grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z client=' "$ALOG"

# --- a 502: a POST whose server (bad) sends a garbage status line cannot
# be replayed.  Round-robin over 3 servers: one of 3 POSTs lands on bad.
got502=
for i in 1 2 3 4 5 6; do
	code=$(lab_exec client curl -s -o /dev/null -w '%{http_code}' -H "X-Request-Id: post-$i" \
		--data-binary x=1 "$URL/bad/p")
	if [[ "$code" == 502 ]]; then
		got502=post-$i
		break
	fi
done
check "a POST to bad gets 502" test -n "$got502"
check "its line is written" lab_wait_for 2 logged "$got502"
check_eq "502: status" 502 "$(f "$got502" status)"
check_eq "502: server" bad "$(f "$got502" server)"
check_eq "502: method" POST "$(f "$got502" method)"
check_eq "502: termination: the server, while we waited for its headers" SH \
	"$(f "$got502" term)"
check_eq "502: not retried (a POST already sent)" 0 "$(f "$got502" retries)"
check_ge "502: bytes_out is our error page" "$(f "$got502" bytes_out)" 50

# --- a retried GET: its first try lands on bad, the replay on a good one.
retried=
for i in 1 2 3 4 5 6; do
	lab_exec client curl -s -o /dev/null -H "X-Request-Id: get-$i" "$URL/bad/g"
	lab_wait_for 2 logged "get-$i"
	if [[ "$(f "get-$i" retries)" == 1 ]]; then
		retried=get-$i
		break
	fi
done
check "a GET to bad is retried elsewhere" test -n "$retried"
check_eq "retried: status 200" 200 "$(f "$retried" status)"
check "retried: served by a good server" grep -qxE 'be1|be2' <<<"$(f "$retried" server)"
check_eq "retried: redispatched once" 1 "$(f "$retried" redispatches)"
check_eq "retried: completed" -- "$(f "$retried" term)"

# --- a request refused by the proxy (400: no Host).  Its X-Request-Id is
# not read from a head that failed to parse: the line has our own id.
fl() { grep -h -- "$1" "$ALOG" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n1; }
lab_exec client bash -c "printf 'GET /nohost HTTP/1.1\r\n\r\n' | timeout 3 nc -q 2 $LAB_LB_IP 80" >/dev/null
check "the 400 is logged" lab_wait_for 2 grep -q ' status=400 ' "$ALOG"
check_eq "400: termination: the proxy refused the request" PR "$(fl ' status=400 ' term)"
check_eq "400: never dispatched" - "$(fl ' status=400 ' server)"
check_eq "400: never queued" -1 "$(fl ' status=400 ' queue_ms)"
check "400: an id of our own" grep -qE '^[0-9a-f]{16}$' <<<"$(fl ' status=400 ' id)"

# --- logrotate: move the file, SIGHUP, new lines go to a new file
mv "$ALOG" "$ALOG.1"
lab_exec client curl -s -o /dev/null -H 'X-Request-Id: before-hup' "$URL/"
check "a line written after the move goes to the moved file" lab_wait_for 2 logged before-hup "$ALOG.1"
lab_kill andromeda HUP
check "SIGHUP reopens: the file is created again" lab_wait_for 3 test -e "$ALOG"
lab_exec client curl -s -o /dev/null -H 'X-Request-Id: after-hup' "$URL/"
check "a line after SIGHUP goes to the new file" lab_wait_for 2 logged after-hup
check "... and not to the old one" bash -c "! grep -q ' id=after-hup ' '$ALOG.1'"
check_eq "the new file is 0640" 640 "$(stat -c %a "$ALOG")"
check_eq "no line lost or doubled: old + new = requests" 2 \
	"$(cat "$ALOG" "$ALOG.1" | grep -cE ' id=(before|after)-hup ')"

# The metrics count the lines, the drops and the reopen.
metric() { lab_exec client curl -s "http://$LAB_LB_IP:8404/metrics" | awk -v n="$1" '$1 == n { print $2 }'; }
written=$(wc -l <"$ALOG")
check_eq "andromeda_access_log_lines_total = the lines in both files" \
	$(($(wc -l <"$ALOG.1") + written)) "$(metric andromeda_access_log_lines_total)"
check_eq "andromeda_access_log_dropped_total" 0 "$(metric andromeda_access_log_dropped_total)"
check_eq "andromeda_access_log_reopens_total" 1 "$(metric andromeda_access_log_reopens_total)"

lab_exec client curl -s -o /dev/null -H 'X-Request-Id: last-1' "$URL/"
lab_stop_andromeda
check "a request right before SIGTERM is in the file once the daemon is gone" \
	grep -q ' id=last-1 ' "$ALOG"

# --- mode tcp: one line per connection ------------------------------------------
TLOG=$LAB_DIR/logs/tcp.log
mkdir -p "$LAB_DIR/state-tcp"
{
	printf '[node]\nname = lbt\nstate_dir = %s/state-tcp\ncontrol_socket = %s/tcp.sock\n\n' "$LAB_DIR" "$LAB_DIR"
	printf '[frontend]\nlisten = %s:81\nmode = tcp\naccess_log = %s\n\n' "$LAB_LB_IP" "$TLOG"
	printf '[backend]\nhealth_interval = 200ms\n\n'
	lab_servers_conf 1
} >"$LAB_DIR/tcp.conf"
lab_spawn lb andromeda-tcp "$ANDROMEDA" -c "$LAB_DIR/tcp.conf"
require "tcp-mode andromeda listens" lab_wait_tcp client "$LAB_LB_IP" 81 5
# The probe that saw it listen was a connection too: its line first.
check "the listening probe's connection is logged" lab_wait_for 2 test -s "$TLOG"
n0=$(wc -l <"$TLOG")
out=$(lab_exec client curl -s --max-time 5 "http://$LAB_LB_IP:81/tcp")
check_eq "a connection through mode tcp reaches be1" be1 "$out"
more_lines() { (($(wc -l <"$TLOG") > n0)); }
check "one line for the connection" lab_wait_for 2 more_lines
sleep 0.2
check_eq "exactly one line" $((n0 + 1)) "$(wc -l <"$TLOG")"
tl() { tail -n1 "$TLOG" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
check_eq "tcp: no method" - "$(tl method)"
check_eq "tcp: no status" - "$(tl status)"
check_eq "tcp: completed, both sides closed" -- "$(tl term)"
check_ge "tcp: bytes_in = the request curl sent" "$(tl bytes_in)" 40
check_ge "tcp: bytes_out = the response" "$(tl bytes_out)" 40
check_ge "tcp: connect_ms reached" "$(tl connect_ms)" 0
check_ge "tcp: first_byte_ms reached" "$(tl first_byte_ms)" 0
lab_stop andromeda-tcp 10 >/dev/null
lab_finish
