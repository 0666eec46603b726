#!/usr/bin/env bash
# TCP_DEFER_ACCEPT (core/proxy/proxy.c, listener_conn_opts;
# docs/configuration.md "Deferred accept"): HTTP and TLS listeners accept
# a connection once its first bytes are there; "mode = tcp" ones at once,
# since their protocol may wait for the server to speak first.
# Black-box, from the kernel's view in the lb namespace (ss): a client that connects and says nothing stays
# SYN-RECV on an HTTP or TLS port (not accepted), a client that speaks
# late is answered, a silent one is accepted after the deferral (about a
# second) all the same; in mode = tcp a silent client gets the backend's
# greeting at once.  The same on an IPv6 listener, and on a listener a
# new process inherits from a mode = tcp one (SIGHUP to mode = http).
# Addresses: 198.18.0.0/15 and 2001:db8:18::/48 only, in the lab's namespaces.
set -uo pipefail
source "$(dirname "$0")/../lib/lab.sh"
source "$(dirname "$0")/../lib/lab_ip6.sh"

LB=$LAB_LB_IP
LB6=2001:db8:18::10

# hold PORT SECONDS [HOST]: a client connects to HOST:PORT (default the
# lb's IPv4 address) and sends nothing; its log is holdPORT.log, emptied
# first (a port held twice must not find the first one's "connected").
hold() {
	: >"$LAB_DIR/hold$1.log"
	lab_spawn client "hold$1" python3 -c '
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
print("connected", flush=True)
time.sleep(float(sys.argv[3]))' "${3:-$LB}" "$1" "$2"
}

# silent_deferred PORT [HOST]: a silent client stays SYN-RECV on the lb,
# then is accepted after the deferral.
silent_deferred() {
	local port=$1 t0
	hold "$port" 6 "${2:-$LB}"
	require "silent client on ${2:-$LB} :$port connected" \
		lab_wait_for 5 grep -q connected "$LAB_DIR/hold$port.log"
	check "silent client on ${2:-$LB} :$port not accepted yet: SYN-RECV on the lb" \
		lb_has syn-recv "$port"
	check_eq "... and no established socket on :$port" 0 "$(lb_conns established "$port")"
	t0=$(lab_now_ms)
	check "silent client on ${2:-$LB} :$port accepted after the deferral (established)" \
		lab_wait_for 10 lb_has established "$port"
	echo "# silent client on :$port accepted $(($(lab_now_ms) - t0)) ms after the check"
	lab_stop "hold$port" 5
}

# lb_conns STATE PORT: the lb's sockets in that TCP state on that port.
lb_conns() { lab_exec lb ss -Htn state "$1" "( sport = :$2 )" | grep -c .; }
lb_has() { [[ "$(lb_conns "$1" "$2")" -ge 1 ]]; }

# late PORT TLS DELAY: connect, wait DELAY s, then send a request (over TLS
# if TLS is 1); prints the status line.
late() {
	lab_exec client timeout 15 python3 -c '
import socket, ssl, sys, time
host, port, tls, delay = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", float(sys.argv[4])
s = socket.create_connection((host, port), timeout=10)
time.sleep(delay)
if tls:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = ctx.wrap_socket(s)
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
print(s.recv(4096).split(b"\r\n")[0].decode())' "$LB" "$1" "$2" "$3"
}

lab_common_setup 2
require "python3 and openssl are installed" lab_have python3 openssl
require "IPv6 address on lb" lab_host6 lb "$LB6/64"
require "IPv6 address on client" lab_host6 client 2001:db8:18::100/64
CERTS=$LAB_DIR/tls
require "test certificates" bash "$SRC_DIR/tests/lib/tls_certs.sh" "$CERTS"
{
	lab_node_conf lb1
	printf '[frontend]\nlisten = %s:80, [%s]:8080\ntls_listen = %s:443\ntls_cert = %s/a.pem\n\n' \
		"$LB" "$LB6" "$LB" "$CERTS"
	printf '[backend]\nhealth_check = /healthz\nhealth_interval = 500ms\nrise = 1\n\n'
	lab_servers_conf 1
} >"$LAB_DIR/http.conf"
require "andromeda starts (HTTP 80, TLS 443)" lab_start_andromeda "$LAB_DIR/http.conf"
require "be1 up" lab_wait_for 5 lab_all_up 1

