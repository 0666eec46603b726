#!/usr/bin/env bash
# profile.sh - what one proxied request costs, in figures that do not
# depend much on what else runs on the machine (issue 17): instructions per
# request (valgrind --tool=callgrind), system calls per request (strace -c),
# context switches and CPU time per request (/proc, no tracer; the
# backends' too, and wrk's from perf stat's software counters), and where
# the time goes, kernel included (perf, cpu-clock samples), keep-alive, at
# each concurrency of CONNS.  Everything on loopback: three static nginx
# backends on 127.0.0.1:18081-18083, the balancer on 127.0.0.1:18080, wrk
# -t1 as the client.  TARGET picks the balancer: andromeda (default),
# haproxy or nginx, configured as in proxy.sh (one thread, keep-alive to
# the backends; nginx without its master process, so that one process does
# all the work).
#
#   sudo bash tests/bench/profile.sh                       # callgrind + strace + ctx, c = 1 64 512
#   sudo MODE=strace CONNS=64 TARGET=haproxy bash tests/bench/profile.sh
#   sudo MODE=callgrind KEEP=1 bash tests/bench/profile.sh  # keep callgrind.out for callgrind_annotate
#   sudo MODE=perf CONNS=64 bash tests/bench/profile.sh
#
# Environment: MODE ("callgrind strace ctx" by default; any of those,
# perf and net: TCP segments per request, in a private network namespace), TARGET, CONNS ("1 64 512"), DURATION (wrk per run, 10s; under
# callgrind the balancer is ~50x slower: the request count, not the time,
# is what matters), CONF_EXTRA (lines added to andromeda's [frontend], e.g.
# "access_log = journal"), KEEP=1 (leave the work directory), ANDROMEDA,
# ANDROMEDACTL (default build/), CG_CACHE=1 (callgrind simulates the caches
# too: misses per request), LB_CPUS and LOAD_CPUS (pin the balancer
# to LB_CPUS, the backends and wrk to LOAD_CPUS; taskset -c lists).
# TLS=1: the same over https on 127.0.0.1:18443 (each target terminates
# TLS as in tls.sh: tests/lib/tls_certs.sh's ECDSA P-256 chain, TLS 1.3,
# AES-128-GCM first, ALPN http/1.1); CLOSE=1: "Connection: close" on every
# request (with TLS=1, a full handshake per request: what new connections
# cost).
# Requests are wrk's count.
set -uo pipefail

# MODE net counts the TCP segments of the whole network namespace: run in
# a private one (loopback only), so that no other traffic is counted.
if [[ ${MODE:-} == *net* && -z ${PROFILE_NETNS:-} ]]; then
	# shellcheck disable=SC2016 # expanded by the inner bash
	exec env PROFILE_NETNS=1 unshare -n bash -c 'ip link set lo up && exec bash "$0" "$@"' "$0" "$@"
fi

SRC=$(cd "$(dirname "$0")/../.." && pwd)
# access_log = journal where no journald runs: one of our own, in a private
# mount namespace (tests/lib/journald.sh); its CPU is counted in ctx mode.
source "$SRC/tests/lib/journald.sh"
if [[ ${CONF_EXTRA:-} == *journal* && ! -S /run/systemd/journal/socket ]]; then
	journald_private "$0" "$@"
	journald_start || { echo "profile: cannot start a private journald" >&2; exit 1; }
fi
ANDROMEDA=${ANDROMEDA:-$SRC/build/andromeda}
ANDROMEDACTL=${ANDROMEDACTL:-$SRC/build/andromedactl}
MODE=${MODE:-callgrind strace ctx}
TARGET=${TARGET:-andromeda}
CONNS=${CONNS:-1 64 512}
DURATION=${DURATION:-10s}
CONF_EXTRA=${CONF_EXTRA:-}
DIR=$(mktemp -d /tmp/andromeda-profile.XXXXXX)
PIDS=()
URL=http://127.0.0.1:18080/
TLS=${TLS:-0}
CLOSE=${CLOSE:-0}
SUITES=TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
[[ $TLS == 1 ]] && URL=https://127.0.0.1:18443/
LB_CPUS=${LB_CPUS:-}
WRK_PIN=()
WRK_WRAP=() # run_ctx: perf stat around wrk, for wrk's own CPU and sleeps
[[ -n $LB_CPUS ]] && WRK_PIN=(taskset -c "${LOAD_CPUS:?LOAD_CPUS with LB_CPUS}")

