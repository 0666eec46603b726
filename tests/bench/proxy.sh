#!/usr/bin/env bash
# proxy.sh - wrk against one backend directly, andromeda, HAProxy and nginx,
# on the same 3 backends, alternated A B C D for ROUNDS rounds, in one
# invocation.  See tests/bench/README.md.
#
#   sudo bash tests/bench/proxy.sh
#
# Environment: ROUNDS (default 3), DURATION (per run, default 10s), CONNS
# (throughput runs, default "64 512"), LAT_CONNS (latency runs, default 1),
# THREADS (wrk threads, default 1), HA=1 (also andromeda with [ha], as
# MASTER, on port 83: target andromeda_ha), BACKEND (nginx: a static nginx per
# backend host, the fastest backend we have, so the balancer is what is
# measured; fakesrv: the test backend), RESULTS (also write the markdown
# table to this file), NO_INSTALL=1 (do not apt-get wrk/haproxy/nginx),
# LB_CPUS / LOAD_CPUS (pin the balancers to LB_CPUS, wrk and the backends
# to LOAD_CPUS: lib.sh bench_pin_lab; default: no pinning).
#
# Per run and in the medians: req/s, p50, p99 and p99.9 latency, and the
# balancer's CPU time per request (utime + stime of its process and its
# workers from /proc, over the run, divided by the requests wrk completed).
set -uo pipefail
source "$(dirname "$0")/lib.sh" # and tests/lib/lab.sh

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64 512}
BACKEND=${BACKEND:-nginx}
LAT_CONNS=${LAT_CONNS:-1}
THREADS=${THREADS:-1}
TARGETS=(direct andromeda haproxy nginx)
declare -A URL=(
	[direct]="http://$(lab_be_ip 1):80/"
	[andromeda]="http://$LAB_LB_IP:80/"
	[haproxy]="http://$LAB_LB_IP:81/"
	[nginx]="http://$LAB_LB_IP:82/"
	[andromeda_ha]="http://$LAB_LB_IP:83/"
)
# HA=1: also andromeda_ha, the same andromeda with [ha] (alone, so MASTER):
# what being MASTER costs the data path, e.g. the routing table listed and
# replicated every 100 ms (docs/journal.md "In flight at a takeover").
[[ "${HA:-0}" == 1 ]] && TARGETS+=(andromeda_ha)

# start_andromeda_ha: the second andromeda on port 83, [ha] on the lb's eth0.
start_andromeda_ha() {
	local conf=$LAB_DIR/andromeda_ha.conf
	"$ANDROMEDA" --gen-key "$LAB_DIR/cluster.key" >/dev/null || return 1
	mkdir -p "$LAB_DIR/state_ha"
	{
		printf '[node]\nname = lb1ha\nstate_dir = %s/state_ha\ncontrol_socket = %s/ha.sock\n' \
			"$LAB_DIR" "$LAB_DIR"
		bench_andromeda_conf 83
		printf '[ha]\ninterface = eth0\nvrid = 77\npriority = 150\nvip = 198.18.0.9/24\n'
		printf 'key_file = %s/cluster.key\n' "$LAB_DIR"
	} >"$conf"
	"$ANDROMEDA" -t -c "$conf" >/dev/null || return 1
	lab_spawn lb andromeda_ha "$ANDROMEDA" -c "$conf" || return 1
	lab_wait_tcp client "$LAB_LB_IP" 83 5 || return 1
	ha_master() { [[ "$("$ANDROMEDACTL" -s "$LAB_DIR/ha.sock" status --json | jq -r .role)" == MASTER ]]; }
	lab_wait_for 5 ha_master
}

# backends_ticks: the CPU time of the three backends (and their workers).
backends_ticks() {
	local i v sum=0
	for i in 1 2 3; do
		v=$(bench_cpu_ticks "be$i")
		[[ $v == nan ]] && { echo nan; return; }
		sum=$((sum + v))
	done
	echo "$sum"
}

