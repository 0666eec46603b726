#!/usr/bin/env bash
# balance.sh - leastconn against roundrobin with one slow backend, in one
# invocation: 3 fakesrv backends, be1 answering SLOW_MS later than the
# others (fakesrv -d); one andromeda, switched between the two algorithms
# by a reload (SIGHUP) before each run, alternated for ROUNDS rounds.
# Prints, per run and as medians: req/s, p50, p99 and the requests each
# backend got (counted by the backends), from wrk; then the same load from
# ab (apache2-utils), whose percentiles are of every request: wrk's
# percentiles here follow the slow backend's delay even when it serves a
# fraction of a percent of the requests (0.2% gave a wrk p99 of 97 ms and
# an ab p99 of 12 ms), so the latency figures to read are ab's.  See
# tests/bench/README.md.
#
#   sudo bash tests/bench/balance.sh
#   sudo ROUNDS=1 DURATION=3s bash tests/bench/balance.sh   # quick look
#
# Environment: ROUNDS (default 3), DURATION (per run, default 10s), CONNS
# (wrk connections, default "8 64"), SLOW_MS (default 20), THREADS (wrk
# threads, default 1), VERBOSE=1 (print wrk's output), RESULTS (also write the markdown table to this
# file), NO_INSTALL=1 (do not apt-get wrk, apache2-utils).
set -uo pipefail
source "$(dirname "$0")/lib.sh" # and tests/lib/lab.sh

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-8 64}
SLOW_MS=${SLOW_MS:-20}
THREADS=${THREADS:-1}
TARGETS=(roundrobin leastconn)
# shellcheck disable=SC2034 # read by bench_wrk (lib.sh)
declare -A URL=([roundrobin]="http://$LAB_LB_IP:80/" [leastconn]="http://$LAB_LB_IP:80/")

backend_requests() {
	lab_exec client curl -s --max-time 2 "http://$(lab_be_ip "$1")/stats" | jq -r .requests
}

write_conf() {
	{
		lab_node_conf lb1
		bench_andromeda_conf 80
		printf '\n'
	} >"$LAB_DIR/lb.conf"
	sed -i "s/^\[backend\]\$/&\nbalance = $1/" "$LAB_DIR/lb.conf"
}

# switch_to ALGO: rewrite the file, reload, wait until status shows it.
balance_is() { [[ "$(lab_status_json | jq -r .pool.balance)" == "$1" ]]; }
switch_to() {
	write_conf "$1"
	lab_kill andromeda HUP
	lab_wait_for 5 balance_is "$1" || die "reload to balance = $1 did not take"
}

# run_wrk ALGO CONNS ROUND: one wrk run, one line in results.
run_wrk() {
	local t=$1 c=$2 r=$3 i before=() got=()
	switch_to "$t"
	for i in 1 2 3; do before[i]=$(backend_requests "$i"); done
	bench_wrk "$t" "$c"
	bench_wrk_parse
	[[ "${VERBOSE:-0}" == 1 ]] && printf '%s\n' "$WRK_OUT"
	for i in 1 2 3; do got[i]=$(($(backend_requests "$i") - before[i])); done
	run_ab "$c"
	printf '%s %s %s %s %s %s %s %s %s %s %s %s %s\n' "$t" "$c" "$r" "${WRK_RPS:-0}" "$WRK_P50" "$WRK_P99" \
		"$WRK_ERRS" "${got[1]}" "${got[2]}" "${got[3]}" "$AB_RPS" "$AB_P50" "$AB_P99" >>"$LAB_DIR/results"
	printf '  round %d  %-10s c=%-3s wrk %9s req/s  p50 %7s ms  p99 %7s ms  errors %s  be1(slow) %s be2 %s be3 %s | ab %s req/s p50 %s ms p99 %s ms\n' \
		"$r" "$t" "$c" "${WRK_RPS:-?}" "$WRK_P50" "$WRK_P99" "$WRK_ERRS" "${got[1]}" "${got[2]}" "${got[3]}" \
		"$AB_RPS" "$AB_P50" "$AB_P99"
}

