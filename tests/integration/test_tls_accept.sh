#!/usr/bin/env bash
# A TLS listener takes one connection per loop turn (core/proxy/proxy.c,
# ACCEPT_BATCH_TLS; docs/performance.md "HTTPS"): its handshake's first
# flight is made at accept, so a batch of accepts delayed the handshakes
# already under way behind as many key exchanges.  Deterministic: the
# daemon is stopped (SIGSTOP) while BURST clients connect and send their
# ClientHello, so all wait in the backlog together; strace, attached to
# the stopped daemon, records its accept4 and epoll_wait calls from the
# SIGCONT on.  Before the change, one epoll_wait turn accepted all BURST
# connections; now each turn accepts one.  Every client is answered.
set -uo pipefail
source "$(dirname "$0")/../lib/lab.sh"

TLSC=$SRC_DIR/tests/tools/tls_client.py
LB=$LAB_LB_IP
BURST=6

lab_common_setup 1
require "openssl, python3 and strace are installed" lab_have openssl python3 strace
CERTS=$LAB_DIR/tls
require "test certificates" bash "$SRC_DIR/tests/lib/tls_certs.sh" "$CERTS"
CONF=$LAB_DIR/lb.conf
{
	lab_node_conf lb1
	printf '[frontend]\nthreads = 1\nlisten = %s:80\ntls_listen = %s:443\n' "$LB" "$LB"
	printf 'tls_cert = %s/a.pem\n\n' "$CERTS"
	printf '[backend]\nhealth_check = /healthz\nhealth_interval = 500ms\nrise = 1\n\n'
	lab_servers_conf 1
} >"$CONF"
require "andromeda starts (plain 80, TLS 443)" lab_start_andromeda "$CONF"
require "be1 up" lab_wait_for 5 lab_all_up 1
require "TLS listener answers" lab_wait_tcp client "$LB" 443 5

pid=$(lab_pid andromeda)
kill -STOP "$pid"
lab_spawn client burst python3 "$TLSC" burst "$LB" 443 "$BURST"
check "$BURST ClientHellos sent to the stopped daemon" \
	lab_wait_for 10 grep -q "^sent $BURST" "$LAB_DIR/burst.log"
strace -f -e trace=accept4,epoll_wait,epoll_pwait,epoll_pwait2 -o "$LAB_DIR/strace.txt" -p "$pid" 2>/dev/null &
spid=$!
sleep 0.5 # attached (to a stopped process: it stays stopped)
kill -CONT "$pid"
check "every client answered 200" lab_wait_for 20 grep -q "^answered $BURST" "$LAB_DIR/burst.log"
kill -INT "$spid" 2>/dev/null
wait "$spid" 2>/dev/null

# The thread that accepted; the most IPv4 connections it accepted between
# two of its epoll_waits.
most=$(awk -v ip="\"$LAB_CLIENT_IP\"" '
	function accepted(l) { return l ~ /accept4\(/ && l ~ /AF_INET/ && index(l, ip) && l ~ /= [0-9]+$/ }
	{ line[NR] = $0; t[NR] = $1 }
	accepted($0) { acc = $1 }
	END {
		for (i = 1; i <= NR; i++) {
			if (t[i] != acc)
				continue
			if (line[i] ~ /epoll_(p)?wait/)
				n = 0
			else if (accepted(line[i]) && ++n > most)
				most = n
			total += accepted(line[i])
		}
		printf "%d %d\n", most, total
	}' "$LAB_DIR/strace.txt")
read -r most total <<<"$most"
echo "# accepted $total of the burst, at most $most per loop turn"
check_eq "all $BURST queued connections accepted under strace" "$BURST" "$total"
check_eq "one TLS connection accepted per loop turn" 1 "$most"
lab_finish
