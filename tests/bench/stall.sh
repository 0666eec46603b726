#!/usr/bin/env bash
# stall.sh - a 2 s stall of every backend under load (issue 19): wrk
# -c512 keep-alive through andromeda, HAProxy and nginx in turn, on the
# same 3 backends, while nftables in each backend's namespace drops the
# SYNs that open connections for STALL seconds.  Prints per proxy and
# round the requests, the non-2xx responses and the socket errors.
# See tests/bench/README.md.
#
#   sudo bash tests/bench/stall.sh
#   sudo ROUNDS=3 RESULTS=/tmp/stall.md bash tests/bench/stall.sh
#
# Environment: ROUNDS (default 1), DURATION (per run, default 10s), CONNS
# (default 512), STALL_AT (s into the run, default 3), STALL (s, default
# 2), WRK_TIMEOUT (wrk --timeout, default 2s: wrk's own), THREADS (wrk
# threads, default 1), BACKEND (nginx or fakesrv), RESULTS, NO_INSTALL=1.
set -uo pipefail
source "$(dirname "$0")/lib.sh" # and tests/lib/lab.sh

ROUNDS=${ROUNDS:-1}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-512}
STALL_AT=${STALL_AT:-3}
STALL=${STALL:-2}
WRK_TIMEOUT=${WRK_TIMEOUT:-2s}
THREADS=${THREADS:-1}
BACKEND=${BACKEND:-nginx}
TARGETS=(andromeda haproxy nginx)
declare -A URL=(
	[andromeda]="http://$LAB_LB_IP:80/"
	[haproxy]="http://$LAB_LB_IP:81/"
	[nginx]="http://$LAB_LB_IP:82/"
)

# stall_all on|off: drop (or stop dropping) the SYNs that open
# connections to port 80 of every backend; established connections go on.
stall_all() {
	local i
	for i in 1 2 3; do
		if [[ $1 == on ]]; then
			lab_exec "be$i" nft -f - <<-'EOF'
				table inet stall {
					chain input {
						type filter hook input priority 0; policy accept;
						tcp dport 80 tcp flags & (syn | ack) == syn drop
					}
				}
			EOF
		else
			lab_exec "be$i" nft delete table inet stall 2>/dev/null
		fi
	done
}

andromeda_downs() { grep -c 'is DOWN' "$LAB_DIR/andromeda.log"; }

# run_stall TARGET ROUND: one wrk run with the stall in its middle.
run_stall() {
	local t=$1 r=$2 pid non2xx sock reqs downs0
	downs0=$(andromeda_downs)
	lab_exec client timeout 120 wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --timeout "$WRK_TIMEOUT" \
		"${URL[$t]}" >"$LAB_DIR/wrk.$t.$r.log" 2>&1 &
	pid=$!
	sleep "$STALL_AT"
	stall_all on
	sleep "$STALL"
	stall_all off
	wait "$pid"
	WRK_OUT=$(cat "$LAB_DIR/wrk.$t.$r.log")
	reqs=$(awk '/ requests in / {print $1}' <<<"$WRK_OUT")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ {n += $NF} END {print n + 0}' <<<"$WRK_OUT")
	sock=$(awk '/Socket errors:/ {gsub(/[^0-9 ]/, " "); for (i = 1; i <= NF; i++) n += $i} END {print n + 0}' <<<"$WRK_OUT")
	# Servers andromeda took out during its own run (checks fail in the
	# others' runs too, with no traffic of its own to excuse them).
	[[ $t == andromeda ]] && echo $(($(andromeda_downs) - downs0)) >>"$LAB_DIR/downs"
	printf '%s %s %s %s %s\n' "$t" "$r" "${reqs:-0}" "$non2xx" "$sock" >>"$LAB_DIR/results"
	printf '  round %d  %-10s %9s requests  %7s non-2xx  %6s socket errors  (%s)\n' "$r" "$t" \
		"${reqs:-?}" "$non2xx" "$sock" "$(grep 'Socket errors' <<<"$WRK_OUT" | sed 's/^ *//')"
	# Let every proxy see its servers up again before the next one runs.
	lab_wait_for 10 lab_all_up 3 || printf '  (andromeda: not all servers up after the run)\n'
}

summary() {
	local t
	{
		printf '\n### %s stall of every backend (SYNs dropped) in wrk -t%s -c%s -d%s --timeout %s, %s round(s)\n\n' \
			"${STALL}s" "$THREADS" "$CONNS" "$DURATION" "$WRK_TIMEOUT" "$ROUNDS"
		printf '| proxy | requests (median) | non-2xx (all rounds) | socket errors (all rounds) |\n|---|---:|---:|---:|\n'
		for t in "${TARGETS[@]}"; do
			printf '| %s | %s | %s | %s |\n' "$t" \
				"$(awk -v t="$t" '$1 == t {print $3}' "$LAB_DIR/results" | bench_median)" \
				"$(awk -v t="$t" '$1 == t {n += $4} END {print n + 0}' "$LAB_DIR/results")" \
				"$(awk -v t="$t" '$1 == t {n += $5} END {print n + 0}' "$LAB_DIR/results")"
		done
		printf '\nandromeda: %s server(s) taken out of rotation during its own runs, %s panic episode(s) in all\n' \
			"$(awk '{n += $1} END {print n + 0}' "$LAB_DIR/downs")" "$(grep -c 'pool: panic:' "$LAB_DIR/andromeda.log")"
	} | tee -a "${RESULTS:-/dev/null}"
}

[[ $EUID -eq 0 ]] || die "run as root"
[[ "${NO_INSTALL:-0}" == 1 ]] || bench_install_tools "${PKG_BENCH_STALL[@]}" || die "cannot install wrk, haproxy, nginx, nftables"
bench_require_built "$ANDROMEDA" "$ANDROMEDACTL" "$FAKESRV"
lab_have wrk haproxy nginx nft jq curl || die "missing tools"

bench_lab
bench_backends
{
	lab_node_conf lb1
	bench_andromeda_conf 80
} >"$LAB_DIR/andromeda.conf"
sed -i 's/^log_level = warning$/log_level = info/' "$LAB_DIR/andromeda.conf" # the DOWN/panic lines
bench_haproxy_conf haproxy 81 1 4096
bench_nginx_conf 8192
lab_start_andromeda "$LAB_DIR/andromeda.conf" || die "andromeda did not start"
haproxy -c -f "$LAB_DIR/haproxy.cfg" >/dev/null || die "haproxy config"
lab_spawn lb haproxy haproxy -db -f "$LAB_DIR/haproxy.cfg" || die "haproxy"
lab_exec lb nginx -t -c "$LAB_DIR/nginx.conf" >"$LAB_DIR/nginx-t.log" 2>&1 || die "nginx config: $(cat "$LAB_DIR/nginx-t.log")"
lab_spawn lb nginx nginx -c "$LAB_DIR/nginx.conf" || die "nginx"
lab_wait_for 10 lab_all_up 3 || die "andromeda: servers not up"
for t in "${TARGETS[@]}"; do
	lab_wait_http client "${URL[$t]}" 10 || die "$t does not answer at ${URL[$t]}"
	printf '  %-10s %-28s answers: %s\n' "$t" "${URL[$t]}" "$(bench_names "$t")"
done
: >"$LAB_DIR/results"
: >"$LAB_DIR/downs"
for ((r = 1; r <= ROUNDS; r++)); do
	for t in "${TARGETS[@]}"; do
		run_stall "$t" "$r"
	done
done
summary
