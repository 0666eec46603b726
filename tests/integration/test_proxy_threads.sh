#!/usr/bin/env bash
# Two proxy threads ([frontend] threads = 2): what must hold across them.
#  - 15 keep-alive clients x 200 GETs: both threads take connections and
#    requests, and the shared round-robin still gives exactly 1000 to each
#    of the 3 backends (counted by the client and by the backends);
#  - "routes" lists the requests in flight on both threads;
#  - SIGHUP under load: maxconn = 1 applies across threads (the backend
#    never sees two requests at once while 12 wait on two threads) and the
#    reload does not stall the threads;
#  - passive health from thread 1: requests failing there take a backend
#    out of rotation (the next health check is an hour away);
#  - SIGTERM with requests in flight on both threads: every one completes,
#    the daemon exits 0.
set -uo pipefail
source "$(dirname "$0")/../lib/lab.sh"

URL="http://$LAB_LB_IP"
CLIENTS=15
PER_CLIENT=200

write_conf() { # maxconn [health_interval]
	{
		lab_node_conf lb1
		# Held requests (fakesrv hold=1) wait for the test, on a machine of
		# any speed: grace and server_timeout leave them that time.
		printf '[frontend]\nlisten = %s:80\nthreads = 2\ngrace = 30s\n\n' "$LAB_LB_IP"
		printf '[backend]\nmaxconn = %s\nqueue_timeout = 20s\nserver_timeout = 60s\n' "$1"
		printf 'health_interval = %s\nhealth_check = /healthz\nrise = 1\nfall = 2\n\n' "${2:-1s}"
		lab_servers_conf 3
	} >"$LAB_DIR/lb.conf"
}

be_stat() { lab_exec client curl -s --max-time 2 "http://$(lab_be_ip "$1")/stats" | jq -r ".$2"; }
thread_field() { lab_status_json | jq -r ".proxy.threads[$1].$2"; }
routes_count() { lab_ctl routes --json 2>/dev/null | jq 'length'; }
routes_at_least() { local n; n=$(routes_count); [[ "$n" =~ ^[0-9]+$ ]] && ((n >= $1)); }

# spawn_clients N QUERY: N concurrent curls, one status code per request.
spawn_clients() {
	local i
	PIDS=()
	rm -f "$LAB_DIR"/out.*
	for ((i = 1; i <= $1; i++)); do
		lab_exec client timeout 60 curl -s -w 'c=%{http_code}\n' "$URL/?$2&i=$i" >"$LAB_DIR/out.$i" &
		PIDS+=($!)
	done
}
restart_backends() {
	local b
	for b in 1 2 3; do
		lab_kill "be$b" KILL
		lab_fakesrv "$b"
		lab_wait_tcp client "$(lab_be_ip "$b")" 80 5
	done
}
codes() { cat "$LAB_DIR"/out.* | grep -o 'c=[0-9]*' | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}'; }

lab_common_setup 3
write_conf 32
require "andromeda starts with threads = 2" lab_start_andromeda "$LAB_DIR/lb.conf"
check "all 3 servers up" lab_wait_for 5 lab_all_up 3
check_eq "status lists 2 proxy threads" 2 "$(lab_status_json | jq '.proxy.threads | length')"
check "the log says 2 threads" grep -q 'accepting (http mode, 2 threads)' "$LAB_DIR/andromeda.log"

# --- round-robin across threads --------------------------------------------
spawn_clients "$CLIENTS" "n=[1-$PER_CLIENT]"
wait "${PIDS[@]}"
total=$((CLIENTS * PER_CLIENT))
check_eq "all $total requests get 200" "c=200:$total " "$(codes)"
for b in 1 2 3; do
	check_eq "client saw be$b exactly $((total / 3)) times" $((total / 3)) "$(cat "$LAB_DIR"/out.* | grep -cx "be$b")"
	check_eq "be$b counted exactly $((total / 3)) requests" $((total / 3)) "$(be_stat "$b" requests)"
done
# 15 connections over 2 SO_REUSEPORT listeners: all on one is 2 in 2^15.
for t in 0 1; do
	check_ge "thread $t accepted connections" "$(thread_field $t accepted)" 1
	check_ge "thread $t proxied requests" "$(thread_field $t requests)" 1
