# shellcheck shell=bash
# lib.sh - what the benches (proxy.sh, scale.sh, memory.sh, failover.sh)
# share.  Source it; do not execute it.  It sources tests/lib/lab.sh itself
# (so a bench sources this file instead, and tests/lib/ha.sh after it if it
# needs that), which also gives BUILD_DIR, ANDROMEDA, LAB_LB_IP, lab_* ...
#
#   source "$(dirname "$0")/lib.sh"
#   bench_install_tools "${PKG_BENCH_PROXY[@]}" || die "cannot install"
#   bench_lab && bench_backends              # client, lb, be1..be3 serving
#   bench_haproxy_conf haproxy 81 1 4096; bench_nginx_conf 8192
#   bench_wrk andromeda 64 && bench_wrk_parse   # WRK_RPS, WRK_P99, ...
#   bench_rounds "$CONNS"                    # run_wrk for every target
#
# The functions read the bench's globals where the benches agree on them:
# THREADS and DURATION (wrk), URL[TARGET] (an associative array), TARGETS
# and ROUNDS, BACKEND (nginx or fakesrv); bench_rounds calls the bench's
# run_wrk.  Every file they write is in $LAB_DIR.

source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/lab.sh"
# PKG_BENCH_* and pkg_install_no_start (deploy/packages.sh).
source "$SRC_DIR/deploy/packages.sh"

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# bench_install_tools PACKAGE...: apt-get those of the Debian packages that
# are missing (deploy/packages.sh names each bench's list).  The benches
# run their own instances of haproxy, nginx and keepalived, in their
# namespaces, with their own files: pkg_install_no_start keeps Debian from
# starting them as system services, and the units of the packages
# installed here are disabled, so they do not start at the next boot of a
# machine that runs systemd either (works offline).
bench_install_tools() {
	local p rc
	pkg_missing "$@"
	((${#PKG_MISSING[@]} == 0)) && return 0
	pkg_install_no_start "${PKG_MISSING[@]}"
	rc=$?
	for p in "${PKG_MISSING[@]}"; do
		case $p in
		keepalived | haproxy) ((rc == 0)) && systemctl --no-reload disable "$p" >/dev/null 2>&1 ;;
		nginx-light) ((rc == 0)) && systemctl --no-reload disable nginx >/dev/null 2>&1 ;;
		esac
	done
	return "$rc"
}

# bench_require_built BINARY...: die unless each is built.
bench_require_built() {
	local b
	for b in "$@"; do
		[[ -x "$b" ]] || die "$b is not built (cmake -S . -B build && make -C build)"
	done
}

# bench_lab: the lab of proxy.sh, scale.sh and memory.sh - client, lb and
# three backend hosts (no backend started yet), torn down at exit.
bench_lab() {
	lab_init || die "cannot create the lab"
	lab_trap
	lab_topology 3 || die "lab topology"
}

# ----------------------------------------------------------- backends ----

# bench_nginx_backend_conf I: a static backend answering "beI" (like fakesrv).
bench_nginx_backend_conf() {
	local i=$1
	{
		printf 'daemon off;\nworker_processes 1;\npid %s/be%d-nginx.pid;\n' "$LAB_DIR" "$i"
		printf 'error_log %s/be%d-nginx-error.log;\nevents { worker_connections 4096; }\n' "$LAB_DIR" "$i"
		printf 'http {\n\taccess_log off;\n\tkeepalive_requests 1000000;\n\tkeepalive_timeout 300s;\n'
		printf '\tserver {\n\t\tlisten %s:80 backlog=4096;\n' "$(lab_be_ip "$i")"
		printf '\t\tlocation = /healthz { return 200 "ok\\n"; }\n'
		printf '\t\tlocation / { return 200 "be%d\\n"; }\n\t}\n}\n' "$i"
	} >"$LAB_DIR/be$i-nginx.conf"
}

# bench_backends: the 3 backends of BACKEND - nginx: a static nginx per
# backend host, the fastest backend we have, so the balancer is what is
# measured; otherwise fakesrv, the test backend.  Dies unless all answer.
bench_backends() {
	local i
	if [[ $BACKEND == nginx ]]; then
		for i in 1 2 3; do
			bench_nginx_backend_conf "$i"
			lab_spawn "be$i" "be$i" nginx -c "$LAB_DIR/be$i-nginx.conf" || die "nginx backend be$i"
		done
		for i in 1 2 3; do
			lab_wait_tcp client "$(lab_be_ip "$i")" 80 5 || die "nginx backend be$i does not answer"
		done
	else
		lab_fakesrvs 3 || die "fakesrv backends"
	fi
}

# ----------------------------------------------------- configurations ----
# proxy.sh's three balancers; scale.sh and memory.sh vary them.

# bench_andromeda_conf PORT [LINE...]: on stdout, proxy.sh's andromeda
# configuration after the [node] section (the caller prints that first):
# log_level, [frontend] on LAB_LB_IP:PORT with the LINEs added, [backend]
# and the 3 servers.
bench_andromeda_conf() {
	local port=$1 l
	shift
	printf 'log_level = warning\n\n' # still [node]: nothing per request
	printf '[frontend]\nlisten = %s:%d\n' "$LAB_LB_IP" "$port"
	for l in "$@"; do
		printf '%s\n' "$l"
	done
	printf '\n[backend]\nmaxconn = 1000\nhealth_check = /healthz\nhealth_interval = 1s\n\n'
	lab_servers_conf 3
}

# bench_haproxy_conf NAME PORT NBTHREAD MAXCONN [IDLE_S]: $LAB_DIR/NAME.cfg
# (pid file NAME.pid), HAProxy on LAB_LB_IP:PORT: balance roundrobin over
# the 3 backends, keep-alive to them, checks every 1 s, no log; a 30 s
# client timeout.  With IDLE_S (memory.sh): idle clients kept IDLE_S
# seconds, and room for MAXCONN of them whatever the descriptor limit.
bench_haproxy_conf() {
	local name=$1 port=$2 nbthread=$3 maxconn=$4 idle=${5:-}
	{
		cat <<-EOF
			global
			    nbthread $nbthread
			    maxconn $maxconn
		EOF
		[[ -n $idle ]] && cat <<-EOF
			    # HAProxy budgets 2 descriptors per client; an idle client needs
			    # one: warn, do not refuse, when the hard limit is below 2 x maxconn.
			    no strict-limits
		EOF
		cat <<-EOF
			    pidfile $LAB_DIR/$name.pid
			defaults
			    mode http
			    timeout connect 1s
		EOF
		if [[ -n $idle ]]; then
			printf '    timeout client %ss\n    timeout http-keep-alive %ss\n' "$idle" "$idle"
		else
			printf '    timeout client 30s\n'
		fi
		cat <<-EOF
			    timeout server 10s
			    option http-keep-alive
			    http-reuse always
			frontend fe
			    bind $LAB_LB_IP:$port
			    default_backend be
			backend be
			    balance roundrobin
			    server be1 $(lab_be_ip 1):80 check inter 1s
			    server be2 $(lab_be_ip 2):80 check inter 1s
			    server be3 $(lab_be_ip 3):80 check inter 1s
		EOF
	} >"$LAB_DIR/$name.cfg"
}

# bench_nginx_conf MAXCONN [IDLE_S]: $LAB_DIR/nginx.conf, nginx on
# LAB_LB_IP:82, one worker with MAXCONN worker connections, upstream
# keep-alive to the 3 backends over HTTP/1.1, no access log.  With IDLE_S
# (memory.sh): idle clients kept IDLE_S seconds, and the hard descriptor
# limit for the worker.
bench_nginx_conf() {
	local maxconn=$1 idle=${2:-}
	mkdir -p "$LAB_DIR/nginx"
	{
		printf 'worker_processes 1;\n'
		[[ -n $idle ]] && printf 'worker_rlimit_nofile %s;\n' "$(ulimit -Hn)"
		cat <<-EOF
			daemon off;
			pid $LAB_DIR/nginx.pid;
			error_log $LAB_DIR/nginx.error.log warn;
			events { worker_connections $maxconn; }
			http {
			    access_log off;
			    client_body_temp_path $LAB_DIR/nginx/body;
			    proxy_temp_path $LAB_DIR/nginx/proxy;
			    fastcgi_temp_path $LAB_DIR/nginx/fastcgi;
			    uwsgi_temp_path $LAB_DIR/nginx/uwsgi;
			    scgi_temp_path $LAB_DIR/nginx/scgi;
			    keepalive_requests 1000000;
		EOF
		[[ -n $idle ]] && printf '    keepalive_timeout %ss;\n' "$idle"
		cat <<-EOF
			    upstream be {
			        server $(lab_be_ip 1):80;
			        server $(lab_be_ip 2):80;
			        server $(lab_be_ip 3):80;
			        keepalive 64;
			        keepalive_requests 1000000;
			    }
			    server {
			        listen $LAB_LB_IP:82 backlog=1024;
			        location / {
			            proxy_pass http://be;
			            proxy_http_version 1.1;
			            proxy_set_header Connection "";
			        }
			    }
			}
		EOF
	} >"$LAB_DIR/nginx.conf"
}

# --------------------------------------------------------------- wrk ----

# bench_names TARGET: the backend names that answer 30 requests to
# URL[TARGET], comma separated: the proxies spread over all 3.
bench_names() {
	lab_exec client timeout 10 curl -s "${URL[$1]}?n=[1-30]" | sort -u | paste -sd, -
}

# bench_wrk TARGET CONNS: one wrk run (THREADS threads, DURATION) from the
# client against URL[TARGET]; its output in WRK_OUT and appended to
# wrk.TARGET.cCONNS.log.  Nothing else in between, so that what a caller
# reads right before and after (CPU time) is the run's.
# WRK_CPUS (optional): the CPUs wrk may run on (taskset -c), to keep it
# off the balancer's (bench_pin).
bench_wrk() {
	local pin=()
	[[ -n ${WRK_CPUS:-} ]] && pin=(taskset -c "$WRK_CPUS")
	# The shell that ran wrk prints wrk's CPU time (its cutime + cstime,
	# clock ticks) on a line of its own: bench_wrk_parse's WRK_CPU_TICKS.
	# shellcheck disable=SC2016 # expanded by that shell
	WRK_OUT=$(lab_exec client timeout 120 "${pin[@]}" bash -c '"$@"; rc=$?
		read -r s </proc/$$/stat; s=${s##*) }; set -- $s; echo "wrk-cpu-ticks $((${14} + ${15}))"; exit $rc' \
		_ wrk -t"$THREADS" -c"$2" -d"$DURATION" --latency -s "$SRC_DIR/tests/bench/p999.lua" "${URL[$1]}" 2>&1)
	echo "$WRK_OUT" >>"$LAB_DIR/wrk.$1.c$2.log"
}

# bench_rounds "C...": ROUNDS rounds, each running every target of TARGETS
# at each concurrency C in turn (run_wrk TARGET C ROUND, the bench's own,
# appends to the results it starts afresh).  Alternating the targets
# within each round spreads any drift of the machine (thermal, noisy
# neighbours) over all of them.
bench_rounds() {
	local r c t
	: >"$LAB_DIR/results"
	for ((r = 1; r <= ROUNDS; r++)); do
		for c in $1; do
			for t in "${TARGETS[@]}"; do
				run_wrk "$t" "$c" "$r"
			done
		done
	done
}

# bench_to_ms VALUE-WITH-UNIT (wrk prints us, ms or s)
bench_to_ms() {
	awk -v v="$1" 'BEGIN {
		if (v ~ /us$/) { sub(/us$/, "", v); print v / 1000 }
		else if (v ~ /ms$/) { sub(/ms$/, "", v); print v + 0 }
		else if (v ~ /s$/) { sub(/s$/, "", v); print v * 1000 }
		else print "nan" }'
}

# bench_wrk_parse: the figures of WRK_OUT: WRK_RPS (req/s) and WRK_REQS
# (requests completed; both empty if wrk printed none), WRK_P50 and
# WRK_P99 and WRK_P999 (ms, "nan" if missing; p99.9 from p999.lua), WRK_ERRS (non-2xx responses plus socket
# errors of every kind), WRK_CPU_TICKS (wrk's CPU time, clock ticks; "nan"
# if missing).
# shellcheck disable=SC2034 # set for the caller
bench_wrk_parse() {
	WRK_RPS=$(awk '/^Requests\/sec:/ {print $2}' <<<"$WRK_OUT")
	WRK_REQS=$(awk '/ requests in / {print $1}' <<<"$WRK_OUT")
	WRK_P50=$(bench_to_ms "$(awk '$1 == "50%" {print $2}' <<<"$WRK_OUT")")
	WRK_P99=$(bench_to_ms "$(awk '$1 == "99%" {print $2}' <<<"$WRK_OUT")")
	WRK_P999=$(bench_to_ms "$(awk '$1 == "Latency" && $2 == "p99.9:" {print $3}' <<<"$WRK_OUT")")
	WRK_CPU_TICKS=$(awk '$1 == "wrk-cpu-ticks" { v = $2 } END { print (v == "" ? "nan" : v) }' <<<"$WRK_OUT")
	WRK_ERRS=$(awk '/Non-2xx or 3xx responses:/ {n += $NF} /Socket errors:/ {gsub(/[^0-9 ]/, " "); for (i = 1; i <= NF; i++) n += $i} END {print n + 0}' <<<"$WRK_OUT")
}

# bench_pin_lab PIDNAME...: with LB_CPUS set (taskset -c syntax), the
# balancers named run on LB_CPUS and the backends be1..be3 and wrk on
# LOAD_CPUS (default: the other CPUs), so that a balancer has cores of its
# own; without LB_CPUS nothing is pinned.  Dies if a pin fails.
bench_pin_lab() {
	local n
	[[ -n ${LB_CPUS:-} ]] || return 0
	if [[ -z ${LOAD_CPUS:-} ]]; then
		LOAD_CPUS=$(awk -v lb="$LB_CPUS" -v n="$(nproc)" 'BEGIN {
			m = split(lb, a, ","); for (i = 1; i <= m; i++) { split(a[i], r, "-"); for (c = r[1]; c <= (r[2] == "" ? r[1] : r[2]); c++) used[c] = 1 }
			for (c = 0; c < n; c++) if (!used[c]) out = out (out == "" ? "" : ",") c; print out }')
	fi
	[[ -n $LOAD_CPUS ]] || die "LB_CPUS=$LB_CPUS leaves no CPU for wrk and the backends"
	for n in be1 be2 be3; do
		lab_alive "$n" && { bench_pin "$n" "$LOAD_CPUS" || die "cannot pin $n"; }
	done
	for n in "$@"; do
		bench_pin "$n" "$LB_CPUS" || die "cannot pin $n"
	done
	WRK_CPUS=$LOAD_CPUS
	printf '  pinned: balancers (%s) on CPU %s; wrk and the backends on CPU %s\n' "$*" "$LB_CPUS" "$LOAD_CPUS"
}

# ------------------------------------------------------------ figures ----

# bench_cpu_ticks PIDNAME: CPU time (utime + stime, all threads, in clock
# ticks) of the process and of its live children (nginx's worker; fields
# 14 and 15 of /proc/PID/stat count neither children nor, until they are
# waited for, dead ones), "nan" if it is gone.
bench_cpu_ticks() {
	local pid p sum=0 stat kids
	pid=$(lab_pid "$1") || { echo nan; return; }
	kids=$(cat /proc/"$pid"/task/*/children 2>/dev/null)
	for p in $pid $kids; do
		stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		stat=${stat##*) }
		# shellcheck disable=SC2086 # split into fields on purpose
		set -- $stat
		sum=$((sum + ${12} + ${13}))
	done
	echo "$sum"
}

# bench_cpu_us T0 T1 REQUESTS: microseconds of CPU per request between two
# bench_cpu_ticks readings ("nan" if either is missing or no request).
bench_cpu_us() {
	awk -v a="$1" -v b="$2" -v n="${3:-0}" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { if (a == "nan" || b == "nan" || n <= 0) print "nan"; else printf "%.2f", (b - a) / hz * 1e6 / n }'
}

# bench_machine_ticks: the whole machine's CPU time from /proc/stat as
# BUSY:IDLE clock ticks (busy: user, nice, system, irq, softirq, steal;
# idle: idle and iowait), summed over the CPUs.
bench_machine_ticks() {
	awk '$1 == "cpu" { printf "%d:%d\n", $2 + $3 + $4 + $7 + $8 + $9, $5 + $6; exit }' /proc/stat
}

# bench_machine_us T0 T1 REQUESTS: two fields, the machine's busy CPU in
# microseconds per request and its idle share in % between two
# bench_machine_ticks readings ("nan nan" if no request).  Busy includes
# every process on the machine, not only the bench's.
bench_machine_us() {
	awk -v a="$1" -v b="$2" -v n="${3:-0}" -v hz="$(getconf CLK_TCK)" 'BEGIN {
		split(a, x, ":"); split(b, y, ":"); busy = y[1] - x[1]; idle = y[2] - x[2]
		if (n <= 0 || busy + idle <= 0) print "nan nan"
		else printf "%.2f %.1f\n", busy / hz * 1e6 / n, 100 * idle / (busy + idle) }'
}

# bench_pin PIDNAME CPUS: move the process, its threads and its live
# children (nginx's worker) to CPUS (taskset -c syntax).
bench_pin() {
	local pid p kids
	pid=$(lab_pid "$1") || return 1
	kids=$(cat /proc/"$pid"/task/*/children 2>/dev/null)
	for p in $pid $kids; do
		taskset -a -p -c "$2" "$p" >/dev/null || return 1
	done
}

# bench_median: the median of the numbers on stdin, one a line ("nan" when
# there are none; the mean of the middle two when their count is even).
bench_median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
