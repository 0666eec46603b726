#!/usr/bin/env bash
# memory.sh - resident memory per idle keep-alive client connection:
# CONNS connections (default 10,000) each send one GET through the balancer
# and are then held open and idle; the balancer's RSS before and while they
# are held gives the cost per connection, for andromeda, HAProxy and nginx
# on the same 3 fakesrv backends.  See tests/bench/README.md.
#
#   sudo bash tests/bench/memory.sh
#
# Environment: CONNS (default 10000), HOLD (seconds held, default 5),
# ROUNDS (default 1; each round starts every proxy afresh), RESULTS (also
# write the markdown table to this file), NO_INSTALL=1 (do not apt-get
# haproxy/nginx).
set -uo pipefail
source "$(dirname "$0")/lib.sh" # and tests/lib/lab.sh

CONNS=${CONNS:-10000}
HOLD=${HOLD:-5}
ROUNDS=${ROUNDS:-1}
HOLDCONNS=${HOLDCONNS:-$BUILD_DIR/tests/holdconns}
TARGET_BYTES=8192 # issue 6: at most 8 KiB per idle keep-alive connection
TARGETS=(andromeda haproxy nginx)
declare -A PORT=([andromeda]=80 [haproxy]=81 [nginx]=82)
# Keep-alive must outlive set-up plus the hold by far: no proxy may close
# an idle connection while it is being counted.
IDLE_S=$((HOLD + 300))
MAXCONN=$((CONNS + 1000))

start_target() {
	case $1 in
	andromeda) lab_start_andromeda "$LAB_DIR/andromeda.conf" &&
		lab_wait_for 10 lab_all_up 3 ;;
	haproxy) lab_spawn lb haproxy haproxy -db -f "$LAB_DIR/haproxy.cfg" ;;
	nginx) lab_spawn lb nginx nginx -c "$LAB_DIR/nginx.conf" ;;
	esac || return 1
	lab_wait_http client "http://$LAB_LB_IP:${PORT[$1]}/" 10
}

# group_rss_kib PIDNAME: VmRSS summed over the process group we started
# (nginx: master and worker; andromeda and haproxy -db: one process).
group_rss_kib() {
	local pgid p stat sum=0 kib
	pgid=$(lab_pid "$1") || { echo 0; return 1; }
	for p in /proc/[0-9]*; do
		stat=$(cat "$p/stat" 2>/dev/null) || continue
		stat=${stat##*) }
		set -- $stat
		[[ "$3" == "$pgid" ]] || continue
		kib=$(awk '/^VmRSS:/ {print $2}' "$p/status" 2>/dev/null)
		sum=$((sum + ${kib:-0}))
	done
	echo "$sum"
}

group_nprocs() {
	local pgid
	pgid=$(lab_pid "$1") || { echo 0; return; }
	ps -o pid= -g "$pgid" | wc -l
}

# Established connections on the balancer's listening port, as its kernel
# sees them: proof that the CONNS are really held while RSS is read.
established() {
	lab_exec lb ss -Htn state established "( sport = :$1 )" | wc -l
}

holdconns_ready() { grep -q '^ready ' "$LAB_DIR/holdconns.log"; }

# src_args: one client source address per 25,000 connections (the
# ephemeral port range gives ~28k ports per destination).
src_args() {
	local k n=$(((CONNS + 24999) / 25000))
	((n > 1)) || return 0
	for ((k = 0; k < n; k++)); do
		printf -- '-s 198.18.0.%d ' $((100 + k))
	done
}

# measure TARGET ROUND: one fresh proxy, warm-up, RSS idle, CONNS held, RSS
# held, connections released, RSS after.  One line in results.
measure() {
	local t=$1 r=$2 port=${PORT[$1]} before held after est nproc closed
	start_target "$t" || { echo "  $t did not start" >&2; return 1; }
	# Warm-up: the first requests allocate what every later one reuses
	# (backend connections, buffer pools); that is not per-client cost.
	lab_exec client timeout 30 "$HOLDCONNS" "$LAB_LB_IP" "$port" 200 0 >/dev/null ||
		{ echo "  $t: warm-up failed" >&2; return 1; }
	sleep 1
	before=$(group_rss_kib "$t")
	: >"$LAB_DIR/holdconns.log"
	# shellcheck disable=SC2046
	lab_spawn client holdconns "$HOLDCONNS" $(src_args) -t 120 "$LAB_LB_IP" "$port" "$CONNS" "$HOLD"
	if ! lab_wait_for 130 holdconns_ready; then
		echo "  $t: the $CONNS connections were not all answered: $(tail -n 3 "$LAB_DIR/holdconns.log")" >&2
		lab_stop holdconns 5
		lab_stop "$t" 10
		return 1
	fi
	sleep 1
	held=$(group_rss_kib "$t")
	est=$(established "$port")
	nproc=$(group_nprocs "$t")
	lab_wait_gone holdconns $((HOLD + 10))
	closed=$(awk '/^held / {print $4}' "$LAB_DIR/holdconns.log")
	sleep 1
	after=$(group_rss_kib "$t")
	lab_stop "$t" 10
	echo "$t $r $before $held $after $est ${closed:-?} $nproc" >>"$LAB_DIR/results"
	awk -v t="$t" -v r="$r" -v b="$before" -v h="$held" -v a="$after" -v e="$est" -v c="${closed:-?}" -v n="$CONNS" -v p="$nproc" 'BEGIN {
		printf "  round %d  %-10s RSS idle %7d KiB  held %7d KiB  released %7d KiB  %5.0f B/conn  established %d/%d  closed early %s  (%d process%s)\n",
			r, t, b, h, a, (h - b) * 1024 / n, e, n, c, p, (p == 1 ? "" : "es") }'
}

