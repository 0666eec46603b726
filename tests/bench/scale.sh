#!/usr/bin/env bash
# scale.sh - throughput with 1 and 2 proxy threads (issue 6): wrk against
# andromeda with [frontend] threads = 1 and = 2 (one event loop and one
# SO_REUSEPORT listener per thread, shared pool state), HAProxy with
# nbthread 1 and 2, and one backend directly, on the same 3 backends,
# alternated for ROUNDS rounds in one invocation.  Prints per target the
# median req/s, p99 and CPU time per request of the balancer, the scaling
# ratios 2 threads / 1 thread, andromeda(2)/HAProxy(2), and how the
# requests split between andromeda's two threads.  See tests/bench/README.md.
#
#   sudo bash tests/bench/scale.sh
#
# The balancers get cores of their own: by default the upper half of the
# CPUs (LB_CPUS; "1" on a 2-core machine, "2-3" on a Raspberry Pi 4), wrk
# and the three backends the rest (LOAD_CPUS), with taskset (lib.sh
# bench_pin_lab); PIN=0 lets the scheduler share every core among all of
# them, as before.  Read the ratios with that in mind: with one core for
# the balancer a second thread can only share it (and shows what the
# threading costs); with two or more it shows what the second thread buys,
# as long as wrk and the backends on their cores are not the limit.
#
# Environment: ROUNDS (default 3), DURATION (per run, default 10s), CONNS
# (default "64 512"), THREADS (wrk threads, default 2: one wrk thread can
# itself be the limit), BACKEND (nginx: a static nginx per backend host,
# default; fakesrv: the test backend), RESULTS (also append the markdown
# summary to this file), NO_INSTALL=1 (do not apt-get wrk/haproxy/nginx),
# PIN (1: pin as above, the default; 0: no pinning), LB_CPUS, LOAD_CPUS.
set -uo pipefail
source "$(dirname "$0")/lib.sh" # and tests/lib/lab.sh

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64 512}
BACKEND=${BACKEND:-nginx}
THREADS=${THREADS:-2}
CLK_TCK=$(getconf CLK_TCK)
PIN=${PIN:-1}
if [[ $PIN == 1 && -z ${LB_CPUS:-} ]]; then
	ncpu=$(nproc)
	((ncpu >= 2)) && LB_CPUS=$((ncpu / 2))
	((ncpu >= 4)) && LB_CPUS=$((ncpu / 2))-$((ncpu - 1))
fi
[[ $PIN == 1 ]] || LB_CPUS=
TARGETS=(direct andromeda1 andromeda2 haproxy1 haproxy2)
declare -A PORT=([andromeda1]=80 [andromeda2]=81 [haproxy1]=82 [haproxy2]=83)
declare -A URL=([direct]="http://$(lab_be_ip 1):80/")
for t in andromeda1 andromeda2 haproxy1 haproxy2; do
	URL[$t]="http://$LAB_LB_IP:${PORT[$t]}/"
done
declare -A LABEL=(
	[direct]="direct (be1)"
	[andromeda1]="andromeda threads=1"
	[andromeda2]="andromeda threads=2"
	[haproxy1]="HAProxy nbthread 1"
	[haproxy2]="HAProxy nbthread 2"
)

# andromeda_conf N: proxy.sh's configuration with threads = N, its own
# port, control socket and state directory (both instances run side by
# side in lb).
andromeda_conf() {
	local n=$1 t=andromeda$1
	mkdir -p "$LAB_DIR/$t-state"
	{
		printf '[node]\nname = lb1\nstate_dir = %s/%s-state\ncontrol_socket = %s/%s.sock\n' \
			"$LAB_DIR" "$t" "$LAB_DIR" "$t"
		bench_andromeda_conf "${PORT[$t]}" "threads = $n"
	} >"$LAB_DIR/$t.conf"
}

# start_andromeda N: lab_start_andromeda for an instance of our own name,
# port and control socket.
start_andromeda() {
	local t=andromeda$1
	timeout 10 "$ANDROMEDA" -t -c "$LAB_DIR/$t.conf" >>"$LAB_DIR/$t-t.log" 2>&1 ||
		die "$t: config rejected: $(cat "$LAB_DIR/$t-t.log")"
	lab_spawn lb "$t" "$ANDROMEDA" -c "$LAB_DIR/$t.conf" || die "$t did not start"
	lab_wait_tcp client "$LAB_LB_IP" "${PORT[$t]}" 5 || die "$t is not listening on port ${PORT[$t]}"
	lab_wait_for 5 ctl "$t" status --json >/dev/null 2>&1 || die "$t: andromedactl status does not answer"
}

# ctl andromedaN args...: andromedactl against that instance.
ctl() {
	local t=$1
	shift
	timeout 5 "$ANDROMEDACTL" -s "$LAB_DIR/$t.sock" "$@"
}

# all_up andromedaN: the instance sees its 3 servers up.
all_up() {
	[[ "$(ctl "$1" status --json 2>/dev/null | jq -r '[.servers[] | select(.state == "up")] | length')" == 3 ]]
}

