#!/usr/bin/env bash
# kill -9 one of 3 backends in the middle of a bounded load of GETs: no
# client request fails (in-flight and queued GETs are re-dispatched), the
# dead server is "down" in andromedactl within seconds and gets no more
# requests; restarted, it comes back "up" and receives requests again.
set -uo pipefail
source "$(dirname "$0")/../lib/lab.sh"

URL="http://$LAB_LB_IP"
LOOPS=4
BATCH=50     # requests per keep-alive connection
MAX_BATCHES=400 # a bound; the test stops the load long before
DELAY=10     # ms per request

write_conf() {
	{
		lab_node_conf lb1
		printf '[frontend]\nlisten = %s:80\n\n' "$LAB_LB_IP"
		printf '[backend]\nconnect_timeout = 500ms\nserver_timeout = 5s\nretries = 2\n'
		printf 'health_check = /healthz\nhealth_interval = 200ms\nrise = 2\nfall = 2\n\n'
		lab_servers_conf 3
	} >"$LAB_DIR/lb.conf"
}

be_requests() {
	lab_exec client curl -s --max-time 2 "http://$(lab_be_ip "$1")/stats" | jq -r .requests
}
be_requests_at_least() { (($(be_requests "$1" || echo 0) >= $2)); }

count_names() {
	local f=$1 n
	shift
	for n in "$@"; do
		printf '%s=%s ' "$n" "$(grep -cx "$n" "$f")"
	done
}

lab_common_setup 3
write_conf
require "andromeda starts" lab_start_andromeda "$LAB_DIR/lb.conf"
check "all 3 servers up" lab_wait_for 5 lab_all_up 3

# The load: LOOPS clients, each sending batches of BATCH keep-alive GETs
# until the test stops it (after the failover, however long the machine
# takes to get there; MAX_BATCHES at most), every status code recorded
# (000 = transport error) and every batch counted once done.
LOADERS=()
for ((l = 1; l <= LOOPS; l++)); do
	lab_spawn client "load$l" timeout 300 bash -c '
		for ((b = 0; b < $4; b++)); do
			[[ -e $5 ]] && break
			curl -s -o /dev/null -w "%{http_code}\n" "$1/?delay=$2&loop=$3&b=$b&n=[1-$6]"
			echo "$b" >>"$5.batches"
		done' _ "$URL" "$DELAY" "$l" "$MAX_BATCHES" "$LAB_DIR/stop" "$BATCH"
	LOADERS+=("$LAB_SPAWNED_PID")
done
batches() { wc -l <"$LAB_DIR/stop.batches" 2>/dev/null || echo 0; }

# Kill be2 once the load is well under way (it has served 40 requests).
check "load reaches be2" lab_wait_for 10 be_requests_at_least 2 40

lab_kill be2 KILL
check "be2 is down in andromedactl within 5 s of kill -9" lab_wait_for 5 lab_server_state_is be2 down
# The load goes on past the failover: more batches done after it.
at_down=$(batches)
more_batches() { (($(batches) >= at_down + LOOPS)); }
check "the load runs on after be2 went down" lab_wait_for 60 more_batches
touch "$LAB_DIR/stop"
wait "${LOADERS[@]}"
cat "$LAB_DIR"/load*.log >"$LAB_DIR/codes"
n=$(batches)
check_eq "all $n batches of $BATCH requests completed" $((n * BATCH)) "$(wc -l <"$LAB_DIR/codes")"
check_eq "zero non-200 responses during the failover" 0 "$(grep -cvx 200 "$LAB_DIR/codes")"
check_eq "status still shows be2 down" down "$(lab_server_field be2 state)"
check_ge "be2 has failures counted" "$(lab_server_field be2 failures)" 1

# Out of rotation: 30 more requests, all 200, none to be2.
lab_exec client timeout 30 curl -s "$URL/?after=[1-30]" >"$LAB_DIR/after.out"
check_eq "30 requests after the failure: be1 and be3 only" "be1=15 be2=0 be3=15 " \
	"$(count_names "$LAB_DIR/after.out" be1 be2 be3)"

# Back: restart be2, it must pass rise checks and take requests again.
rm -f "$LAB_DIR/pids/be2"
require "be2 restarts" lab_fakesrv 2
check "be2 is up again in andromedactl within 5 s" lab_wait_for 5 lab_server_state_is be2 up
lab_exec client timeout 30 curl -s "$URL/?back=[1-30]" >"$LAB_DIR/back.out"
n2=$(grep -cx be2 "$LAB_DIR/back.out")
check_ge "restarted be2 receives requests again (of 30)" "$n2" 9
check_le "restarted be2 gets its share, not more (of 30)" "$n2" 11
check_eq "all 30 requests after the restart answered" 30 "$(grep -c '^be[123]$' "$LAB_DIR/back.out")"

lab_stop_andromeda
lab_finish
