#!/usr/bin/env bash
# metrics.sh - the cost of the [stats] listener (issue #14): andromeda
# with NSERVERS servers configured (default 1000, spread over the three
# nginx backends), then
#   1. SCRAPES scrapes of GET /metrics, one after the other: the time curl
#      takes from the client host (to the last byte), the time the daemon
#      took to render each (andromeda_stats_last_scrape_duration_seconds)
#      and the daemon's CPU time per scrape (/proc/PID/stat, render and
#      sending together): median, p90 and max; on a machine shared with
#      other work the CPU time is the figure that does not depend on it;
#   2. the proxy's throughput (wrk -c CONNS through the frontend) without
#      a scraper and with one scraping at each rate of SCRAPE_HZ (times a
#      second), alternated for ROUNDS rounds: medians and their ratios.
#
#   sudo bash tests/bench/metrics.sh
#   sudo ROUNDS=5 DURATION=20s NSERVERS=2000 bash tests/bench/metrics.sh
#
# Environment: NSERVERS (1000), SCRAPES (50), SCRAPE_HZ ("1 10"), ROUNDS (3),
# DURATION (10s), CONNS (64), THREADS (wrk threads, 1), BACKEND (nginx),
# RESULTS (also append the summary to this file), NO_INSTALL=1.
set -uo pipefail
source "$(dirname "$0")/lib.sh" # and tests/lib/lab.sh

NSERVERS=${NSERVERS:-1000}
SCRAPES=${SCRAPES:-50}
SCRAPE_HZ=${SCRAPE_HZ:-1 10}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-1}
BACKEND=${BACKEND:-nginx}
STATS_URL="http://$LAB_LB_IP:8404/metrics"
TARGETS=(plain)
declare -A URL=([plain]="http://$LAB_LB_IP:80/")
for hz in $SCRAPE_HZ; do
	TARGETS+=("scraped$hz")
	URL[scraped$hz]="http://$LAB_LB_IP:80/"
done

# The configuration: the bench's usual frontend and backend, NSERVERS
# servers over be1..be3, a stats listener.
conf() {
	local i
	lab_node_conf lb1
	printf 'log_level = warning\n\n[frontend]\nlisten = %s:80\n\n' "$LAB_LB_IP"
	printf '[backend]\nmaxconn = 1000\nhealth_check = /healthz\nhealth_interval = 10s\n\n'
	for ((i = 1; i <= NSERVERS; i++)); do
		printf '[server s%04d]\naddress = %s:80\n\n' "$i" "$(lab_be_ip $((i % 3 + 1)))"
	done
	printf '[stats]\nlisten = %s:8404\n' "$LAB_LB_IP"
}

# scraper_start HZ: HZ scrapes a second from the client, bounded.
scraper_start() {
	local period
	period=$(awk -v hz="$1" 'BEGIN { printf "%.3f", 1 / hz }')
	lab_spawn client scraper bash -c "for ((i = 0; i < 100000; i++)); do
		curl -s -o /dev/null --max-time 5 '$STATS_URL'; sleep $period; done"
}

run_wrk() {
	local t=$1 c=$2 r=$3
	[[ $t == scraped* ]] && scraper_start "${t#scraped}"
	bench_wrk "$t" "$c"
	[[ $t == scraped* ]] && lab_stop scraper 5 >/dev/null
	bench_wrk_parse
	printf '%s %s %s %s %s %s %s\n' "$t" "$c" "$r" "${WRK_RPS:-0}" "$WRK_P50" "$WRK_P99" "$WRK_ERRS" >>"$LAB_DIR/results"
	printf '  round %d  %-8s c=%-3s %10s req/s  p50 %7s ms  p99 %7s ms  errors %s\n' \
		"$r" "$t" "$c" "${WRK_RPS:-?}" "$WRK_P50" "$WRK_P99" "$WRK_ERRS"
}

median() {
	awk -v t="$1" -v c="$2" -v col="$3" '$1 == t && $2 == c { print $col }' "$LAB_DIR/results" | bench_median
}

# percentile P FILE: the P-th percentile of the numbers in FILE.
percentile() {
	sort -g "$2" | awk -v p="$1" '{ v[NR] = $1 } END { i = int((NR * p + 99) / 100); if (i < 1) i = 1; print v[i] }'
}