done
check_eq "the threads' requests add up" "$total" \
	"$(lab_status_json | jq '[.proxy.threads[].requests] | add')"
check_eq "status .proxy.requests is the sum" "$total" "$(lab_status_json | jq '.proxy.requests')"

# --- routes from both threads ------------------------------------------------
# Held at the backends (hold=1) until the gate opens: in flight for as long
# as the clients take to start on a loaded machine.
lab_gate_close
spawn_clients 10 "hold=1"
check "routes lists the 10 requests in flight (both threads)" lab_wait_for 30 routes_at_least 10
lab_gate_open
wait "${PIDS[@]}"
check_eq "the 10 slow requests get 200" "c=200:10 " "$(codes)"

# --- reload to maxconn = 1 under load -----------------------------------------
# Fresh backends first: their inflight_max must count from here.
restart_backends
check "all 3 servers up after the backends' restart" lab_wait_for 5 lab_all_up 3
# Each client's first request is held (hold=1) until the reload has been
# applied: the reload meets 6 requests in flight, however slow the machine.
lab_gate_close
spawn_clients 6 "hold=1&delay=20&n=[1-20]"
check "6 requests in flight before the reload" lab_wait_for 30 routes_at_least 6
write_conf 1
lab_kill andromeda HUP
check "reload applied" lab_wait_for 5 grep -q 'reload: .* applied' "$LAB_DIR/andromeda.log"
lab_gate_open
wait "${PIDS[@]}"
check_eq "the 120 requests around the reload get 200" "c=200:120 " "$(codes)"
restart_backends
check "all 3 servers up after the second restart" lab_wait_for 5 lab_all_up 3
spawn_clients 12 "delay=100"
wait "${PIDS[@]}"
check_eq "12 concurrent slow requests with maxconn = 1 get 200" "c=200:12 " "$(codes)"
check_le "no backend saw two at once (maxconn shared by the threads)" \
	"$(for b in 1 2 3; do be_stat "$b" inflight_max; done | sort -n | tail -n1)" 1
lab_stop_andromeda

# --- passive health from both threads (the next check is an hour away) ---
{
	lab_node_conf lb1
	printf '[frontend]\nlisten = %s:80\nthreads = 2\n\n' "$LAB_LB_IP"
	printf '[backend]\nconnect_timeout = 300ms\nretries = 2\nfall = 2\nrise = 1\nhealth_interval = 1h\n\n'
	lab_servers_conf 3
} >"$LAB_DIR/lb.conf"
require "andromeda starts (health checks hourly)" lab_start_andromeda "$LAB_DIR/lb.conf"
lab_kill be3 KILL
spawn_clients 8 "n=[1-30]"
wait "${PIDS[@]}"
check_eq "240 requests with be3 dead all get 200 (re-dispatched)" "c=200:240 " "$(codes)"
check "be3 is down from failed requests alone" lab_wait_for 3 lab_server_state_is be3 down
lab_stop_andromeda

# --- graceful stop with requests on both threads -------------------------------
lab_fakesrv 3
lab_wait_tcp client "$(lab_be_ip 3)" 80 5
write_conf 32
require "andromeda starts (graceful stop run)" lab_start_andromeda "$LAB_DIR/lb.conf"
check "all 3 servers up again" lab_wait_for 5 lab_all_up 3
lab_gate_close
spawn_clients 10 "hold=1"
check "10 requests in flight" lab_wait_for 30 routes_at_least 10
pid=$(lab_pid andromeda)
lab_kill andromeda TERM
# Still there while the requests are held: it waits for them (grace).
check "andromeda waits for the 10 held requests after SIGTERM" lab_holds 0.5 lab_alive andromeda
t_open=$SECONDS
lab_gate_open
lab_wait_gone andromeda 40 || lab_kill andromeda KILL
wait "$pid"
check_eq "andromeda exits 0 after SIGTERM with requests in flight" 0 "$?"
# Once its requests are done it goes: well before the 30 s of grace.
check_le "it exited when its requests were done, not at the end of grace (s)" $((SECONDS - t_open)) 15
wait "${PIDS[@]}"
check_eq "all 10 in-flight requests completed" "c=200:10 " "$(codes)"
check "no sanitizer report in the andromeda log" lab_no_sanitizer_report "$LAB_DIR/andromeda.log"

lab_finish
