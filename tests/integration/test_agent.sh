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

# stamps FILE FROM PATTERN: the t= of the matches (the kernel's receipt time).
stamps() { lines "$1" "$2" | grep -E -- "$3" | sed -n 's/^t=\([0-9]*\) .*/\1/p'; }

# mean_gap FILE FROM PATTERN I J: the mean gap (ms) from match I to match J.
# The agent keeps a fixed cadence (each round one interval after the
# previous one was due, core/agent/agent.c), so a late send moves one gap, not
# the mean over many: (t_J - t_I) / (J - I) is the interval on a loaded
# machine too.
mean_gap() {
	stamps "$1" "$2" "$3" | sed -n "$4,$5p" |
		awk -v n=$(($5 - $4 + 1)) 'NR == 1 { a = $1 } { b = $1 } END { if (NR == n) print int((b - a) / (n - 1)); else print "-" }'
}

# min_gap FILE FROM PATTERN: the shortest gap between matches (ms).
min_gap() { stamps "$1" "$2" "$3" | awk 'NR > 1 { g = $1 - p; if (m == "" || g < m) m = g } { p = $1 } END { print m }'; }

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

# 16 announcements (15 intervals, ~3 s): counted as they come, not after a
# sleep, so a slow machine takes longer but sees the same thing.
NANN=16
ANN="to=$BCAST .*type=announce"
require "lb1 hears an announcement on the broadcast address" lab_wait_for 5 has "$L1" 0 "$ANN"
check "lb1 hears $NANN of them" lab_wait_for 10 has "$L1" 0 "$ANN" "$NANN"
first=$(grep -m1 'type=announce' "$L1")
check "the first announcement carries the hello flag" grep -q 'flags=1$' <<<"$first"
check "and the announced fields" \
	grep -q "from=$BE_IP:[0-9]* to=$BCAST .*name=be1 service=$BE_IP:80 weight=3 interval=$INTERVAL_MS" <<<"$first"
check_eq "later announcements do not" 0 "$(count "$L1" 1 'type=announce.*flags=1$')"
# From the 2nd: the first waits for the agent's first check (libcurl's
# start-up), which is not the cadence.
mg=$(mean_gap "$L1" 0 "$ANN" 2 "$NANN")
check_ge "mean gap over $((NANN - 2)) announcements is announce_interval (ms)" "$mg" $((INTERVAL_MS * 9 / 10))
check_le "mean gap over $((NANN - 2)) announcements is announce_interval (ms)" "$mg" $((INTERVAL_MS * 11 / 10))
check_eq "lb1 saw nothing it could not verify" 0 "$(count "$L1" 0 'drop=')"
check "lb2 hears the same broadcasts" lab_wait_for 3 has "$L2" 0 "$ANN" "$NANN"
check "lb3 gets unicast copies too" lab_wait_for 3 has "$L3" 0 "to=198.18.0.12 .*type=announce" "$NANN"
check "lb3 gets the broadcasts" lab_wait_for 3 has "$L3" 0 "$ANN" "$NANN"
check_eq "no withdraw while healthy" 0 "$(count "$L1" 0 'type=withdraw')"

# --- acknowledgements -------------------------------------------------------
# Every sink has answered many announcements by now; the agent logs each
# balancer's first ack only.
check "lb1's ack logged" lab_wait_for 3 grep -q 'balancer lb1 (198.18.0.10) accepted be1' "$AL"
check_eq "lb1's ack logged once (first ack only)" 1 \
	"$(grep -c 'balancer lb1 (198.18.0.10) accepted be1' "$AL")"
check "lb3's ack logged" lab_wait_for 3 grep -q 'balancer lb3 (198.18.0.12) accepted be1' "$AL"
check_eq "lb3's ack logged once" 1 "$(grep -c 'balancer lb3 (198.18.0.12) accepted be1' "$AL")"
check_eq "lb2's forged acks are never taken" 0 "$(grep -c 'balancer lb2' "$AL")"
check "forged acks logged as bad_mac" \
	lab_wait_for 3 grep -q 'dropped a datagram from 198.18.0.11: bad_mac' "$AL"