# run_ab CONNS: ab -k for DURATION; AB_RPS, AB_P50, AB_P99 (ms, whole:
# ab's resolution).
run_ab() {
	local out
	out=$(lab_exec client timeout 120 ab -q -k -c "$1" -t "${DURATION%s}" -n 100000000 \
		"http://$LAB_LB_IP/" 2>&1)
	[[ "${VERBOSE:-0}" == 1 ]] && printf '%s\n' "$out"
	AB_RPS=$(awk '/^Requests per second:/ {print $4}' <<<"$out")
	AB_P50=$(awk '$1 == "50%" {print $2}' <<<"$out")
	AB_P99=$(awk '$1 == "99%" {print $2}' <<<"$out")
	AB_RPS=${AB_RPS:-nan} AB_P50=${AB_P50:-nan} AB_P99=${AB_P99:-nan}
}

median() {
	awk -v t="$1" -v c="$2" -v col="$3" '$1 == t && $2 == c { print $col }' "$LAB_DIR/results" | bench_median
}

summary() {
	local t c
	{
		printf '\n### balance: wrk -t%s -d%s, be1 %s ms slower, %s rounds alternated (medians)\n\n' \
			"$THREADS" "$DURATION" "$SLOW_MS" "$ROUNDS"
		printf '| balance | conns | wrk req/s | wrk p50 ms | wrk p99 ms | be1 (slow) | be2 | be3 | be1 share | ab req/s | ab p50 ms | ab p99 ms |\n'
		printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
		for c in $CONNS; do
			for t in "${TARGETS[@]}"; do
				awk -v t="$t" -v c="$c" -v rps="$(median "$t" "$c" 4)" -v p50="$(median "$t" "$c" 5)" \
					-v p99="$(median "$t" "$c" 6)" -v b1="$(median "$t" "$c" 8)" \
					-v b2="$(median "$t" "$c" 9)" -v b3="$(median "$t" "$c" 10)" \
					-v arps="$(median "$t" "$c" 11)" -v a50="$(median "$t" "$c" 12)" -v a99="$(median "$t" "$c" 13)" \
					'BEGIN { s = b1 + b2 + b3; printf "| %s | %s | %.0f | %.3f | %.3f | %.0f | %.0f | %.0f | %.1f%% | %.0f | %s | %s |\n", t, c, rps, p50, p99, b1, b2, b3, (s > 0 ? 100 * b1 / s : 0), arps, a50, a99 }'
			done
		done
		printf -- '- errors (non-2xx + socket errors, all runs): %s\n' \
			"$(awk '{ e[$1] += $7 } END { for (t in e) printf "%s=%d ", t, e[t] }' "$LAB_DIR/results")"
	} | tee -a "${RESULTS:-/dev/null}"
}

[[ $EUID -eq 0 ]] || die "run as root"
[[ "${NO_INSTALL:-0}" == 1 ]] || bench_install_tools "${PKG_BENCH_BALANCE[@]}" || die "cannot install wrk, ab"
lab_have wrk ab jq curl || die "missing tools"
bench_require_built "$ANDROMEDA" "$FAKESRV"
bench_lab
lab_fakesrv 1 -d "$SLOW_MS" || die "fakesrv be1"
lab_fakesrv 2 || die "fakesrv be2"
lab_fakesrv 3 || die "fakesrv be3"
for i in 1 2 3; do
	lab_wait_tcp client "$(lab_be_ip "$i")" 80 5 || die "fakesrv be$i does not answer"
done
write_conf roundrobin
lab_start_andromeda "$LAB_DIR/lb.conf" || die "andromeda does not start"
lab_wait_for 5 lab_all_up 3 || die "servers not up"
bench_rounds "$CONNS"
summary
lab_stop andromeda 15 >/dev/null
