#!/usr/bin/env bash
# ipv6.sh - proxy.sh over IPv6 (issue 16): wrk against one backend
# directly, andromeda and HAProxy, everything on 2001:db8:18::/48 (client,
# listeners, the 3 static nginx backends), alternated for ROUNDS rounds in
# one invocation.  See tests/bench/README.md.
#
#   sudo bash tests/bench/ipv6.sh
#
# Environment: ROUNDS (default 3), DURATION (per run, default 10s), CONNS
# (default "64 512"), THREADS (wrk threads, default 1), RESULTS (also
# write the markdown table to this file), NO_INSTALL=1.
set -uo pipefail
source "$(dirname "$0")/lib.sh" # and tests/lib/lab.sh
source "$(dirname "$0")/../lib/lab_ip6.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64 512}
THREADS=${THREADS:-1}
P6=2001:db8:18
LB6=$P6::10
be6() { echo "$P6::$((20 + $1))"; }
TARGETS=(direct andromeda haproxy)
declare -A URL=(
	[direct]="http://[$(be6 1)]:80/"
	[andromeda]="http://[$LB6]:80/"
	[haproxy]="http://[$LB6]:81/"
)

run_wrk() {
	local t=$1 c=$2 r=$3
	bench_wrk "$t" "$c"
	bench_wrk_parse
	printf '%s %s %s %s %s %s %s\n' "$t" "$c" "$r" "${WRK_RPS:-0}" "$WRK_P50" "$WRK_P99" "$WRK_ERRS" >>"$LAB_DIR/results"
	printf '  round %d  %-10s c=%-3s %10s req/s  p50 %7s ms  p99 %7s ms  errors %s\n' \
		"$r" "$t" "$c" "${WRK_RPS:-?}" "$WRK_P50" "$WRK_P99" "$WRK_ERRS"
}

median() {
	awk -v t="$1" -v c="$2" -v col="$3" '$1 == t && $2 == c { print $col }' "$LAB_DIR/results" | bench_median
}

summary() {
	local t c
	{
		printf '\n### IPv6: wrk -t%s -d%s, %s rounds alternated (medians)\n\n' "$THREADS" "$DURATION" "$ROUNDS"
		printf '| target |'
		for c in $CONNS; do printf ' c=%s req/s | c=%s p99 ms |' "$c" "$c"; done
		printf '\n|---|'
		for c in $CONNS; do printf -- '---:|---:|'; done
		printf '\n'
		for t in "${TARGETS[@]}"; do
			printf '| %s |' "$t"
			for c in $CONNS; do
				printf ' %.0f | %.3f |' "$(median "$t" "$c" 4)" "$(median "$t" "$c" 6)"
			done
			printf '\n'
		done
		printf '\n'
		for c in $CONNS; do
			awk -v a="$(median andromeda "$c" 4)" -v b="$(median haproxy "$c" 4)" -v c="$c" \
				'BEGIN { printf "- andromeda/haproxy over IPv6 at c=%s: req/s ratio %.2f\n", c, (b > 0 ? a / b : 0) }'
		done
		printf -- '- errors (non-2xx + socket errors, all runs): %s\n' \
			"$(awk '{ e[$1] += $7 } END { for (t in e) printf "%s=%d ", t, e[t] }' "$LAB_DIR/results")"
	} | tee -a "${RESULTS:-/dev/null}"
}

# The 3 static nginx backends of proxy.sh, on their IPv6 addresses.
backends6() {
	local i
	for i in 1 2 3; do
		bench_nginx_backend_conf "$i"
		sed -i "s/listen $(lab_be_ip "$i"):80/listen [$(be6 "$i")]:80/" "$LAB_DIR/be$i-nginx.conf"
		lab_spawn "be$i" "be$i" nginx -c "$LAB_DIR/be$i-nginx.conf" || die "nginx backend be$i"
	done
	for i in 1 2 3; do
		lab_wait_tcp client "$(be6 "$i")" 80 5 || die "nginx backend be$i does not answer on IPv6"
	done
}

[[ $EUID -eq 0 ]] || die "run as root"
[[ "${NO_INSTALL:-0}" == 1 ]] || bench_install_tools "${PKG_BENCH_PROXY[@]}" || die "cannot install wrk, haproxy, nginx"
bench_require_built "$ANDROMEDA" "$ANDROMEDACTL"
lab_have wrk haproxy nginx jq curl || die "missing tools"

bench_lab
for h in client:100 lb:10 be1:21 be2:22 be3:23; do
	lab_host6 "${h%%:*}" "$P6::${h##*:}/64" || die "IPv6 address on ${h%%:*}"
done
backends6
{
	lab_node_conf lb1
	bench_andromeda_conf 80
} | sed -e "s/^listen = .*/listen = [$LB6]:80, $LAB_LB_IP:80/" \
	-e "s/^address = 198\.18\.0\.2\([0-9]\):80/address = [$P6::2\1]:80/" >"$LAB_DIR/andromeda.conf"
bench_haproxy_conf haproxy 81 1 4096
sed -i -e "s/bind $LAB_LB_IP:81/bind [$LB6]:81/" \
	-e "s/ 198\.18\.0\.2\([0-9]\):80 / [$P6::2\1]:80 /" "$LAB_DIR/haproxy.cfg"
lab_start_andromeda "$LAB_DIR/andromeda.conf" || die "andromeda did not start"
haproxy -c -f "$LAB_DIR/haproxy.cfg" >/dev/null || die "haproxy config"
lab_spawn lb haproxy haproxy -db -f "$LAB_DIR/haproxy.cfg" || die "haproxy"
lab_wait_for 10 lab_server_state_is be3 up || die "andromeda: servers not up"

for t in "${TARGETS[@]}"; do
	lab_wait_for 10 lab_exec client curl -gsf -o /dev/null --max-time 1 "${URL[$t]}" ||
		die "$t does not answer at ${URL[$t]}"
	# -g: the brackets are the address, so no [1-30] globbing: 30 URLs.
	printf '  %-10s %-32s answers: %s\n' "$t" "${URL[$t]}" \
		"$(lab_exec client timeout 10 curl -gs $(printf "${URL[$t]}?n=%d " {1..30}) | sort -u | paste -sd, -)"
done

bench_rounds "$CONNS"
summary