# thread_requests andromedaN: .proxy.threads[].requests, space separated.
thread_requests() {
	ctl "$1" status --json 2>/dev/null | jq -r '[.proxy.threads[].requests] | map(tostring) | join(" ")'
}

# cpu_ticks PIDNAME: utime + stime of the process (all its threads), in
# clock ticks (fields 14 and 15 of /proc/PID/stat, after the comm field).
cpu_ticks() {
	local pid stat
	pid=$(lab_pid "$1") || { echo nan; return; }
	stat=$(cat "/proc/$pid/stat" 2>/dev/null) || { echo nan; return; }
	stat=${stat##*) }
	# shellcheck disable=SC2086 # split into fields on purpose
	set -- $stat
	echo $((${12} + ${13}))
}

# run_wrk TARGET CONNS ROUND: one wrk run, one line in results:
# target conns round req/s p50 p99 errors cpu-us/req requests split
# (split: requests per andromeda thread during the run, "a/b", or "-").
run_wrk() {
	local t=$1 c=$2 r=$3 c0 c1 cpu s0 s1 split="-" splitmsg=""
	if [[ $t != direct ]]; then
		c0=$(cpu_ticks "$t")
	fi
	if [[ $t == andromeda* ]]; then
		s0=$(thread_requests "$t")
	fi
	bench_wrk "$t" "$c"
	if [[ $t != direct ]]; then
		c1=$(cpu_ticks "$t")
	fi
	bench_wrk_parse
	cpu=$(awk -v a="${c0:-nan}" -v b="${c1:-nan}" -v n="${WRK_REQS:-0}" -v hz="$CLK_TCK" \
		'BEGIN { if (a == "nan" || b == "nan" || n <= 0) print "nan"; else printf "%.2f", (b - a) / hz * 1e6 / n }')
	if [[ $t == andromeda* ]]; then
		s1=$(thread_requests "$t")
		split=$(awk -v a="$s0" -v b="$s1" 'BEGIN {
			n = split(a, x, " "); m = split(b, y, " ")
			if (n == 0 || n != m) { print "?"; exit }
			for (i = 1; i <= n; i++) printf "%s%d", (i > 1 ? "/" : ""), y[i] - x[i]
			print "" }')
		splitmsg="  threads $split"
	fi
	printf '%s %s %s %s %s %s %s %s %s %s %s\n' "$t" "$c" "$r" "${WRK_RPS:-0}" "$WRK_P50" "$WRK_P99" "$WRK_ERRS" \
		"$cpu" "${WRK_REQS:-0}" "$split" "$WRK_P999" >>"$LAB_DIR/results"
	printf '  round %d  %-10s c=%-3s %10s req/s  p50 %7s ms  p99 %7s ms  p99.9 %7s ms  %6s us CPU/req  errors %s%s\n' \
		"$r" "$t" "$c" "${WRK_RPS:-?}" "$WRK_P50" "$WRK_P99" "$WRK_P999" "$([[ $t == direct ]] && echo - || echo "$cpu")" "$WRK_ERRS" "$splitmsg"
}

# median TARGET CONNS COL: median over rounds of column COL.
median() {
	awk -v t="$1" -v c="$2" -v col="$3" '$1 == t && $2 == c && $col != "nan" { print $col }' "$LAB_DIR/results" | bench_median
}

# ratio A B: A/B to 2 decimals ("-" when B is not a positive number).
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a != "nan") printf "%.2f", a / b; else printf "-" }'
}

# split_summary CONNS: thread 0's share of andromeda2's requests, per round.
split_summary() {
	awk -v c="$1" '$1 == "andromeda2" && $2 == c {
		n = split($10, x, "/"); tot = 0
		for (i = 1; i <= n; i++) tot += x[i]
		printf "%s%s (%.0f%%/%.0f%%)", (k++ ? ", " : ""), $10, tot ? 100 * x[1] / tot : 0, tot ? 100 * x[2] / tot : 0
	} END { print "" }' "$LAB_DIR/results"
}

# both_threads_served CONNS: in every andromeda2 run at CONNS, each of the
# 2 threads served at least one request.
both_threads_served() {
	awk -v c="$1" '$1 == "andromeda2" && $2 == c {
		runs++
		n = split($10, x, "/")
		if (n != 2 || x[1] <= 0 || x[2] <= 0) bad++
	} END { exit !(runs > 0 && bad == 0) }' "$LAB_DIR/results"
}