[[ $EUID -eq 0 ]] || die "run as root"
[[ "${NO_INSTALL:-0}" == 1 ]] || bench_install_tools wrk nginx-light curl || die "cannot install wrk, nginx"
bench_require_built "$ANDROMEDA" "$ANDROMEDACTL"
lab_have wrk nginx curl || die "missing tools"

bench_lab
bench_backends
conf >"$LAB_DIR/andromeda.conf"
lab_start_andromeda "$LAB_DIR/andromeda.conf" 30 || die "andromeda did not start"
lab_wait_http client "$STATS_URL" 10 || die "no stats listener"
lab_exec client curl -s "$STATS_URL" >"$LAB_DIR/metrics.txt"
printf '  %s servers, /metrics: %s lines, %s bytes\n' "$NSERVERS" \
	"$(wc -l <"$LAB_DIR/metrics.txt")" "$(wc -c <"$LAB_DIR/metrics.txt")"

# cpu_ms PID: user + system CPU time of the process so far.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) * 1000 / hz }' "/proc/$1/stat"; }
pid=$(lab_pid andromeda) || die "no andromeda pid"
: >"$LAB_DIR/scrape_ms"
: >"$LAB_DIR/render_ms"
cpu0=$(cpu_ms "$pid")
for ((i = 0; i < SCRAPES; i++)); do
	lab_exec client curl -s -o "$LAB_DIR/scrape.txt" -w '%{time_total}\n' "$STATS_URL" |
		awk '{ printf "%.3f\n", $1 * 1000 }' >>"$LAB_DIR/scrape_ms"
	awk '$1 == "andromeda_stats_last_scrape_duration_seconds" { printf "%.3f\n", $2 * 1000 }' \
		"$LAB_DIR/scrape.txt" >>"$LAB_DIR/render_ms"
done
cpu1=$(cpu_ms "$pid")
sed -i 1d "$LAB_DIR/render_ms" # the first reports the scrape before the loop

bench_rounds "$CONNS"
{
	printf '\n### /metrics with %s servers (%s scrapes, curl time to the last byte)\n\n' "$NSERVERS" "$SCRAPES"
	printf '| | median ms | p90 ms | max ms |\n|---|---:|---:|---:|\n'
	for f in scrape render; do
		printf '| %s | %s | %s | %s |\n' "$([[ $f == scrape ]] && echo 'curl, to the last byte' || echo 'render (daemon)')" \
			"$(bench_median <"$LAB_DIR/${f}_ms")" "$(percentile 90 "$LAB_DIR/${f}_ms")" "$(percentile 100 "$LAB_DIR/${f}_ms")"
	done
	awk -v a="$cpu0" -v b="$cpu1" -v n="$SCRAPES" -v bytes="$(wc -c <"$LAB_DIR/metrics.txt")" \
		'BEGIN { printf "\n- daemon CPU per scrape (render + send): %.2f ms; %d bytes a scrape\n", (b - a) / n, bytes }'
	printf '\n### throughput, wrk -t%s -c%s -d%s, %s rounds alternated (medians)\n\n' "$THREADS" "$CONNS" "$DURATION" "$ROUNDS"
	printf '| run | req/s | p50 ms | p99 ms |\n|---|---:|---:|---:|\n'
	for t in "${TARGETS[@]}"; do
		printf '| %s | %.0f | %.3f | %.3f |\n' "$([[ $t == plain ]] && echo 'no scraper' || echo "${t#scraped} scrapes/s")" \
			"$(median "$t" "$CONNS" 4)" "$(median "$t" "$CONNS" 5)" "$(median "$t" "$CONNS" 6)"
	done
	for t in "${TARGETS[@]:1}"; do
		awk -v a="$(median "$t" "$CONNS" 4)" -v b="$(median plain "$CONNS" 4)" -v t="${t#scraped}" \
			'BEGIN { printf "- req/s at %s scrapes/s / without: %.3f\n", t, (b > 0 ? a / b : 0) }'
	done
	printf -- '- errors (non-2xx + socket errors, all runs): %s\n' \
		"$(awk '{ n += $7 } END { print n + 0 }' "$LAB_DIR/results")"
} | tee -a "${RESULTS:-/dev/null}"
