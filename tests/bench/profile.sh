#!/usr/bin/env bash
# profile.sh - what one proxied request costs andromeda, in figures that
# do not depend on what else runs on the machine (issue 17): instructions
# per request (valgrind --tool=callgrind) and system calls per request
# (strace -c -f), keep-alive, at each concurrency of CONNS.  Everything on
# loopback: three static nginx backends on 127.0.0.1:18081-18083, the
# daemon on 127.0.0.1:18080, wrk -t1 as the client.
#
#   sudo bash tests/bench/profile.sh                 # both, c = 1 64 512
#   sudo MODE=strace CONNS="64" bash tests/bench/profile.sh
#   sudo MODE=callgrind KEEP=1 bash tests/bench/profile.sh   # keep callgrind.out
#
# Environment: MODE (callgrind, strace or both: default both; perf: cpu-clock
# samples by object and symbol, kernel included), CONNS
# ("1 64 512"), DURATION (wrk per run, 10s; under callgrind the daemon is
# ~50x slower, so the request count, not the time, is what matters),
# CONF_EXTRA (lines added to [frontend], e.g. "access_log = journal"),
# KEEP=1 (leave the work directory and callgrind output), ANDROMEDA,
# ANDROMEDACTL (default build/).
# Prints, per run: requests (the daemon's own count), instructions per
# request (Ir, the daemon's whole process, only while the load ran) and
# system calls per request, by call.
set -uo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
ANDROMEDA=${ANDROMEDA:-$SRC/build/andromeda}
ANDROMEDACTL=${ANDROMEDACTL:-$SRC/build/andromedactl}
MODE=${MODE:-both}
CONNS=${CONNS:-1 64 512}
DURATION=${DURATION:-10s}
CONF_EXTRA=${CONF_EXTRA:-}
DIR=$(mktemp -d /tmp/andromeda-profile.XXXXXX)
PIDS=()

die() { printf 'profile: %s\n' "$*" >&2; exit 1; }
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[[ ${KEEP:-0} == 1 ]] && echo "profile: kept $DIR" || rm -rf "$DIR"
}
trap cleanup EXIT

for t in wrk nginx jq valgrind strace callgrind_annotate; do
	command -v "$t" >/dev/null || die "missing $t"
done
[[ -x $ANDROMEDA && -x $ANDROMEDACTL ]] || die "build first (cmake -S . -B build && make -C build)"

backends() {
	local i
	for i in 1 2 3; do
		cat >"$DIR/be$i.conf" <<-EOF
			daemon off;
			worker_processes 1;
			pid $DIR/be$i.pid;
			error_log $DIR/be$i.err;
			events { worker_connections 4096; }
			http {
			    access_log off;
			    keepalive_requests 1000000;
			    keepalive_timeout 300s;
			    server {
			        listen 127.0.0.1:1808$i backlog=4096;
			        location = /healthz { return 200 "ok\n"; }
			        location / { return 200 "be$i\n"; }
			    }
			}
		EOF
		nginx -c "$DIR/be$i.conf" &
		PIDS+=($!)
	done
}

conf() {
	mkdir -p "$DIR/state"
	printf '[node]\nname = prof\nstate_dir = %s/state\ncontrol_socket = %s/ctl.sock\nlog_level = warning\n\n' "$DIR" "$DIR"
	printf '[frontend]\nlisten = 127.0.0.1:18080\n%s\n\n' "$CONF_EXTRA"
	printf '[backend]\nmaxconn = 1000\nhealth_check = /healthz\nhealth_interval = 1s\n\n'
	for i in 1 2 3; do printf '[server be%d]\naddress = 127.0.0.1:1808%d\n\n' "$i" "$i"; done
}

ctl() { timeout 10 "$ANDROMEDACTL" -s "$DIR/ctl.sock" "$@"; }
requests() { ctl status --json | jq -r '[.proxy.threads[].requests] | add'; }
wait_up() {
	local i
	for ((i = 0; i < 200; i++)); do
		[[ "$(ctl status --json 2>/dev/null | jq -r '[.servers[] | select(.state == "up")] | length')" == 3 ]] && return 0
		sleep 0.1
	done
	return 1
}