check "replayed acks logged as replay" \
	lab_wait_for 3 grep -q 'dropped a datagram from 198.18.0.12: replay' "$AL"
check_le "drops are rate-limited in the log" "$(grep -c 'dropped a datagram' "$AL")" 2
# stats_field NAME: NAME's count in the agent's last "stats:" line.
stats_field() { grep 'agent: stats:' "$AL" | tail -n1 | sed -n "s/.*[( ]$1 \([0-9]*\),.*/\1/p"; }
# acks_counted N: ask for fresh counters (SIGUSR1); both causes reach N.
nstats() { grep -c 'agent: stats:' "$AL"; }
acks_counted() {
	local n0
	n0=$(nstats)
	lab_kill agent USR1
	lab_wait_for 2 eval '(($(nstats) > n0))' || return 1
	(($(stats_field mac) >= $1 && $(stats_field replay) >= $1))
}
lab_wait_for 5 acks_counted 10
check_ge "forged acks counted (mac)" "$(stats_field mac)" 10
check_ge "replayed acks counted" "$(stats_field replay)" 10

# --- unhealthy: /healthz answers 503 ----------------------------------------
mark=$(nlines "$L1")
lab_kill be1 USR1
check "a withdraw (why=unhealthy) within 1 s" \
	lab_wait_for 1 has "$L1" "$mark" 'type=withdraw .*why=unhealthy'
WD_UNHEALTHY="to=$BCAST .*type=withdraw .*why=unhealthy"
check "two withdraws on the broadcast" lab_wait_for 2 has "$L1" "$mark" "$WD_UNHEALTHY" 2
wd=$(grep -n 'type=withdraw' "$L1" | tail -n1 | cut -d: -f1)
# quiet_after MARK WD: exactly the two withdraws since MARK, no announcement
# after the last one (at WD).
quiet_after() { (($(count "$L1" "$1" "$WD_UNHEALTHY") == 2 && $(count "$L1" "$2" 'type=announce') == 0)); }
check "no announcement, no third withdraw while /healthz fails (1.2 s: 6 intervals)" \
	lab_holds 1.2 quiet_after "$mark" "$wd"
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
check "two withdraws on the broadcast" lab_wait_for 2 has "$L1" "$mark" "$WD_UNHEALTHY" 2
wd=$(grep -n 'type=withdraw' "$L1" | tail -n1 | cut -d: -f1)
check "no announcement, no third withdraw while the service is down (1.2 s)" \
	lab_holds 1.2 quiet_after "$mark" "$wd"
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
# The agent has exited: its datagrams are all sent; wait for the sinks to
# have logged them.
lab_wait_for 3 has "$L1" "$mark1" "to=$BCAST .*type=withdraw .*why=shutdown" 2
lab_wait_for 3 has "$L3" "$mark3" "to=198.18.0.12 .*type=withdraw .*why=shutdown" 2
check_eq "lb1: two withdraws (why=shutdown) on the broadcast" 2 \
	"$(count "$L1" "$mark1" "to=$BCAST .*type=withdraw .*why=shutdown")"
# An announcement due at the same instant may precede the first withdraw;
# after it, only the second withdraw may come.
first_wd=$(grep -n 'why=shutdown' "$L1" | head -n1 | cut -d: -f1)
check_eq "lb1: after the first withdraw, only the second" "1 1" \
	"$(count "$L1" "${first_wd:-0}" '.') $(count "$L1" "${first_wd:-0}" 'why=shutdown')"
check_eq "lb3: two unicast withdraws too" 2 "$(count "$L3" "$mark3" "to=198.18.0.12 .*type=withdraw .*why=shutdown")"
# Apart, so that one burst of loss cannot take both: the second is armed
# 50 ms after the first (a lower bound a loaded machine cannot shorten; t=
# is the kernel's receipt time).  How late it may come is not a property.
check_ge "the two withdraws are ~50 ms apart, not back to back (ms)" \
	"$(min_gap "$L1" "$mark1" 'type=withdraw')" 40
check "the agent logged its final counters" grep -q 'agent: stats:.*withdraws' "$AL"
check "no sanitizer report in the agent log" lab_no_sanitizer_report "$AL"

lab_finish