summary() {
	local t c
	{
		printf '\n### scale: wrk -t%s -d%s, %s rounds alternated (medians), %s backends\n\n' \
			"$THREADS" "$DURATION" "$ROUNDS" "$BACKEND"
		printf '| target |'
		for c in $CONNS; do
			printf ' c=%s req/s | c=%s p99 ms | c=%s p99.9 ms | c=%s CPU us/req |' "$c" "$c" "$c" "$c"
		done
		printf '\n|---|'
		for c in $CONNS; do
			printf -- '---:|---:|---:|---:|'
		done
		printf '\n'
		for t in "${TARGETS[@]}"; do
			printf '| %s |' "${LABEL[$t]}"
			for c in $CONNS; do
				printf ' %.0f | %.3f | %.3f |' "$(median "$t" "$c" 4)" "$(median "$t" "$c" 6)" "$(median "$t" "$c" 11)"
				if [[ $t == direct ]]; then
					printf ' - |'
				else
					printf ' %.2f |' "$(median "$t" "$c" 8)"
				fi
			done
			printf '\n'
		done
		printf '\n'
		for c in $CONNS; do
			printf -- '- c=%s: scaling andromeda(2)/andromeda(1) %s, HAProxy(2)/HAProxy(1) %s; andromeda(2)/HAProxy(2) %s (andromeda(1)/HAProxy(1) %s)\n' "$c" \
				"$(ratio "$(median andromeda2 "$c" 4)" "$(median andromeda1 "$c" 4)")" \
				"$(ratio "$(median haproxy2 "$c" 4)" "$(median haproxy1 "$c" 4)")" \
				"$(ratio "$(median andromeda2 "$c" 4)" "$(median haproxy2 "$c" 4)")" \
				"$(ratio "$(median andromeda1 "$c" 4)" "$(median haproxy1 "$c" 4)")"
		done
		for c in $CONNS; do
			printf -- '- c=%s: andromeda threads=2, requests thread 0/thread 1 per round: %s\n' "$c" "$(split_summary "$c")"
		done
		printf -- '- errors (non-2xx + socket errors, all runs): %s\n' \
			"$(for t in "${TARGETS[@]}"; do printf '%s=%d ' "$t" "$(awk -v t="$t" '$1 == t { n += $7 } END { print n + 0 }' "$LAB_DIR/results")"; done)"
		if [[ -n ${LB_CPUS:-} ]]; then
			printf -- '- machine: %s cores (%s); the balancers pinned to CPU %s, wrk (%s threads) and the 3 backends to CPU %s\n' \
				"$(nproc)" "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)" "$LB_CPUS" "$THREADS" "$LOAD_CPUS"
		else
			printf -- '- machine: %s cores (%s) shared by wrk (%s threads), the 3 backends and the balancer: a second balancer thread competes with them for CPU, so the 2/1 ratios are what a second thread buys here, not on a machine with cores to spare\n' \
				"$(nproc)" "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)" "$THREADS"
		fi
		printf -- '- CPU us/req: utime + stime of the balancer process (all threads) from /proc/PID/stat over the run, divided by the requests wrk completed (%s ticks/s)\n' "$CLK_TCK"
	} | tee -a "${RESULTS:-/dev/null}"
}

[[ $EUID -eq 0 ]] || die "run as root"
[[ "${NO_INSTALL:-0}" == 1 ]] || bench_install_tools "${PKG_BENCH_PROXY[@]}" || die "cannot install wrk, haproxy, nginx"
bench_require_built "$ANDROMEDA" "$ANDROMEDACTL" "$FAKESRV"
lab_have wrk haproxy nginx jq curl || die "missing tools"
[[ $THREADS =~ ^[1-9][0-9]*$ ]] || die "THREADS must be a positive integer"

printf 'scale: %s cores (%s); wrk -t%s -d%s, CONNS "%s", %s rounds, %s backends\n' \
	"$(nproc)" "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)" "$THREADS" "$DURATION" \
	"$CONNS" "$ROUNDS" "$BACKEND"
if [[ -n ${LB_CPUS:-} ]]; then
	printf 'scale: the balancers get CPU %s to themselves (PIN=0: no pinning)\n' "$LB_CPUS"
else
	printf 'scale: wrk, the backends and the balancer share these cores; a 2-thread balancer competes with them\n'
fi

bench_lab
bench_backends
for n in 1 2; do
	andromeda_conf "$n"
	bench_haproxy_conf "haproxy$n" "${PORT[haproxy$n]}" "$n" 4096
	start_andromeda "$n"
	haproxy -c -f "$LAB_DIR/haproxy$n.cfg" >/dev/null || die "haproxy$n config"
	lab_spawn lb "haproxy$n" haproxy -db -f "$LAB_DIR/haproxy$n.cfg" || die "haproxy$n"
done
for n in 1 2; do
	lab_wait_for 10 all_up "andromeda$n" || die "andromeda$n: servers not up"
	got=$(ctl "andromeda$n" status --json | jq -r '.proxy.threads | length')
	[[ $got == "$n" ]] || die "andromeda$n reports $got proxy threads, expected $n"
done

# Every target answers with a backend name; the proxies spread over all 3.
for t in "${TARGETS[@]}"; do
	lab_wait_http client "${URL[$t]}" 10 || die "$t does not answer at ${URL[$t]}"
	printf '  %-10s %-26s %-20s answers: %s\n' "$t" "${URL[$t]}" "${LABEL[$t]}" "$(bench_names "$t")"
done
bench_pin_lab andromeda1 andromeda2 haproxy1 haproxy2

bench_rounds "$CONNS"
summary
printf '\n'
for c in $CONNS; do
	check "andromeda threads=2: both threads served requests in every run at c=$c" both_threads_served "$c"
done
lab_finish
