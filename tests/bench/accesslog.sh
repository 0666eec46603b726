#!/usr/bin/env bash
# accesslog.sh - the cost of the access log (issue #14): the same
# andromeda configuration three times, on three ports of the lb host,
# differing only in [frontend] access_log:
#   off      (port 80) the default
#   file     (port 81) a file in the lab directory (tmpfs or disk: where
#            the lab lives)
#   stderr   (port 82) the daemon's stderr, which the lab sends to a file
#   journal  (port 83) to journald: the system's if it runs, else one of
#            the bench's own in a private mount namespace
#            (tests/lib/journald.sh; PRIVATE_JOURNALD=0: no journal run)
# wrk -c CONNS against each in turn, ROUNDS rounds alternated: medians and
# the ratio to "off", and the daemon's CPU time per request (all its
# threads, the log writer's included: /proc/PID/stat around each run), the
# figure that depends least on what else runs on the machine, and the log
# writer thread's alone (the part that formats and sends).  Each run's
# line count is checked against wrk's request count (no line lost).
#
#   sudo bash tests/bench/accesslog.sh
#   sudo ROUNDS=5 DURATION=20s bash tests/bench/accesslog.sh
#
# journald's own CPU per request is read the same way around each run
# (every run: what journald spends on the other targets is its idle
# noise), once journald is idle again: the part of the journal's cost
# that the daemon's figure leaves out, paid on the same cores.  A second
# table gives, per target, the machine's busy CPU and idle share
# (/proc/stat: other processes included, so only meaningful on an
# otherwise idle machine), the context switches per request (machine,
# daemon, journald) and wrk's and the backends' CPU per request: where
# the CPU that a target costs beyond the daemon's and journald's goes.
#
# Environment: ROUNDS (3), DURATION (10s), CONNS (64), THREADS (wrk
# threads, 1), LB_THREADS (proxy threads, 1), BACKEND (nginx), RESULTS
# (also append the summary to this file), ONLY (the targets to run, e.g.
# "off journal"), BASELINE (another andromeda binary, e.g. the build of an
# earlier commit: adds the target "journal-base", that binary logging to
# journald on port 84, run in the same rounds: a before/after comparison
# that the machine's load changes alike), NO_INSTALL=1.
set -uo pipefail
source "$(dirname "$0")/../lib/journald.sh"
if [[ ! -S /run/systemd/journal/socket && ${PRIVATE_JOURNALD:-1} == 1 ]]; then
	journald_private "$0" "$@"
fi
source "$(dirname "$0")/lib.sh" # and tests/lib/lab.sh

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-1}
LB_THREADS=${LB_THREADS:-1}
BACKEND=${BACKEND:-nginx}
TARGETS=(off file stderr)
declare -A PORT=([off]=80 [file]=81 [stderr]=82 [journal]=83 [journal-base]=84)
declare -A DEST=([off]=off [stderr]=stderr [journal]=journal [journal-base]=journal)
declare -A BIN=()
if [[ -n "${ANDROMEDA_PRIVATE_JOURNALD:-}" ]] && ! journald_start; then
	echo "  cannot start a private journald: no journal run"
fi
if [[ -S /run/systemd/journal/socket ]]; then
	TARGETS+=(journal)
else
	echo "  journald is not running here: no journal run"
fi
if [[ -n "${ONLY:-}" ]]; then
	read -ra TARGETS <<<"$ONLY"
fi
if [[ -n "${BASELINE:-}" && -S /run/systemd/journal/socket ]]; then
	TARGETS+=(journal-base)
	BIN[journal-base]=$BASELINE
fi
# journald's PID: ours (journald_start), else the system's.
JPID=${JOURNALD_PID:-$(pidof -s systemd-journald 2>/dev/null)}
declare -A URL
for t in "${TARGETS[@]}"; do URL[$t]="http://$LAB_LB_IP:${PORT[$t]}/"; done

conf() {
	local t=$1
	mkdir -p "$LAB_DIR/state-$t"
	printf '[node]\nname = lb-%s\nstate_dir = %s/state-%s\ncontrol_socket = %s/%s.sock\n' \
		"$t" "$LAB_DIR" "$t" "$LAB_DIR" "$t"
	bench_andromeda_conf "${PORT[$t]}" "access_log = ${DEST[$t]}" "threads = $LB_THREADS"
}

lines() {
	case $1 in
	file) wc -l <"$LAB_DIR/access.log" ;;
	journal) echo 0 ;; # journald may rate-limit; counting its entries is slow
	stderr) grep -c ' client=' "$LAB_DIR/alog-stderr.log" ;;
	*) echo 0 ;;
	esac
}