# median of column COL for TARGET
median() {
	awk -v t="$1" -v col="$2" '$1 == t { print $col }' "$LAB_DIR/results" | bench_median
}

# per_conn TARGET: median over rounds of (held - idle) * 1024 / CONNS bytes.
per_conn() {
	awk -v t="$1" -v n="$CONNS" '$1 == t { print ($4 - $3) * 1024 / n }' "$LAB_DIR/results" | bench_median
}

summary() {
	local t a h
	{
		printf '\n### %d idle keep-alive connections, %d round(s) (medians)\n\n' "$CONNS" "$ROUNDS"
		printf '| balancer | RSS idle KiB | RSS with %d held KiB | RSS after release KiB | bytes per connection |\n' "$CONNS"
		printf '|---|---:|---:|---:|---:|\n'
		for t in "${TARGETS[@]}"; do
			printf '| %s | %.0f | %.0f | %.0f | %.0f |\n' "$t" "$(median "$t" 3)" "$(median "$t" 4)" \
				"$(median "$t" 5)" "$(per_conn "$t")"
		done
		printf '\n'
		a=$(per_conn andromeda)
		h=$(per_conn haproxy)
		awk -v a="$a" -v h="$h" -v x="$(per_conn nginx)" -v lim="$TARGET_BYTES" 'BEGIN {
			printf "- andromeda/HAProxy per connection: %.2f; andromeda/nginx: %.2f\n", (h > 0 ? a / h : 0), (x > 0 ? a / x : 0)
			printf "- target <= %d B per connection: %s (%.0f B)\n", lim, (a <= lim ? "met" : "MISSED by " a - lim " B"), a
			printf "- target not more than HAProxy: %s (%.0f B vs %.0f B)\n", (a <= h ? "met" : "MISSED by " a - h " B"), a, h }'
	} | tee -a "${RESULTS:-/dev/null}"
}

[[ $EUID -eq 0 ]] || die "run as root"
[[ "$CONNS" =~ ^[0-9]+$ && "$CONNS" -ge 100 && "$CONNS" -le 100000 ]] || die "CONNS takes 100..100000"
(($(ulimit -Hn) >= CONNS + 64)) || die "$CONNS connections need $((CONNS + 64)) descriptors; hard limit $(ulimit -Hn)"
[[ "${NO_INSTALL:-0}" == 1 ]] || bench_install_tools "${PKG_BENCH_MEMORY[@]}" || die "cannot install haproxy, nginx"
bench_require_built "$ANDROMEDA" "$ANDROMEDACTL" "$FAKESRV" "$HOLDCONNS"
lab_have haproxy nginx jq curl ss || die "missing tools"
ulimit -n "$(ulimit -Hn)" # every proxy inherits room for CONNS descriptors

bench_lab
for ((k = 1; k < (CONNS + 24999) / 25000; k++)); do
	lab_addr client "198.18.0.$((100 + k))/24" || die "client address"
done
lab_fakesrvs 3 || die "fakesrv backends"
# The three configurations are those of proxy.sh, with room for CONNS
# clients and keep-alive timeouts longer than the run.
{
	lab_node_conf lb1
	bench_andromeda_conf 80 "maxconn = $MAXCONN" "keepalive_timeout = ${IDLE_S}s"
} >"$LAB_DIR/andromeda.conf"
bench_haproxy_conf haproxy 81 1 "$MAXCONN" "$IDLE_S"
bench_nginx_conf "$MAXCONN" "$IDLE_S"
haproxy -c -f "$LAB_DIR/haproxy.cfg" >"$LAB_DIR/haproxy-c.log" 2>&1 || die "haproxy config: $(cat "$LAB_DIR/haproxy-c.log")"
lab_exec lb nginx -t -c "$LAB_DIR/nginx.conf" >"$LAB_DIR/nginx-t.log" 2>&1 || die "nginx config: $(cat "$LAB_DIR/nginx-t.log")"

printf 'memory: %d idle keep-alive connections from the client namespace, held %d s; RSS = VmRSS summed over the process group\n' \
	"$CONNS" "$HOLD"
: >"$LAB_DIR/results"
for ((r = 1; r <= ROUNDS; r++)); do
	for t in "${TARGETS[@]}"; do
		measure "$t" "$r" || die "$t: measurement failed"
	done
done
summary
