#!/usr/bin/env bash
# maxconn = 1 (the seed's one-request-at-a-time server) through the real
# daemon: 20 concurrent slow requests all succeed, the backend never sees
# more than one at a time, and andromedactl shows the others queued in the
# balancer meanwhile.  Then queue_timeout: a request that waits longer than
# it in the queue gets 503.
set -uo pipefail
source "$(dirname "$0")/../lib/lab.sh"

URL="http://$LAB_LB_IP"
N=20
DELAY=100 # ms per request: 20 x 100 ms keeps the queue busy for ~2 s

write_conf() {
	{
		lab_node_conf lb1
		printf '[frontend]\nlisten = %s:80\n\n' "$LAB_LB_IP"
		printf '[backend]\nmaxconn = 1\nqueue_timeout = %s\nhealth_check = /healthz\n' "$1"
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
		lab_exec client timeout 30 curl -s -o /dev/null -w '%{http_code}\n%{time_total}\n' \
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

clients_running() {
	local p
	for p in "${CLIENTS[@]}"; do
		kill -0 "$p" 2>/dev/null && return 0
	done
	return 1
}

# Poll status --json while the clients run (bounded by a deadline); record
# the largest queued and inflight seen for be1.
poll_status() {
	local deadline=$((SECONDS + 30)) q f
	MAX_QUEUED=0 MAX_INFLIGHT=0 SAMPLES=0
	while clients_running && ((SECONDS < deadline)); do
		read -r q f < <(lab_status_json |
			jq -r '.servers[] | select(.name == "be1") | "\(.queued) \(.inflight)"')
		if [[ "$q" =~ ^[0-9]+$ && "$f" =~ ^[0-9]+$ ]]; then
			SAMPLES=$((SAMPLES + 1))
			((q > MAX_QUEUED)) && MAX_QUEUED=$q
			((f > MAX_INFLIGHT)) && MAX_INFLIGHT=$f
		fi
		sleep 0.02
	done
	wait "${CLIENTS[@]}"
	split_outputs
}

be1_inflight_is() { [[ "$(lab_server_field be1 inflight)" == "$1" ]]; }

codes() { cat "$LAB_DIR"/code.* | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}'; }

lab_common_setup 1

write_conf 10s
require "andromeda starts (maxconn = 1)" lab_start_andromeda "$LAB_DIR/lb.conf"
check "be1 up in andromedactl status" lab_wait_for 5 lab_all_up 1

start_clients "$N" "delay=$DELAY"
poll_status
check_eq "all $N concurrent requests get 200" "200:$N " "$(codes)"
stats=$(lab_exec client curl -s --max-time 2 "http://$(lab_be_ip 1)/stats")
check_eq "backend saw $N requests" "$N" "$(jq -r .requests <<<"$stats")"
check_eq "backend never had more than 1 request in flight" 1 "$(jq -r .inflight_max <<<"$stats")"
check_ge "status --json was sampled during the load" "$SAMPLES" 3
check_ge "andromedactl showed requests queued in the balancer" "$MAX_QUEUED" 1
check_le "andromedactl never showed more than 1 in flight" "$MAX_INFLIGHT" 1
lab_stop_andromeda

# queue_timeout: one request holds the only slot for 1.5 s; the 4 queued
# behind it give up after 300 ms with 503.
write_conf 300ms
require "andromeda starts (queue_timeout = 300ms)" lab_start_andromeda "$LAB_DIR/lb.conf"
check "be1 up (queue_timeout run)" lab_wait_for 5 lab_all_up 1
lab_exec client timeout 10 curl -s -o /dev/null -w '%{http_code}' "$URL/?delay=1500&first=1" \
	>"$LAB_DIR/first.code" &
first=$!
check "the slow request holds be1's only slot" lab_wait_for 5 be1_inflight_is 1
start_clients 4 "delay=0"
wait "${CLIENTS[@]}"
split_outputs
wait "$first"
check_eq "the request holding the slot gets 200" 200 "$(cat "$LAB_DIR/first.code")"
check_eq "4 requests queued past queue_timeout get 503" "503:4 " "$(codes)"
# Each client's own time (curl's, so process start-up on a loaded machine
# is not in it): not before queue_timeout (a timer never fires early), and
# well before the 1.5 s the slot stays taken, which tells queue_timeout
# from any longer wait.
check_ge "503 not before queue_timeout (ms, shortest of the 4)" "$(sort -n "$LAB_DIR"/ms.* | head -n1)" 280
check_le "503 came after ~queue_timeout, not after the slow request (ms, longest of the 4)" \
	"$(sort -n "$LAB_DIR"/ms.* | tail -n1)" 1200
lab_stop_andromeda

lab_finish