# cpu_ms PID: user + system CPU time of the process (all threads) so far.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) * 1000 / hz }' "/proc/$1/stat"; }
# writer_ms PID: the same for its log writer thread alone (0: none).
writer_ms() {
	local t
	for t in /proc/"$1"/task/*; do
		[[ "$(cat "$t/comm" 2>/dev/null)" == andromeda/log ]] && { cpu_ms "$1/task/${t##*/}"; return; }
	done
	echo 0
}

# The machine's CPU (all cores, /proc/stat): busy ms (user, nice, system,
# irq, softirq, steal), idle ms (idle, iowait), and the context switches.
sys_cpu() {
	awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { printf "%s %s ", ($2 + $3 + $4 + $7 + $8 + $9) * 1000 / hz, ($5 + $6) * 1000 / hz }
		$1 == "ctxt" { print $2 }' /proc/stat
}
# tree_ms PID: CPU ms of PID and of its children still running (nginx's
# workers): what a backend spends.
tree_ms() {
	local p s=0
	for p in $1 $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		s=$(awk -v s="$s" -v v="$(cpu_ms "$p" 2>/dev/null || echo 0)" 'BEGIN { print s + v }')
	done
	echo "$s"
}
backends_ms() {
	local i s=0 p
	for i in 1 2 3; do
		p=$(lab_pid "be$i") || continue
		s=$(awk -v s="$s" -v v="$(tree_ms "$p")" 'BEGIN { print s + v }')
	done
	echo "$s"
}
# switches PID: voluntary + involuntary context switches of all its threads.
switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^(non)?voluntary_ctxt_switches:/ { n += $2 } END { print n + 0 }'; }

# journald_settle: journald's CPU ms once it is idle again (unchanged for
# 0.4 s, 10 s at most).  The run's entries are then all in its figure, and
# its work on them (a file rotation among it, every ~175,000 requests:
# docs/observability.md) does not fall into the next target's run.
journald_settle() {
	local prev=-1 now i
	for ((i = 0; i < 50; i++)); do
		now=$(cpu_ms "$JPID")
		[[ $now == "$prev" ]] && break
		prev=$now
		sleep 0.2
	done
	echo "$now"
}

per_req() { awk -v a="$1" -v b="$2" -v n="${WRK_REQS:-0}" 'BEGIN { printf "%.2f", (n > 0 ? (b - a) * 1000 / n : 0) }'; }
# per_n COUNT: COUNT per request.
per_n() { awk -v c="$1" -v n="${WRK_REQS:-0}" 'BEGIN { printf "%.4f", (n > 0 ? c / n : 0) }'; }

run_wrk() {
	local t=$1 c=$2 r=$3 before after pid cpu0 cpu1 j0=0 j1=0 us jus w0 w1 wus
	local sb0 si0 sc0 sb1 si1 sc1 b0 b1 d0 d1 js0=0 js1=0
	pid=$(lab_pid "alog-$t")
	before=$(lines "$t")
	cpu0=$(cpu_ms "$pid")
	w0=$(writer_ms "$pid")
	[[ -n "$JPID" ]] && j0=$(cpu_ms "$JPID") && js0=$(switches "$JPID")
	read -r sb0 si0 sc0 <<<"$(sys_cpu)"
	b0=$(backends_ms)
	d0=$(switches "$pid")
	bench_wrk "$t" "$c"
	read -r sb1 si1 sc1 <<<"$(sys_cpu)"
	b1=$(backends_ms)
	d1=$(switches "$pid")
	cpu1=$(cpu_ms "$pid")
	w1=$(writer_ms "$pid")
	[[ -n "$JPID" ]] && js1=$(switches "$JPID")
	bench_wrk_parse
	us=$(per_req "$cpu0" "$cpu1")
	wus=$(per_req "$w0" "$w1")
	sleep 0.3 # the writer's last pass (every 50 ms)
	[[ -n "$JPID" ]] && j1=$(journald_settle)
	jus=$(per_req "$j0" "$j1")
	after=$(lines "$t")
	[[ $t == off || $t == journal* ]] && after=$((before + ${WRK_REQS:-0}))
	printf '%s %s %s %s %s %s %s %s %s %s %s\n' "$t" "$c" "$r" "${WRK_RPS:-0}" "$WRK_P50" "$WRK_P99" "$WRK_ERRS" \
		"$((after - before - ${WRK_REQS:-0}))" "$us" "$jus" "$wus" >>"$LAB_DIR/results"
	# The machine during the run: busy CPU, idle share, context switches
	# (machine, daemon, journald), wrk and backends, all per request.
	printf '%s %s %s %s %s %s %s %s %s %s\n' "$t" "$c" "$r" "$(per_req "$sb0" "$sb1")" \
		"$(awk -v b="$((${sb1%.*} - ${sb0%.*}))" -v i="$((${si1%.*} - ${si0%.*}))" 'BEGIN { printf "%.3f", (b + i > 0 ? i / (b + i) : 0) }')" \
		"$(per_n "$((sc1 - sc0))")" "$(per_n "$((d1 - d0))")" "$(per_n "$((js1 - js0))")" \
		"$(awk -v t="${WRK_CPU_TICKS:-0}" -v hz="$(getconf CLK_TCK)" -v n="${WRK_REQS:-0}" 'BEGIN { printf "%.2f", (n > 0 && t != "nan" ? t * 1e6 / hz / n : 0) }')" \
		"$(per_req "$b0" "$b1")" >>"$LAB_DIR/acct"
	printf '  round %d  %-8s c=%-3s %10s req/s  p50 %7s ms  p99 %7s ms  CPU %6s us/req (writer %5s)  journald %5s us/req  errors %s  lines-requests %s\n' \
		"$r" "$t" "$c" "${WRK_RPS:-?}" "$WRK_P50" "$WRK_P99" "$us" "$wus" "$jus" "$WRK_ERRS" "$((after - before - ${WRK_REQS:-0}))"
}

