#!/usr/bin/env bash
# A stall is not an outage (issue 19): under wrk -c512 keep-alive load,
# every backend drops incoming SYNs for 2 s (nftables in its namespace: a
# full accept queue, a switch hiccup or a Pi busy writing to its SD card
# look the same).  The balancer must answer every request with a 2xx,
# take at most one server out of rotation (none for failed checks), and
# serve from all three again within one check interval of the stall's end.  Then: one backend killed for
# good plus a 2 s stall of the other two: the dead one leaves the
# rotation, the other two keep serving with 0 non-2xx.
#
# The backends close each connection after 100 answers (fakesrv -k, as
# nginx's keepalive_requests before 1.19.10), so the balancer keeps
# opening connections and the stall hits it; the checks run every second
# (the defaults: connect_timeout 1s, retries 2, rise 2, fall 3).  A
# request can outlast a stall only if it gets (retries + 1) x
# connect_timeout of connects: here 3 s against 2 s.
set -uo pipefail
source "$(dirname "$0")/../lib/lab.sh"

URL="http://$LAB_LB_IP"
CONNS=${STALL_CONNS:-512}
DURATION=10 # s of load per scenario
STALL_AT=3  # s into the load
STALL_S=2

write_conf() {
	{
		lab_node_conf lb1
		printf 'log_level = info\n\n[frontend]\nlisten = %s:80\n\n' "$LAB_LB_IP"
		printf '[backend]\nhealth_check = /healthz\nhealth_interval = 1s\n\n'
		lab_servers_conf 3
	} >"$LAB_DIR/lb.conf"
}

# stall_on I: drop the SYNs that open connections to backend I (not the
# packets of established ones); stall_off I: let them through again.
stall_on() {
	lab_exec "be$1" nft -f - <<-'EOF'
		table inet stall {
			chain input {
				type filter hook input priority 0; policy accept;
				tcp dport 80 tcp flags & (syn | ack) == syn drop
			}
		}
	EOF
}
stall_off() { lab_exec "be$1" nft delete table inet stall; }

# wrk_run NAME: the load, DURATION s from the client, in the background;
# a 10 s client timeout so that a request waiting out a stall counts as
# what it gets in the end, not as wrk's own 2 s timeout.
wrk_run() {
	lab_spawn client "$1" timeout $((DURATION + 30)) wrk -t2 -c"$CONNS" -d"${DURATION}s" \
		--timeout 10s "$URL/"
}
wrk_done() { ! lab_alive "$1"; }
non2xx() { awk '/Non-2xx or 3xx responses:/ {n += $NF} END {print n + 0}' "$LAB_DIR/$1.log"; }
sockerrs() {
	awk '/Socket errors:/ {gsub(/[^0-9 ]/, " "); for (i = 1; i <= NF; i++) n += $i} END {print n + 0}' \
		"$LAB_DIR/$1.log"
}
requests() { awk '/ requests in / {print $1}' "$LAB_DIR/$1.log"; }
downs() { grep -c 'is DOWN' "$LAB_DIR/andromeda.log"; }

# names_served N: the backends that answer N plain GETs, sorted, comma-joined.
names_served() {
	lab_exec client timeout 20 curl -s --max-time 5 "$URL/?n=[1-$1]" | sort -u | paste -sd, -
}
all_three_serve() { [[ "$(names_served 9)" == be1,be2,be3 ]]; }

require "nft is installed (package nftables)" lab_have nft
require "wrk is installed" lab_have wrk
lab_common_setup 3 -k 100
write_conf
require "andromeda starts" lab_start_andromeda "$LAB_DIR/lb.conf"
check "all 3 servers up" lab_wait_for 5 lab_all_up 3
require "the stall rule loads in a backend namespace" stall_on 1
stall_off 1

# --- 1: every backend stalls for 2 s under -c512 ------------------------------
wrk_run wrk1
sleep "$STALL_AT"
for i in 1 2 3; do stall_on "$i"; done
t_stall=$(lab_now_ms)
lab_log "SYNs dropped on be1..be3"
sleep "$STALL_S"
for i in 1 2 3; do stall_off "$i"; done
t_end=$(lab_now_ms)
lab_log "stall over after $((t_end - t_stall)) ms"
# One check interval (1 s), and half a second for this poll's own requests.
check "within one check interval of the stall's end, all three serve" lab_wait_for 1.5 all_three_serve
check "all 3 servers up in andromedactl" lab_all_up 3
check "wrk finishes" lab_wait_for $((DURATION + 30)) wrk_done wrk1
cat "$LAB_DIR/wrk1.log"
check_ge "requests completed during stall scenario" "$(requests wrk1)" 1000
check_eq "0 non-2xx responses through a 2 s stall of every backend" 0 "$(non2xx wrk1)"
check_eq "0 socket errors at the client" 0 "$(sockerrs wrk1)"
# A server whose kept-alive connections all closed during the stall
# completes nothing and may be taken out on its timeouts (a stall a hair
# longer than (fall - 1) x connect_timeout): one at most (max_ejection_percent),
# and none by its checks, which time out while the others answer.
check_le "at most one server taken out by the stall" "$(downs)" 1
check_eq "none taken out by failed checks" 0 "$(grep -c 'failed checks' "$LAB_DIR/andromeda.log")"
check "no panic either" test "$(lab_status_json | jq -r .pool.panics)" = 0
lab_ctl servers >&2

# --- 2: be2 killed for good, then be1 and be3 stall for 2 s ---------------------
wrk_run wrk2
sleep 1
lab_kill be2 KILL
check "the dead be2 leaves the rotation" lab_wait_for 5 lab_server_state_is be2 down
check_eq "be2 is out for failed requests (ejected)" true "$(lab_server_field be2 ejected)"
for i in 1 3; do stall_on "$i"; done
lab_log "SYNs dropped on be1 and be3"
sleep "$STALL_S"
for i in 1 3; do stall_off "$i"; done
lab_log "stall over"
check "wrk finishes" lab_wait_for $((DURATION + 30)) wrk_done wrk2
cat "$LAB_DIR/wrk2.log"
check_eq "0 non-2xx with be2 dead and be1, be3 stalled" 0 "$(non2xx wrk2)"
check_eq "be2 is still down" down "$(lab_server_field be2 state)"
check_eq "be1 is up" up "$(lab_server_field be1 state)"
check_eq "be3 is up" up "$(lab_server_field be3 state)"
check_eq "be2 gets nothing after the stall" be1,be3 "$(names_served 10)"
# After the stall: a second, shorter load, every answer a 2xx.
DURATION=3
wrk_run wrk3
check "wrk after the stall finishes" lab_wait_for 40 wrk_done wrk3
cat "$LAB_DIR/wrk3.log"
check_ge "requests after the stall" "$(requests wrk3)" 100
check_eq "0 non-2xx after the stall" 0 "$(non2xx wrk3)"
check_eq "0 socket errors after the stall" 0 "$(sockerrs wrk3)"
lab_ctl status >&2

lab_stop_andromeda
lab_finish