die() { printf 'profile: %s\n' "$*" >&2; exit 1; }
cleanup() {
	local p
	for p in "${PIDS[@]}" ${JOURNALD_PID:-}; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [[ ${KEEP:-0} == 1 ]]; then echo "profile: kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT

for t in wrk nginx haproxy jq curl valgrind callgrind_annotate strace; do
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
		"${WRK_PIN[@]}" nginx -c "$DIR/be$i.conf" &
		PIDS+=($!)
		BE_PIDS+=($!)
	done
}

conf_andromeda() {
	mkdir -p "$DIR/state"
	printf '[node]\nname = prof\nstate_dir = %s/state\ncontrol_socket = %s/ctl.sock\nlog_level = warning\n\n' "$DIR" "$DIR"
	printf '[frontend]\nlisten = 127.0.0.1:18080\n%s\n' "$CONF_EXTRA"
	[[ $TLS == 1 ]] && printf 'tls_listen = 127.0.0.1:18443\ntls_cert = %s/tls/a.pem\n' "$DIR"
	printf '\n'

	printf '[backend]\nmaxconn = 1000\nhealth_check = /healthz\nhealth_interval = 1s\n\n'
	for i in 1 2 3; do printf '[server be%d]\naddress = 127.0.0.1:1808%d\n\n' "$i" "$i"; done
}

conf_haproxy() {
	cat <<-EOF
		global
		    nbthread 1
		    maxconn 4096
		    ssl-default-bind-options ssl-min-ver TLSv1.2
		    ssl-default-bind-ciphersuites $SUITES
		defaults
		    mode http
		    timeout connect 1s
		    timeout client 30s
		    timeout server 10s
		    option http-keep-alive
		    http-reuse always
		frontend fe
		    bind 127.0.0.1:18080
		$([[ $TLS == 1 ]] && echo "    bind 127.0.0.1:18443 ssl crt $DIR/tls/a.pem alpn http/1.1")
		    default_backend be
		backend be
		    balance roundrobin
		    server be1 127.0.0.1:18081 check inter 1s
		    server be2 127.0.0.1:18082 check inter 1s
		    server be3 127.0.0.1:18083 check inter 1s
	EOF
}

conf_nginx() {
	mkdir -p "$DIR/ngx"
	cat <<-EOF
		daemon off;
		master_process off;
		worker_processes 1;
		pid $DIR/nginx.pid;
		error_log $DIR/nginx.err warn;
		events { worker_connections 8192; }
		http {
		    access_log off;
		    client_body_temp_path $DIR/ngx/body;
		    proxy_temp_path $DIR/ngx/proxy;
		    fastcgi_temp_path $DIR/ngx/fastcgi;
		    uwsgi_temp_path $DIR/ngx/uwsgi;
		    scgi_temp_path $DIR/ngx/scgi;
		    keepalive_requests 1000000;
		    upstream be {
		        server 127.0.0.1:18081;
		        server 127.0.0.1:18082;
		        server 127.0.0.1:18083;
		        keepalive 64;
		        keepalive_requests 1000000;
		    }
		    server {
		        listen 127.0.0.1:18080 backlog=1024;
		$([[ $TLS == 1 ]] && printf '        listen 127.0.0.1:18443 ssl backlog=1024;\n        ssl_certificate %s;\n        ssl_certificate_key %s;\n        ssl_protocols TLSv1.2 TLSv1.3;\n        ssl_prefer_server_ciphers on;\n        ssl_conf_command Ciphersuites %s;' "$DIR/tls/a.pem" "$DIR/tls/a.pem" "$SUITES")
		        location / {
		            proxy_pass http://be;
		            proxy_http_version 1.1;
		            proxy_set_header Connection "";
		        }
		    }
		}
	EOF
}