# run_wrk TARGET CONNS ROUND: one wrk run, one line in results.
# Columns: target conns round req/s p50 p99 errors p99.9 cpu-us/req, then
# for the cost model (see summary): wrk's and the backends' CPU us/req,
# the whole machine's busy CPU us/req (everything, other jobs included,
# from /proc/stat) and its idle share in % over the run.
run_wrk() {
	local t=$1 c=$2 r=$3 c0=nan c1=nan cpu b0 b1 m0 m1 wrk_us be_us busy idle
	[[ $t != direct ]] && c0=$(bench_cpu_ticks "$t")
	b0=$(backends_ticks)
	m0=$(bench_machine_ticks)
	bench_wrk "$t" "$c"
	m1=$(bench_machine_ticks)
	b1=$(backends_ticks)
	[[ $t != direct ]] && c1=$(bench_cpu_ticks "$t")
	bench_wrk_parse
	cpu=$(bench_cpu_us "$c0" "$c1" "${WRK_REQS:-0}")
	wrk_us=$(bench_cpu_us 0 "$WRK_CPU_TICKS" "${WRK_REQS:-0}")
	be_us=$(bench_cpu_us "$b0" "$b1" "${WRK_REQS:-0}")
	read -r busy idle <<<"$(bench_machine_us "$m0" "$m1" "${WRK_REQS:-0}")"
	printf '%s %s %s %s %s %s %s %s %s %s %s %s\n' "$t" "$c" "$r" "${WRK_RPS:-0}" "$WRK_P50" "$WRK_P99" "$WRK_ERRS" \
		"$WRK_P999" "$cpu" "$wrk_us" "$be_us" "$busy $idle" >>"$LAB_DIR/results"
	printf '  round %d  %-10s c=%-3s %10s req/s  p50 %7s ms  p99 %7s ms  p99.9 %7s ms  CPU %6s us/req  errors %s\n' \
		"$r" "$t" "$c" "${WRK_RPS:-?}" "$WRK_P50" "$WRK_P99" "$WRK_P999" "$cpu" "$WRK_ERRS"
	printf '           CPU us/req: wrk %s  backends %s  machine busy %s, idle %s %%\n' "$wrk_us" "$be_us" "$busy" "$idle"
}

# median of the values in column COL for TARGET/CONNS
median() {
	awk -v t="$1" -v c="$2" -v col="$3" '$1 == t && $2 == c && $col != "nan" { print $col }' "$LAB_DIR/results" | bench_median
}

summary() {
	local t c
	{
		printf '\n### wrk -t%s -d%s, %s rounds alternated (medians)\n\n' "$THREADS" "$DURATION" "$ROUNDS"
		printf '| target |'
		for c in $CONNS $LAT_CONNS; do
			printf ' c=%s req/s | p50 ms | p99 ms | p99.9 ms | CPU us/req |' "$c"
		done
		printf '\n|---|'
		for c in $CONNS $LAT_CONNS; do
			printf -- '---:|---:|---:|---:|---:|'
		done
		printf '\n'
		for t in "${TARGETS[@]}"; do
			printf '| %s |' "$t"
			for c in $CONNS $LAT_CONNS; do
				printf ' %.0f | %.3f | %.3f | %.3f |' "$(median "$t" "$c" 4)" "$(median "$t" "$c" 5)" \
					"$(median "$t" "$c" 6)" "$(median "$t" "$c" 8)"
				if [[ $t == direct ]]; then printf ' - |'; else printf ' %.2f |' "$(median "$t" "$c" 9)"; fi
			done
			printf '\n'
		done
		printf '\n'
		for t in haproxy nginx; do
			for c in $CONNS $LAT_CONNS; do
				awk -v a="$(median andromeda "$c" 4)" -v b="$(median "$t" "$c" 4)" \
					-v pa="$(median andromeda "$c" 6)" -v pb="$(median "$t" "$c" 6)" \
					-v qa="$(median andromeda "$c" 8)" -v qb="$(median "$t" "$c" 8)" \
					-v a50="$(median andromeda "$c" 5)" -v b50="$(median "$t" "$c" 5)" \
					-v ua="$(median andromeda "$c" 9)" -v ub="$(median "$t" "$c" 9)" -v t="$t" -v c="$c" \
					'function r(x, y) { return (y > 0 ? sprintf("%.2f", x / y) : "-") }
					BEGIN { printf "- andromeda/%s at c=%s: req/s %s, p50 %s, p99 %s, p99.9 %s, CPU/req %s\n", t, c, r(a, b), r(a50, b50), r(pa, pb), r(qa, qb), r(ua, ub) }'
			done
		done
		printf -- '- errors (non-2xx + socket errors, all runs): %s\n' \
			"$(awk '{ e[$1] += $7 } END { for (t in e) printf "%s=%d ", t, e[t] }' "$LAB_DIR/results")"
		cost_model
	} | tee -a "${RESULTS:-/dev/null}"
}