silent_deferred 80
silent_deferred 443
silent_deferred 8080 "$LB6"
check_eq "HTTP request sent 0.5 s after connecting: answered" "HTTP/1.1 200 OK" "$(late 80 0 0.5)"
check_eq "TLS ClientHello sent 0.5 s after connecting: answered" "HTTP/1.1 200 OK" "$(late 443 1 0.5)"
check_eq "HTTP request sent 2.5 s after connecting (past the deferral): answered" \
	"HTTP/1.1 200 OK" "$(late 80 0 2.5)"
check_eq "TLS ClientHello sent 2.5 s after connecting: answered" "HTTP/1.1 200 OK" "$(late 443 1 2.5)"
lab_stop_andromeda

# mode = tcp: be2 speaks first (fakesrv --tcp says its name).
lab_stop be2 5
require "be2 restarted as a TCP greeter" lab_fakesrv 2 --tcp
{
	lab_node_conf lb1
	printf '[frontend]\nlisten = %s:80\nmode = tcp\n\n' "$LB"
	printf '[backend]\nhealth_check =\nhealth_interval = 500ms\nrise = 1\n\n'
	printf '[server be2]\naddress = %s:80\n\n' "$(lab_be_ip 2)"
} >"$LAB_DIR/tcp.conf"
require "andromeda starts (mode = tcp)" lab_start_andromeda "$LAB_DIR/tcp.conf"
require "be2 up" lab_wait_for 5 lab_server_state_is be2 up
# Well inside the 1 s a deferred accept would hold a silent client.
greeting=$(lab_exec client timeout 5 bash -c '
	exec 3<>"/dev/tcp/$1/80" || exit 1
	IFS= read -r -t 0.8 name <&3 && echo "$name"' _ "$LB")
check_eq "mode = tcp: a client that sends nothing gets the backend's greeting at once" be2 "$greeting"
hold 80 3
require "silent client on tcp :80 connected" lab_wait_for 5 grep -q connected "$LAB_DIR/hold80.log"
check "mode = tcp: a silent client is accepted at once (established)" lab_wait_for 0.5 lb_has established 80
lab_stop hold80 5

# SIGHUP to mode = http: a new process (hitless) inherits the :80 listener
# of the tcp one, which did not defer; it must defer now.
{
	lab_node_conf lb1
	printf '[frontend]\nlisten = %s:80\n\n' "$LB"
	printf '[backend]\nhealth_check = /healthz\nhealth_interval = 500ms\nrise = 1\n\n'
	lab_servers_conf 1
} >"$LAB_DIR/tcp.conf"
daemon_pid() { lab_ctl upgrade status --json | jq -r .pid; }
old=$(daemon_pid)
kill -HUP "$old"
new_answers() { local p; p=$(daemon_pid) && [[ -n "$p" && "$p" != null && "$p" != "$old" ]]; }
require "SIGHUP to mode = http: a new process answers" lab_wait_for 15 new_answers
new=$(daemon_pid)
echo "$new $(lab_starttime "$new")" >"$LAB_DIR/pids/andromeda"
check "the tcp-mode process exits" lab_wait_for 10 bash -c "! kill -0 $old 2>/dev/null || grep -q '^State:.*Z' /proc/$old/status"
check "the new process took the :80 listener over" grep -q "frontend $LB:80: accepting (http mode" "$LAB_DIR/andromeda.log"
silent_deferred 80
check_eq "and answers HTTP on it" "HTTP/1.1 200 OK" "$(late 80 0 0.1)"
# The new process is not this shell's child: no exit status to read.
lab_stop andromeda
check "no sanitizer report in the andromeda log" lab_no_sanitizer_report "$LAB_DIR/andromeda.log"
lab_finish