ctl() { timeout 10 "$ANDROMEDACTL" -s "$DIR/ctl.sock" "$@"; }
andromeda_up() {
	[[ "$(ctl status --json 2>/dev/null | jq -r '[.servers[] | select(.state == "up")] | length')" == 3 ]]
}

# start WRAPPER...: the balancer under WRAPPER (may be empty); DPID is the
# balancer's own pid (valgrind execs it in place).
start() {
	local i
	case $TARGET in
	andromeda) "$@" "$ANDROMEDA" -c "$DIR/andromeda.conf" 2>"$DIR/balancer.err" & ;;
	haproxy) "$@" haproxy -db -f "$DIR/haproxy.cfg" 2>"$DIR/balancer.err" & ;;
	nginx) "$@" nginx -c "$DIR/nginx.conf" 2>"$DIR/balancer.err" & ;;
	esac
	DPID=$!
	PIDS+=("$DPID")
	[[ -n $LB_CPUS ]] && taskset -a -p -c "$LB_CPUS" "$DPID" >/dev/null
	for ((i = 0; i < 300; i++)); do
		if curl -sk -o /dev/null --max-time 1 "$URL" && { [[ $TARGET != andromeda ]] || andromeda_up; }; then
			sleep 2 # HAProxy: every server's first check passed, too
			return 0
		fi
		sleep 0.1
	done
	die "$TARGET does not answer: $(tail -5 "$DIR/balancer.err")"
}

stop() { kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; }

# load CONNS: one wrk run; REQS is the requests it completed.
load() {
	"${WRK_PIN[@]}" "${WRK_WRAP[@]}" wrk -t1 -c"$1" -d"$DURATION" --latency -s "$DIR/wrk.lua" "$URL" >"$DIR/wrk.$1.log" 2>&1
	REQS=$(awk '/ requests in / { print $1 }' "$DIR/wrk.$1.log")
	[[ ${REQS:-0} -gt 0 ]] || die "wrk completed no request: $(cat "$DIR/wrk.$1.log")"
}

per() { awk -v a="$1" -v n="$2" -v f="${3:-%.2f}" 'BEGIN { printf f, n ? a / n : 0 }'; }

run_callgrind() {
	local c=$1 ir out="$DIR/callgrind.$TARGET.c$c.out" sim=()
	[[ ${CG_CACHE:-0} == 1 ]] && sim=(--cache-sim=yes)
	start valgrind --tool=callgrind "${sim[@]}" --instr-atstart=no --callgrind-out-file="$out" -q
	callgrind_control -i on "$DPID" >/dev/null
	load "$c"
	callgrind_control -i off "$DPID" >/dev/null
	stop
	ir=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')
	printf '%s callgrind c=%-4s requests %8d  instructions/request %s (user space)\n' "$TARGET" "$c" "$REQS" "$(per "$ir" "$REQS" %.0f)"
	# CG_CACHE=1: the simulated caches' misses per request (valgrind's
	# model of the host's L1 and last-level caches, all threads sharing
	# them): what instruction counts do not show, e.g. a buffer that
	# outgrows the cache.
	[[ ${CG_CACHE:-0} == 1 ]] && callgrind_annotate "$out" 2>/dev/null |
		awk -v n="$REQS" '/^Events shown:/ { for (i = 3; i <= NF; i++) ev[i - 2] = $i }
			/PROGRAM TOTALS/ { printf "    per request:"; for (i = 1; i in ev; i++) { v = $i; gsub(",", "", v); printf " %s %.1f", ev[i], v / n }; print ""; exit }'
	callgrind_annotate --inclusive=no "$out" 2>/dev/null |
		awk -v n="$REQS" '/PROGRAM TOTALS/ { on = 1; next } on && /^ *[0-9,]+ / { v = $1; gsub(",", "", v); $1 = ""; printf "    %8.0f %s\n", v / n, $0 }' | head -25
}