median() {
	awk -v t="$1" -v c="$2" -v col="$3" '$1 == t && $2 == c { print $col }' "$LAB_DIR/results" | bench_median
}

[[ $EUID -eq 0 ]] || die "run as root"
[[ "${NO_INSTALL:-0}" == 1 ]] || bench_install_tools wrk nginx-light curl || die "cannot install wrk, nginx"
bench_require_built "$ANDROMEDA"
lab_have wrk nginx curl || die "missing tools"

bench_lab
bench_backends
DEST[file]="$LAB_DIR/access.log"
for t in "${TARGETS[@]}"; do
	conf "$t" >"$LAB_DIR/$t.conf"
	"${BIN[$t]:-$ANDROMEDA}" -t -c "$LAB_DIR/$t.conf" >/dev/null || die "config $t rejected"
	lab_spawn lb "alog-$t" "${BIN[$t]:-$ANDROMEDA}" -c "$LAB_DIR/$t.conf" || die "andromeda $t"
	lab_wait_tcp client "$LAB_LB_IP" "${PORT[$t]}" 10 || die "andromeda $t does not listen"
done
sleep 2 # health checks pass
for t in "${TARGETS[@]}"; do
	[[ "$(bench_names "$t")" == be1,be2,be3 ]] || die "$t does not spread over be1..be3"
done

: >"$LAB_DIR/acct"
bench_rounds "$CONNS"
{
	printf '\n### access log: wrk -t%s -c%s -d%s, %s proxy thread(s), %s rounds alternated (medians)\n\n' \
		"$THREADS" "$CONNS" "$DURATION" "$LB_THREADS" "$ROUNDS"
	printf '| access_log | req/s | vs off | p50 ms | p99 ms | CPU us/req | vs off | writer us/req | journald us/req |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n'
	for t in "${TARGETS[@]}"; do
		awk -v t="$t" -v a="$(median "$t" "$CONNS" 4)" -v b="$(median off "$CONNS" 4)" \
			-v p50="$(median "$t" "$CONNS" 5)" -v p99="$(median "$t" "$CONNS" 6)" \
			-v u="$(median "$t" "$CONNS" 9)" -v u0="$(median off "$CONNS" 9)" -v j="$(median "$t" "$CONNS" 10)" \
			-v w="$(median "$t" "$CONNS" 11)" \
			'BEGIN { printf "| %s | %.0f | %.3f | %.3f | %.3f | %.2f | %.3f | %.2f | %.2f |\n", t, a, (b > 0 ? a / b : 0), p50, p99, u, (u0 > 0 ? u / u0 : 0), w, j }'
	done
	printf '\n| access_log | machine busy CPU us/req | idle share | context switches/req: machine | daemon | journald | wrk CPU us/req | backends us/req |\n|---|---:|---:|---:|---:|---:|---:|---:|\n'
	for t in "${TARGETS[@]}"; do
		printf '| %s |' "$t"
		for col in 4 5 6 7 8 9 10; do
			printf ' %s |' "$(awk -v t="$t" -v c="$CONNS" -v col="$col" '$1 == t && $2 == c { print $col }' "$LAB_DIR/acct" | bench_median)"
		done
		printf '\n'
	done
	printf -- '- errors (non-2xx + socket errors, all runs): %s\n' \
		"$(awk '{ n += $7 } END { print n + 0 }' "$LAB_DIR/results")"
	printf -- '- lines minus requests (file, stderr; 0 = none lost; wrk does not count the requests cut at its end): %s\n' \
		"$(awk '$1 == "file" || $1 == "stderr" { printf "%s ", $8 }' "$LAB_DIR/results")"
} | tee -a "${RESULTS:-/dev/null}"
for t in "${TARGETS[@]}"; do lab_stop "alog-$t" 10 >/dev/null; done