# cost_model: where the 2 cores go per request, and what that bounds.
# When wrk, the backends and the balancer saturate the machine, req/s is
# about CPUs / (wrk + backends + balancer) per request, so the ratio
# andromeda/X is predicted by (w + b + x) / (w + b + a), and a balancer
# that cost nothing would reach at most (w + b + x) / (w + b), with w and
# b what wrk and the backends spend per request of andromeda's runs.
cost_model() {
	local t c
	printf '\n### CPU per request of every process (medians, us/request)\n\n'
	printf '| target | c | wrk | backends | balancer | sum | machine busy | machine idle %% |\n|---|---:|---:|---:|---:|---:|---:|---:|\n'
	for c in $CONNS $LAT_CONNS; do
		for t in "${TARGETS[@]}"; do
			awk -v t="$t" -v c="$c" -v w="$(median "$t" "$c" 10)" -v b="$(median "$t" "$c" 11)" \
				-v x="$(median "$t" "$c" 9)" -v m="$(median "$t" "$c" 12)" -v i="$(median "$t" "$c" 13)" \
				'BEGIN { if (x == "nan") x = 0; printf "| %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f |\n", t, c, w, b, x, w + b + x, m, i }'
		done
	done
	printf '\n'
	for c in $CONNS; do
		for t in haproxy nginx; do
			awk -v t="$t" -v c="$c" -v w="$(median andromeda "$c" 10)" -v b="$(median andromeda "$c" 11)" \
				-v a="$(median andromeda "$c" 9)" -v wx="$(median "$t" "$c" 10)" -v bx="$(median "$t" "$c" 11)" \
				-v x="$(median "$t" "$c" 9)" -v ra="$(median andromeda "$c" 4)" -v rx="$(median "$t" "$c" 4)" \
				'BEGIN { tx = wx + bx + x; ta = w + b + a
				if (ta <= 0 || rx <= 0 || w + b <= 0) exit
				printf "- andromeda/%s at c=%s: measured %.2f; predicted by CPU per request %.2f; a balancer costing 0 us would reach %.2f; 1.25 needs andromeda at %.2f us/req (now %.2f)\n",
					t, c, ra / rx, tx / ta, tx / (w + b), tx / 1.25 - (w + b), a }'
		done
	done
}

[[ $EUID -eq 0 ]] || die "run as root"
[[ "${NO_INSTALL:-0}" == 1 ]] || bench_install_tools "${PKG_BENCH_PROXY[@]}" || die "cannot install wrk, haproxy, nginx"
bench_require_built "$ANDROMEDA" "$ANDROMEDACTL" "$FAKESRV"
lab_have wrk haproxy nginx jq curl || die "missing tools"

bench_lab
bench_backends
{
	lab_node_conf lb1
	bench_andromeda_conf 80
} >"$LAB_DIR/andromeda.conf"
bench_haproxy_conf haproxy 81 1 4096
bench_nginx_conf 8192
lab_start_andromeda "$LAB_DIR/andromeda.conf" || die "andromeda did not start"
haproxy -c -f "$LAB_DIR/haproxy.cfg" >/dev/null || die "haproxy config"
lab_spawn lb haproxy haproxy -db -f "$LAB_DIR/haproxy.cfg" || die "haproxy"
lab_exec lb nginx -t -c "$LAB_DIR/nginx.conf" >"$LAB_DIR/nginx-t.log" 2>&1 || die "nginx config: $(cat "$LAB_DIR/nginx-t.log")"
lab_spawn lb nginx nginx -c "$LAB_DIR/nginx.conf" || die "nginx"
lab_wait_for 10 lab_server_state_is be3 up || die "andromeda: servers not up"
bench_pin_lab andromeda haproxy nginx
[[ "${HA:-0}" == 1 ]] && { start_andromeda_ha || die "andromeda_ha did not become MASTER"; }

# Every target answers with a backend name; the proxies spread over all 3.
for t in "${TARGETS[@]}"; do
	lab_wait_http client "${URL[$t]}" 10 || die "$t does not answer at ${URL[$t]}"
	printf '  %-10s %-28s answers: %s\n' "$t" "${URL[$t]}" "$(bench_names "$t")"
done

bench_rounds "$CONNS $LAT_CONNS" # the latency runs last in each round
summary