run_strace() {
	local c=$1 spid
	start
	strace -c -f -o "$DIR/strace.$TARGET.c$c" -p "$DPID" 2>/dev/null &
	spid=$!
	sleep 0.5
	load "$c"
	kill -INT "$spid"
	wait "$spid" 2>/dev/null
	stop
	printf '%s strace    c=%-4s requests %8d  syscalls/request %s (under strace: larger batches than without)\n' "$TARGET" "$c" "$REQS" \
		"$(awk -v n="$REQS" '$NF == "total" { printf "%.2f", n ? $4 / n : 0 }' "$DIR/strace.$TARGET.c$c")"
	awk -v n="$REQS" '$1 ~ /^[0-9.]+$/ && $NF != "total" { printf "    %-16s %6.3f/request\n", $NF, $4 / n }' "$DIR/strace.$TARGET.c$c" |
		sort -k2 -rn | head -8
}

# The backends' CPU time (us) and sleeps, summed over their nginx
# workers: what the balancer's way of sending costs them.
BE_PIDS=()
be_read() {
	local p k cpu=0 vol=0 hz
	hz=$(getconf CLK_TCK)
	for p in "${BE_PIDS[@]}"; do
		for k in $p $(cat /proc/"$p"/task/*/children 2>/dev/null); do
			cpu=$((cpu + $(awk -v hz="$hz" '{ sub(/^.*\) /, ""); printf "%.0f", ($12 + $13) * 1e6 / hz }' "/proc/$k/stat")))
			vol=$((vol + $(awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$k/status")))
		done
	done
	echo "$cpu $vol"
}

# /proc/PID/status context switches and /proc/PID/stat CPU time over a
# run without any tracer (and journald's CPU, when it is ours).
ctx_read() {
	awk '/^voluntary_ctxt_switches/ { v = $2 } /^nonvoluntary_ctxt_switches/ { n = $2 } END { printf "%d %d ", v, n }' "/proc/$DPID/status"
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f %d ", ($14 + $15) * 1e6 / hz, $10 }' "/proc/$DPID/stat"
	if [[ -n ${JOURNALD_PID:-} ]]; then
		awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f\n", ($14 + $15) * 1e6 / hz }' "/proc/$JOURNALD_PID/stat"
	else
		echo 0
	fi
}
run_ctx() {
	local c=$1 a b ba bb
	start
	a=($(ctx_read))
	read -ra ba <<<"$(be_read)"
	command -v perf >/dev/null && WRK_WRAP=(perf stat -x, -o "$DIR/wrkstat.$c" -e task-clock,context-switches --)
	load "$c"
	WRK_WRAP=()
	read -ra bb <<<"$(be_read)"
	b=($(ctx_read))
	stop
	printf '%s ctx       c=%-4s requests %8d  %s req/s  CPU %s us/request  sleeps (voluntary switches) %s/request  preempted %s/request  page faults %s/request\n' \
		"$TARGET" "$c" "$REQS" "$(awk '/^Requests\/sec/ { print $2 }' "$DIR/wrk.$c.log")" \
		"$(per $((b[2] - a[2])) "$REQS")" "$(per $((b[0] - a[0])) "$REQS" %.3f)" "$(per $((b[1] - a[1])) "$REQS" %.3f)" \
		"$(per $((b[3] - a[3])) "$REQS" %.3f)"
	printf '    backends: CPU %s us/request, sleeps %s/request\n' "$(per $((bb[0] - ba[0])) "$REQS")" \
		"$(per $((bb[1] - ba[1])) "$REQS" %.3f)"
	# wrk's own (perf stat's software counters: task-clock in ms, and its
	# context switches, nearly all sleeps in epoll_wait).
	[[ -s $DIR/wrkstat.$c ]] && awk -F, -v n="$REQS" '$3 == "task-clock" { cpu = $1 * 1000 } $3 == "context-switches" { cs = $1 }
		END { printf "    wrk: CPU %.2f us/request, context switches %.3f/request\n", cpu / n, cs / n }' "$DIR/wrkstat.$c"
	awk '$1 == "50%" { p50 = $2 } $1 == "99%" { p99 = $2 } $2 == "p99.9:" { p999 = $3 } END { printf "    latency p50 %s  p99 %s  p99.9 %s\n", p50, p99, p999 }' "$DIR/wrk.$c.log"
	[[ -n ${JOURNALD_PID:-} ]] && printf '    journald CPU %s us/request, access entries in its journal %s\n' \
		"$(per $((b[4] - a[4])) "$REQS")" "$(jctl ANDROMEDA_LOG=access -o cat | wc -l)"
}

# net: TCP segments per request in this namespace (wrk, balancer and
# backends together; 4 carry data: request in, request out, response in,
# response out), the segments that were pure ACKs and the delayed ACKs.
run_net() {
	local c=$1
	start
	nstat -n >/dev/null
	load "$c"
	nstat >"$DIR/nstat.$c" 2>/dev/null
	stop
	printf '%s net       c=%-4s requests %8d  TCP segments/request (whole namespace, 4 carry data):\n' "$TARGET" "$c" "$REQS"
	awk -v n="$REQS" '$1 ~ /^(TcpOutSegs|TcpExtDelayedACKs|TcpExtTCPPureAcks|TcpExtTCPHPAcks|TcpExtTCPHPHits|TcpExtTCPDelivered|IpExtInOctets)$/ { printf "    %-20s %8.3f/request\n", $1, $2 / n }' "$DIR/nstat.$c"
}

# perf (cpu-clock samples: this VM has no hardware counters): where the
# balancer's CPU time goes, kernel included, by object and by symbol.
run_perf() {
	local c=$1 ppid
	command -v perf >/dev/null || die "missing perf"
	start
	perf record -q -e cpu-clock -F 2000 -g -o "$DIR/perf.$TARGET.c$c.data" -p "$DPID" >/dev/null 2>&1 &
	ppid=$!
	sleep 0.5
	load "$c"
	kill -INT "$ppid"
	wait "$ppid" 2>/dev/null
	stop
	printf '%s perf      c=%-4s (share of the balancer'"'"'s samples)\n' "$TARGET" "$c"
	perf report -q -i "$DIR/perf.$TARGET.c$c.data" --no-children --sort dso -g none 2>/dev/null | awk 'NF { printf "    %s\n", $0 }' | head -6
	perf report -q -i "$DIR/perf.$TARGET.c$c.data" --no-children --sort sym -g none 2>/dev/null | awk 'NF { printf "    %s\n", $0 }' | head -30
}

cp "$SRC/tests/bench/p999.lua" "$DIR/wrk.lua"
[[ $CLOSE == 1 ]] && printf 'wrk.headers["Connection"] = "close"\n' >>"$DIR/wrk.lua"
if [[ $TLS == 1 ]]; then
	bash "$SRC/tests/lib/tls_certs.sh" "$DIR/tls" >/dev/null || die "certificates"
fi
backends
case $TARGET in
andromeda) conf_andromeda >"$DIR/andromeda.conf" ;;
haproxy) conf_haproxy >"$DIR/haproxy.cfg" ;;
nginx) conf_nginx >"$DIR/nginx.conf" ;;
*) die "TARGET must be andromeda, haproxy or nginx" ;;
esac
sleep 0.5
for c in $CONNS; do
	for m in $MODE; do
		case $m in
		callgrind | strace | ctx | perf | net) "run_$m" "$c" ;;
		*) die "unknown MODE $m" ;;
		esac
	done
done