# start WRAPPER...: the daemon under WRAPPER (may be empty); DPID is the
# daemon's own pid (valgrind execs it in place).
start() {
	"$@" "$ANDROMEDA" -c "$DIR/andromeda.conf" 2>"$DIR/andromeda.err" &
	DPID=$!
	PIDS+=("$DPID")
	wait_up || die "servers not up: $(tail -5 "$DIR/andromeda.err")"
	curl -s -o /dev/null http://127.0.0.1:18080/ || die "no answer"
}

stop() { kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; }

load() { wrk -t1 -c"$1" -d"$DURATION" http://127.0.0.1:18080/ >"$DIR/wrk.$1.log" 2>&1; }

run_callgrind() {
	local c=$1 r0 r1 ir out="$DIR/callgrind.c$c.out"
	start valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" -q
	r0=$(requests)
	callgrind_control -i on "$DPID" >/dev/null
	load "$c"
	callgrind_control -i off "$DPID" >/dev/null
	r1=$(requests)
	stop
	ir=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')
	printf 'callgrind c=%-4s requests %8d  Ir/request %8.0f\n' "$c" "$((r1 - r0))" \
		"$(awk -v a="$ir" -v n="$((r1 - r0))" 'BEGIN { print n ? a / n : 0 }')"
	callgrind_annotate --inclusive=no "$out" 2>/dev/null | sed -n '/^-* *$/,$p' |
		awk -v n="$((r1 - r0))" '/^ *[0-9,]+ / && NR < 60 { v = $1; gsub(",", "", v); $1 = ""; printf "    %8.0f %s\n", v / n, $0 }' | head -25
}

run_strace() {
	local c=$1 r0 r1 spid
	start
	r0=$(requests)
	strace -c -f -o "$DIR/strace.c$c" -p "$DPID" 2>/dev/null &
	spid=$!
	sleep 0.5
	load "$c"
	kill -INT "$spid"
	wait "$spid" 2>/dev/null
	r1=$(requests)
	stop
	printf 'strace    c=%-4s requests %8d  syscalls/request %6.2f\n' "$c" "$((r1 - r0))" \
		"$(awk -v n="$((r1 - r0))" '$NF == "total" { print n ? $4 / n : 0 }' "$DIR/strace.c$c")"
	awk -v n="$((r1 - r0))" '$1 ~ /^[0-9.]+$/ && $NF != "total" { printf "    %-16s %6.3f/request\n", $NF, $4 / n }' "$DIR/strace.c$c" | sort -k2 -rn | head -12
}

# perf (cpu-clock samples: this VM has no hardware counters): where the
# daemon's CPU time goes, kernel included, by object and by symbol.
run_perf() {
	local c=$1 ppid
	start
	perf record -q -e cpu-clock -F 2000 -g -o "$DIR/perf.c$c.data" -p "$DPID" >/dev/null 2>&1 &
	ppid=$!
	sleep 0.5
	load "$c"
	kill -INT "$ppid"
	wait "$ppid" 2>/dev/null
	stop
	printf 'perf      c=%-4s (share of the daemon'"'"'s samples)\n' "$c"
	perf report -q -i "$DIR/perf.c$c.data" --no-children --sort dso 2>/dev/null | awk 'NF { printf "    %s\n", $0 }' | head -8
	perf report -q -i "$DIR/perf.c$c.data" --no-children --sort sym -g none 2>/dev/null | awk 'NF { printf "    %s\n", $0 }' | head -30
}

backends
conf >"$DIR/andromeda.conf"
sleep 0.5
for c in $CONNS; do
	[[ $MODE == callgrind || $MODE == both ]] && run_callgrind "$c"
	[[ $MODE == strace || $MODE == both ]] && run_strace "$c"
	[[ $MODE == perf ]] && run_perf "$c"
done
