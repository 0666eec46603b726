#!/usr/bin/env bash
# andromeda-agent on the wire, in a namespace lab: backend be1 runs a
# fakesrv and the agent; three "balancers" run udp_sink (decodes with the
# cluster key, answers with acks):
#   lb1 198.18.0.10  genuine acks
#   lb2 198.18.0.11  acks signed with another key (forgeries)
#   lb3 198.18.0.12  genuine acks, each sent twice (the copy is a replay);
#                    also the agent's unicast balancer
# Checked: -t and a bad file (file:line); announcements on the broadcast
# address every interval (first one with the hello flag), unicast copies;
# the first ack from each balancer logged once; forged and replayed acks
# dropped and counted; no announcement while /healthz fails or the service
# is down, a withdraw pair instead; announcements again when it recovers;
# SIGTERM -> two withdraws ~50 ms apart, exit 0.
set -uo pipefail
source "$(dirname "$0")/../lib/lab.sh"

AGENT=${AGENT:-$BUILD_DIR/andromeda-agent}
UDP_SINK=${UDP_SINK:-$BUILD_DIR/tests/udp_sink}
BE_IP=198.18.0.21
BCAST=198.18.0.255
INTERVAL_MS=200

# A cluster key file as the daemon expects it: 64 hex digits, mode 0600.
make_key() {
	(umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$1" && echo >>"$1")
}

# lines FILE [FROM_LINE]: the sink's output from line FROM_LINE+1 on.
lines() { tail -n +"$((${2:-0} + 1))" "$1"; }
nlines() { wc -l <"$1"; }
# count FILE FROM PATTERN: matching lines after line FROM.
count() { lines "$1" "$2" | grep -cE -- "$3"; }
has() { (($(count "$1" "$2" "$3") >= ${4:-1})); }

# gaps FILE FROM PATTERN: "min median max" of the t= gaps between matches.
gaps() {
	lines "$1" "$2" | grep -E -- "$3" | sed -n 's/^t=\([0-9]*\) .*/\1/p' |
		awk 'NR > 1 { print $1 - prev } { prev = $1 }' | sort -n |
		awk '{ a[NR] = $1 } END { if (NR) print a[1], a[int((NR + 1) / 2)], a[NR]; else print "- - -" }'
}

write_conf() {
	cat >"$LAB_DIR/agent.conf" <<-EOF
	[agent]
	name = be1
	service = $BE_IP:80
	weight = 3
	health_url = http://$BE_IP:80/healthz
	health_timeout = 100ms
	interface = eth0
	announce_interval = ${INTERVAL_MS}ms
	key_file = $LAB_DIR/cluster.key
	balancers = 198.18.0.12
	EOF
}

require "running as root" test "$EUID" -eq 0
require "andromeda-agent is built ($AGENT)" test -x "$AGENT"
require "udp_sink is built ($UDP_SINK)" test -x "$UDP_SINK"
require "fakesrv is built ($FAKESRV)" test -x "$FAKESRV"
require "lab namespace and bridge" lab_init
lab_trap
require "hosts be1, lb1, lb2, lb3" eval 'lab_host be1 $BE_IP/24 && lab_host lb1 198.18.0.10/24 &&
	lab_host lb2 198.18.0.11/24 && lab_host lb3 198.18.0.12/24'
require "cluster key and a forged key" eval 'make_key "$LAB_DIR/cluster.key" && make_key "$LAB_DIR/forged.key"'
write_conf

# --- configuration check ----------------------------------------------------
out=$("$AGENT" -t -c "$LAB_DIR/agent.conf" 2>&1)
check_eq "-t accepts the file" "configuration file $LAB_DIR/agent.conf is valid" "$out"
sed 's/^weight = 3$/weight = 0/' "$LAB_DIR/agent.conf" >"$LAB_DIR/bad.conf"
out=$("$AGENT" -t -c "$LAB_DIR/bad.conf" 2>&1)
rc=$?
check_eq "-t rejects weight = 0 with exit 2" 2 "$rc"
check_eq "error is FILE:LINE: reason" "$LAB_DIR/bad.conf:4: weight: \"0\" is out of range (1..256)" "$out"
check "--version" eval '"$AGENT" --version | grep -q "^andromeda-agent "'

# --- start ------------------------------------------------------------------
lab_spawn lb1 lb1 "$UDP_SINK" -p 7789 -k "$LAB_DIR/cluster.key" -a lb1 -s 198.18.0.10
lab_spawn lb2 lb2 "$UDP_SINK" -p 7789 -k "$LAB_DIR/cluster.key" -a lb2 -s 198.18.0.11 \
	-f "$LAB_DIR/forged.key"
lab_spawn lb3 lb3 "$UDP_SINK" -p 7789 -k "$LAB_DIR/cluster.key" -a lb3 -s 198.18.0.12 -R
sink_bound() { lab_exec "$1" ss -Hlun 'sport = :7789' | grep -q 7789; }
require "the three sinks are bound" lab_wait_for 3 eval 'sink_bound lb1 && sink_bound lb2 && sink_bound lb3'
lab_spawn be1 be1 "$FAKESRV" -l "$BE_IP:80" -n be1
require "fakesrv answers /healthz" lab_wait_http be1 "http://$BE_IP/healthz" 5
lab_spawn be1 agent "$AGENT" -c "$LAB_DIR/agent.conf"
L1=$LAB_DIR/lb1.log L2=$LAB_DIR/lb2.log L3=$LAB_DIR/lb3.log AL=$LAB_DIR/agent.log

require "lb1 hears an announcement on the broadcast address within 2 s" \
	lab_wait_for 2 has "$L1" 0 "to=$BCAST .*type=announce"
sleep 2.5
first=$(grep -m1 'type=announce' "$L1")
check "the first announcement carries the hello flag" grep -q 'flags=1$' <<<"$first"
check "and the announced fields" \
	grep -q "from=$BE_IP:[0-9]* to=$BCAST .*name=be1 service=$BE_IP:80 weight=3 interval=$INTERVAL_MS" <<<"$first"
check_eq "later announcements do not" 0 "$(count "$L1" 1 'type=announce.*flags=1$')"
# Counted in the 2.5 s after the first one, by the sink's own clock (t=):
# the time the script took to notice the first one is not part of it.
n=$(grep -E -- "to=$BCAST .*type=announce" "$L1" | sed -n 's/^t=\([0-9]*\) .*/\1/p' |
	awk 'NR == 1 { t0 = $1 } $1 < t0 + 2500 { n++ } END { print n + 0 }')
check_ge "announcements in the 2.5 s from the first, at ${INTERVAL_MS}ms" "$n" 11
check_le "announcements in the 2.5 s from the first, at ${INTERVAL_MS}ms" "$n" 14
read -r gmin gmed gmax < <(gaps "$L1" 0 "to=$BCAST .*type=announce")
check_ge "median gap between announcements (ms)" "$gmed" 180
check_le "median gap between announcements (ms)" "$gmed" 220
check_ge "shortest gap (ms)" "$gmin" 120
check_le "longest gap (ms)" "$gmax" 350
check_eq "lb1 saw nothing it could not verify" 0 "$(count "$L1" 0 'drop=')"
check "lb2 hears the same broadcasts" has "$L2" 0 "to=$BCAST .*type=announce" 10
check "lb3 gets unicast copies too" has "$L3" 0 "to=198.18.0.12 .*type=announce" 10
check "lb3 gets the broadcasts" has "$L3" 0 "to=$BCAST .*type=announce" 10
check_eq "no withdraw while healthy" 0 "$(count "$L1" 0 'type=withdraw')"

# --- acknowledgements -------------------------------------------------------
check_eq "lb1's ack logged once (first ack only)" 1 \
	"$(grep -c 'balancer lb1 (198.18.0.10) accepted be1' "$AL")"
check_eq "lb3's ack logged once" 1 "$(grep -c 'balancer lb3 (198.18.0.12) accepted be1' "$AL")"
check_eq "lb2's forged acks are never taken" 0 "$(grep -c 'balancer lb2' "$AL")"
check "forged acks logged as bad_mac" grep -q 'dropped a datagram from 198.18.0.11: bad_mac' "$AL"
check "replayed acks logged as replay" grep -q 'dropped a datagram from 198.18.0.12: replay' "$AL"
check_le "drops are rate-limited in the log" "$(grep -c 'dropped a datagram' "$AL")" 2
lab_kill agent USR1
lab_wait_for 2 grep -q 'agent: stats:' "$AL"
stats=$(grep 'agent: stats:' "$AL" | tail -n1)
mac=$(sed -n 's/.*(mac \([0-9]*\),.*/\1/p' <<<"$stats")
rep=$(sed -n 's/.*replay \([0-9]*\),.*/\1/p' <<<"$stats")
check_ge "forged acks counted (mac)" "$mac" 10
check_ge "replayed acks counted" "$rep" 10

# --- unhealthy: /healthz answers 503 ----------------------------------------
mark=$(nlines "$L1")
lab_kill be1 USR1
check "a withdraw (why=unhealthy) within 1 s" \
	lab_wait_for 1 has "$L1" "$mark" 'type=withdraw .*why=unhealthy'
wd=$(grep -n 'type=withdraw' "$L1" | tail -n1 | cut -d: -f1)
sleep 1.2
check_eq "two withdraws on the broadcast" 2 "$(count "$L1" "$mark" "to=$BCAST .*type=withdraw .*why=unhealthy")"
check_eq "no announcement while /healthz fails" 0 "$(count "$L1" "$wd" 'type=announce')"
check "the agent says why" grep -q 'failed its check (http status 503): withdrawing' "$AL"
mark=$(nlines "$L1")
lab_kill be1 USR1
check "announced again within 1 s of recovery" lab_wait_for 1 has "$L1" "$mark" 'type=announce'
check "with the hello flag" eval 'lines "$L1" "$mark" | grep -m1 type=announce | grep -q "flags=1$"'

# --- the service stops ------------------------------------------------------
mark=$(nlines "$L1")
lab_stop be1 5
check "a withdraw within 1 s of the service stopping" \
	lab_wait_for 1 has "$L1" "$mark" 'type=withdraw .*why=unhealthy'
wd=$(grep -n 'type=withdraw' "$L1" | tail -n1 | cut -d: -f1)
sleep 1.2
check_eq "no announcement while the service is down" 0 "$(count "$L1" "$wd" 'type=announce')"
check "the agent says why" grep -q 'failed its check (connection refused): withdrawing' "$AL"
mark=$(nlines "$L1")
lab_spawn be1 be1 "$FAKESRV" -l "$BE_IP:80" -n be1
check "announced again once the service is back" lab_wait_for 3 has "$L1" "$mark" 'type=announce'

# --- SIGTERM ----------------------------------------------------------------
sleep 0.5
mark1=$(nlines "$L1") mark3=$(nlines "$L3")
lab_stop agent 5
rc=$?
check_eq "agent exits 0 on SIGTERM" 0 "$rc"
sleep 0.2
check_eq "lb1: two withdraws (why=shutdown) on the broadcast" 2 \
	"$(count "$L1" "$mark1" "to=$BCAST .*type=withdraw .*why=shutdown")"
# An announcement due at the same instant may precede the first withdraw;
# after it, only the second withdraw may come.
first_wd=$(grep -n 'why=shutdown' "$L1" | head -n1 | cut -d: -f1)
check_eq "lb1: after the first withdraw, only the second" "1 1" \
	"$(count "$L1" "${first_wd:-0}" '.') $(count "$L1" "${first_wd:-0}" 'why=shutdown')"
check_eq "lb3: two unicast withdraws too" 2 "$(count "$L3" "$mark3" "to=198.18.0.12 .*type=withdraw .*why=shutdown")"
read -r gmin gmed gmax < <(gaps "$L1" "$mark1" 'type=withdraw')
check_ge "withdraws ~50 ms apart (ms)" "$gmin" 40
check_le "withdraws ~50 ms apart (ms)" "$gmax" 150
check "the agent logged its final counters" grep -q 'agent: stats:.*withdraws' "$AL"
check "no sanitizer report in the agent log" lab_no_sanitizer_report "$AL"

lab_finish
