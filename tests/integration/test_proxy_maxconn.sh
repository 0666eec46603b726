#!/usr/bin/env bash
# maxconn = 1 (the seed's one-request-at-a-time server) through the real
# daemon: 20 concurrent requests all succeed, the backend never sees more
# than one at a time, and andromedactl shows the other 19 queued in the
# balancer while the first is held at the backend (fakesrv hold=1, until
# the test opens the gate: no race between starting 20 clients and a
# delay).  Then queue_timeout: a request that waits longer than
# it in the queue gets 503.
set -uo pipefail
source "$(dirname "$0")/../lib/lab.sh"

URL="http://$LAB_LB_IP"
N=20

write_conf() {
	{
		lab_node_conf lb1
		printf '[frontend]\nlisten = %s:80\n\n' "$LAB_LB_IP"
		# server_timeout: a held request (hold=1) waits for the test, on a
		# machine of any speed; only queue_timeout is under test.
		printf '[backend]\nmaxconn = 1\nqueue_timeout = %s\nserver_timeout = 60s\nhealth_check = /healthz\n' "$1"
		printf 'health_interval = 500ms\nrise = 1\nfall = 3\n\n'
		lab_servers_conf 1
	} >"$LAB_DIR/lb.conf"
}

# start_clients N QUERY: N concurrent curls, each writing its status code to
# $LAB_DIR/code.I and its own elapsed time (ms, from curl's start: process
# and namespace start-up on a loaded machine are not in it) to
# $LAB_DIR/ms.I; their pids in CLIENTS.
start_clients() {
	local i
	CLIENTS=()
	rm -f "$LAB_DIR"/out.* "$LAB_DIR"/code.* "$LAB_DIR"/ms.*
	for ((i = 1; i <= $1; i++)); do
		lab_exec client timeout 90 curl -s -o /dev/null -w '%{http_code}\n%{time_total}\n' \
			"$URL/?$2&i=$i" >"$LAB_DIR/out.$i" &
		CLIENTS+=($!)
	done
}

# split_outputs: out.I -> code.I (status) and ms.I (time_total in ms).
split_outputs() {
	local f i
	for f in "$LAB_DIR"/out.*; do
		i=${f##*.}
		sed -n 1p "$f" >"$LAB_DIR/code.$i"
		sed -n 2p "$f" | awk '{ printf "%d\n", $1 * 1000 }' >"$LAB_DIR/ms.$i"
	done
}

be1_inflight_is() { [[ "$(lab_server_field be1 inflight)" == "$1" ]]; }

codes() { cat "$LAB_DIR"/code.* | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}'; }

lab_common_setup 1

write_conf 60s
require "andromeda starts (maxconn = 1)" lab_start_andromeda "$LAB_DIR/lb.conf"
check "be1 up in andromedactl status" lab_wait_for 5 lab_all_up 1

# be1_queue_is Q F: status shows Q queued in the balancer and F in flight.
be1_queue_is() {
	[[ "$(lab_status_json | jq -r '.servers[] | select(.name == "be1") | "\(.queued) \(.inflight)"')" == "$1 $2" ]]
}
lab_gate_close
start_clients "$N" "hold=1"
check "andromedactl shows $((N - 1)) queued in the balancer, 1 in flight" \
	lab_wait_for 30 be1_queue_is $((N - 1)) 1
lab_gate_open
wait "${CLIENTS[@]}"
split_outputs
check_eq "all $N concurrent requests get 200" "200:$N " "$(codes)"
# The backend's own count is the proof for the whole drain (sampling status
# while it drains would see what the machine's speed lets it see).
stats=$(lab_exec client curl -s --max-time 2 "http://$(lab_be_ip 1)/stats")
check_eq "backend saw $N requests" "$N" "$(jq -r .requests <<<"$stats")"
check_eq "backend never had more than 1 request in flight" 1 "$(jq -r .inflight_max <<<"$stats")"
lab_stop_andromeda

# queue_timeout: one request holds the only slot (until the gate opens);
# the 4 queued behind it give up after 300 ms with 503.
write_conf 300ms
require "andromeda starts (queue_timeout = 300ms)" lab_start_andromeda "$LAB_DIR/lb.conf"
check "be1 up (queue_timeout run)" lab_wait_for 5 lab_all_up 1
lab_gate_close
lab_exec client timeout 60 curl -s -o /dev/null -w '%{http_code}' "$URL/?hold=1&first=1" \
	>"$LAB_DIR/first.code" &
first=$!
check "the slow request holds be1's only slot" lab_wait_for 5 be1_inflight_is 1
start_clients 4 "delay=0"
wait "${CLIENTS[@]}"
split_outputs
lab_gate_open
wait "$first"
check_eq "the request holding the slot gets 200" 200 "$(cat "$LAB_DIR/first.code")"
check_eq "4 requests queued past queue_timeout get 503" "503:4 " "$(codes)"
# The slot was held until after the 503s, so they are queue_timeout's.
# Each client's own time (curl's, so process start-up on a loaded machine
# is not in it): not before queue_timeout (a timer never fires early), and
# well under a second, which tells the configured 300 ms from any longer
# timeout.
check_ge "503 not before queue_timeout (ms, shortest of the 4)" "$(sort -n "$LAB_DIR"/ms.* | head -n1)" 280
check_le "503 came after ~queue_timeout, not after the slow request (ms, longest of the 4)" \
	"$(sort -n "$LAB_DIR"/ms.* | tail -n1)" 1200
lab_stop_andromeda

lab_finish
