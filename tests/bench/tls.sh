#!/usr/bin/env bash
# tls.sh - HTTPS through andromeda, HAProxy and nginx side by side, in one
# invocation: the same certificate (ECDSA P-256 leaf + intermediate, made
# by tests/lib/tls_certs.sh), the same OpenSSL, the same TLS 1.3 suite
# order (AES-128-GCM first), one thread/worker each, the same 3 static
# nginx backends over plain HTTP keep-alive.  See tests/bench/README.md.
#
#   sudo bash tests/bench/tls.sh
#
# Per round, each target in turn:
#   keep-alive  wrk -t1 -c64 over https, keep-alive: requests/s
#   new conns   the same with "Connection: close" on every request: each
#               request is a new TCP connection and a new handshake:
#               new connections/s.  wrk resumes: it keeps each
#               connection's last session (SSL_clear) and offers its
#               ticket on the next, so most handshakes are resumed ones
#               (TLS 1.3 PSK with X25519: no certificate, no signature)
#               where the server sends a new ticket after each; the share
#               andromeda resumed is printed
# then, once, memory: HOLD_CONNS idle keep-alive TLS connections held
# (tests/tools/tls_client.py hold), RSS before and with them held.
# Medians over ROUNDS, ratios andromeda/HAProxy and andromeda/nginx.
#
# Environment: ROUNDS (3), DURATION (10s), CONNS (64), HOLD_CONNS (2000;
# 0 skips the memory part), RESULTS (also write the markdown to this
# file), NO_INSTALL=1, KINDS ("ka new"; "new" runs new connections only),
# ONLY (the targets to run, e.g. "andromeda nginx"), BASELINE (another
# andromeda binary, e.g. an earlier build: target andromeda-base on :446,
# in the same rounds, a before/after comparison the load changes alike).
# Each run also prints the target's CPU time per request (/proc, all its
# processes), which the machine's load disturbs less than the rate.
# SYSCALLS=1: then, once per target, the system calls per new connection
# (strace -c on all its processes during a SYSCALLS_DURATION (5s) wrk run
# of new connections, divided by wrk's requests): what callgrind, which
# sees user space only, does not show.  Load-insensitive counts; the rate
# under strace means nothing.  PLAIN=1 ONLY=andromeda: andromeda (and
# BASELINE) over plain HTTP instead, for the same figures without TLS.
set -uo pipefail
source "$(dirname "$0")/lib.sh" # and tests/lib/lab.sh

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
HOLD_CONNS=${HOLD_CONNS:-2000}
THREADS=1
BACKEND=nginx
KINDS=${KINDS:-ka new}
TARGETS=(andromeda haproxy nginx)
[[ -n "${ONLY:-}" ]] && read -ra TARGETS <<<"$ONLY"
[[ -n "${BASELINE:-}" ]] && TARGETS+=(andromeda-base)
declare -A PORT=([andromeda]=443 [haproxy]=444 [nginx]=445 [andromeda-base]=446)
declare -A URL=(
	[andromeda]="https://$LAB_LB_IP:443/"
	[haproxy]="https://$LAB_LB_IP:444/"
	[nginx]="https://$LAB_LB_IP:445/"
	[andromeda-base]="https://$LAB_LB_IP:446/"
)
# PLAIN=1 (with ONLY=andromeda): andromeda and its baseline over plain HTTP
# (their :80 and :8080 listeners), the same runs without TLS.
if [[ "${PLAIN:-0}" == 1 ]]; then
	URL[andromeda]="http://$LAB_LB_IP:80/"
	URL[andromeda-base]="http://$LAB_LB_IP:8080/"
fi
SUITES=TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
TLSC=$SRC_DIR/tests/tools/tls_client.py

write_confs() {
	local c=$LAB_DIR/tls/a.pem
	{
		lab_node_conf lb1
		printf 'log_level = warning\n\n[frontend]\nlisten = %s:80\ntls_listen = %s:443\ntls_cert = %s\n' "$LAB_LB_IP" "$LAB_LB_IP" "$c"
		printf 'keepalive_timeout = 600s\n\n[backend]\nmaxconn = 1000\nhealth_check = /healthz\n\n'
		lab_servers_conf 3
	} >"$LAB_DIR/andromeda.conf"
	# The baseline: the same but its ports, state and control socket.
	sed -e "s|:443\$|:446|; s|^\\(listen = .*\\):80\$|\\1:8080|; s|$LAB_DIR/state|$LAB_DIR/state-base|" \
		-e "s|$LAB_DIR/control.sock|$LAB_DIR/control-base.sock|; s|^name = lb1|name = lb1base|" \
		"$LAB_DIR/andromeda.conf" >"$LAB_DIR/andromeda-base.conf"
	cat >"$LAB_DIR/haproxy.cfg" <<-EOF
		global
		    nbthread 1
		    maxconn 20000
		    no strict-limits
		    pidfile $LAB_DIR/haproxy.pid
		    ssl-default-bind-options ssl-min-ver TLSv1.2
		    ssl-default-bind-ciphersuites $SUITES
		defaults
		    mode http
		    timeout connect 1s
		    timeout client 600s
		    timeout http-keep-alive 600s
		    timeout server 10s
		    option http-keep-alive
		    http-reuse always
		frontend fe
		    bind $LAB_LB_IP:444 ssl crt $c alpn http/1.1
		    default_backend be
		backend be
		    balance roundrobin
		    server be1 $(lab_be_ip 1):80 check inter 1s
		    server be2 $(lab_be_ip 2):80 check inter 1s
		    server be3 $(lab_be_ip 3):80 check inter 1s
	EOF
	mkdir -p "$LAB_DIR/nginx"
	cat >"$LAB_DIR/nginx.conf" <<-EOF
		worker_processes 1;
		worker_rlimit_nofile $(ulimit -Hn);
		daemon off;
		pid $LAB_DIR/nginx.pid;
		error_log $LAB_DIR/nginx.error.log warn;
		events { worker_connections 20000; }
		http {
		    access_log off;
		    client_body_temp_path $LAB_DIR/nginx/body;
		    proxy_temp_path $LAB_DIR/nginx/proxy;
		    fastcgi_temp_path $LAB_DIR/nginx/fastcgi;
		    uwsgi_temp_path $LAB_DIR/nginx/uwsgi;
		    scgi_temp_path $LAB_DIR/nginx/scgi;
		    keepalive_requests 1000000;
		    keepalive_timeout 600s;
		    upstream be {
		        server $(lab_be_ip 1):80;
		        server $(lab_be_ip 2):80;
		        server $(lab_be_ip 3):80;
		        keepalive 64;
		        keepalive_requests 1000000;
		    }
		    server {
		        listen $LAB_LB_IP:445 ssl backlog=1024;
		        ssl_certificate $c;
		        ssl_certificate_key $c;
		        ssl_protocols TLSv1.2 TLSv1.3;
		        ssl_prefer_server_ciphers on;
		        ssl_conf_command Ciphersuites $SUITES;
		        location / {
		            proxy_pass http://be;
		            proxy_http_version 1.1;
		            proxy_set_header Connection "";
		        }
		    }
		}
	EOF
	printf 'wrk.headers["Connection"] = "close"\n' >"$LAB_DIR/close.lua"
}

start_all() {
	lab_start_andromeda "$LAB_DIR/andromeda.conf" || die "andromeda did not start"
	haproxy -c -f "$LAB_DIR/haproxy.cfg" >"$LAB_DIR/haproxy-c.log" 2>&1 || die "haproxy config: $(cat "$LAB_DIR/haproxy-c.log")"
	lab_spawn lb haproxy haproxy -db -f "$LAB_DIR/haproxy.cfg" || die "haproxy"
	lab_exec lb nginx -t -c "$LAB_DIR/nginx.conf" >"$LAB_DIR/nginx-t.log" 2>&1 || die "nginx config: $(cat "$LAB_DIR/nginx-t.log")"
	lab_spawn lb nginx nginx -c "$LAB_DIR/nginx.conf" || die "nginx"
	lab_wait_for 10 lab_all_up 3 || die "andromeda: servers not up"
	if [[ -n "${BASELINE:-}" ]]; then
		mkdir -p "$LAB_DIR/state-base"
		lab_spawn lb andromeda-base "$BASELINE" -c "$LAB_DIR/andromeda-base.conf" || die "baseline"
		lab_wait_for 15 lab_exec client curl -sfk -o /dev/null --max-time 1 "${URL[andromeda-base]}" ||
			die "baseline: no answer at ${URL[andromeda-base]}: $(tail -5 "$LAB_DIR/andromeda-base.log")"
	fi
}

group_cpu_us() { # the CPU time (user + system, us) of the process group a lab pid file names
	local pgid p stat sum=0
	pgid=$(lab_pid "$1") || { echo 0; return 1; }
	for p in /proc/[0-9]*; do
		stat=$(cat "$p/stat" 2>/dev/null) || continue
		stat=${stat##*) }
		# shellcheck disable=SC2086 # split the fields
		set -- $stat
		[[ "$3" == "$pgid" ]] || continue
		sum=$((sum + ${12} + ${13}))
	done
	echo $((sum * 1000000 / $(getconf CLK_TCK)))
}

# run TARGET KIND ROUND: KIND ka (keep-alive) or new (Connection: close).
run() {
	local t=$1 kind=$2 r=$3 script=() cpu0 cpu1
	[[ $kind == new ]] && script=(-s "$LAB_DIR/close.lua")
	cpu0=$(group_cpu_us "$t")
	# wrk's own CPU time: its shell's children's (cutime + cstime) once reaped.
	WRK_OUT=$(lab_exec client sh -c 'timeout 120 "$@" 2>&1; cat /proc/$$/stat >"'"$LAB_DIR/wrk.stat"'"' sh \
		wrk -t1 -c"$CONNS" -d"$DURATION" --latency "${script[@]}" "${URL[$t]}")
	cpu1=$(group_cpu_us "$t")
	echo "$WRK_OUT" >>"$LAB_DIR/wrk.$t.$kind.log"
	bench_wrk_parse
	WRK_CPU=$(awk -v c=$((cpu1 - cpu0)) -v n="${WRK_REQS:-0}" 'BEGIN { printf "%.1f", (n > 0 ? c / n : 0) }')
	WRK_SELF=$(sed 's/.*) //' "$LAB_DIR/wrk.stat" | awk -v n="${WRK_REQS:-0}" -v hz="$(getconf CLK_TCK)" \
		'{ printf "%.1f", (n > 0 ? ($14 + $15) * 1e6 / hz / n : 0) }')
	echo "$t $kind $r ${WRK_RPS:-0} $WRK_P50 $WRK_P99 $WRK_ERRS $WRK_CPU $WRK_SELF" >>"$LAB_DIR/results"
	printf '  round %d  %-14s %-4s %10s req/s  p50 %7s ms  p99 %7s ms  errors %s  CPU us/request %s (wrk %s)\n' \
		"$r" "$t" "$kind" "${WRK_RPS:-?}" "$WRK_P50" "$WRK_P99" "$WRK_ERRS" "$WRK_CPU" "$WRK_SELF"
}

group_pids() { # the pids of the process group a lab pid file names
	local pgid p stat
	pgid=$(lab_pid "$1") || return 1
	for p in /proc/[0-9]*; do
		stat=$(cat "$p/stat" 2>/dev/null) || continue
		stat=${stat##*) }
		# shellcheck disable=SC2086 # split the fields
		set -- $stat
		[[ "$3" == "$pgid" ]] && echo "${p#/proc/}"
	done
}

# syscalls TARGET: strace -c on every thread of TARGET during a bounded wrk
# run of new connections; the calls per connection, most frequent first.
syscalls() {
	local t=$1 spid out=$LAB_DIR/strace.$t.txt reqs p
	local -a ps=()
	for p in $(group_pids "$t"); do ps+=(-p "$p"); done
	strace -c -f -q -o "$out" "${ps[@]}" &
	spid=$!
	sleep 1 # attached
	WRK_OUT=$(lab_exec client timeout 60 wrk -t1 -c"$CONNS" -d"${SYSCALLS_DURATION:-5s}" \
		-s "$LAB_DIR/close.lua" "${URL[$t]}" 2>&1)
	sleep 0.5
	kill -INT "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	bench_wrk_parse
	reqs=${WRK_REQS:-0}
	awk -v t="$t" -v n="$reqs" '
		$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { c = $4; e = (NF == 6 ? $5 : 0)
			total += c
			printf "%s %s %.2f %.2f\n", t, $NF, c / n, e / n }
		END { printf "%s TOTAL %.2f 0\n", t, total / n }' "$out" | sort -k3,3nr >>"$LAB_DIR/syscalls"
	printf '  syscalls  %-14s %d connections under strace:' "$t" "$reqs"
	awk -v t="$t" '$1 == t { printf " %s %s%s", $2, $3, ($4 > 0 ? "(" $4 " err)" : "") }' "$LAB_DIR/syscalls"
	printf '\n'
}

group_rss_kib() { # the RSS of the process group a lab pid file names
	local pgid p stat sum=0 kib
	pgid=$(lab_pid "$1") || { echo 0; return 1; }
	for p in /proc/[0-9]*; do
		stat=$(cat "$p/stat" 2>/dev/null) || continue
		stat=${stat##*) }
		# shellcheck disable=SC2086 # split the fields
		set -- $stat
		[[ "$3" == "$pgid" ]] || continue
		kib=$(awk '/^VmRSS:/ {print $2}' "$p/status" 2>/dev/null)
		sum=$((sum + ${kib:-0}))
	done
	echo "$sum"
}

memory() { # memory TARGET: hold HOLD_CONNS idle TLS connections
	local t=$1 before held
	before=$(group_rss_kib "$t")
	: >"$LAB_DIR/hold.$t.log"
	lab_spawn client "hold-$t" python3 "$TLSC" hold "$LAB_LB_IP" "${PORT[$t]}" "$HOLD_CONNS" 600
	lab_wait_for 300 eval "grep -q '^ready' $LAB_DIR/hold-$t.log" || die "$t: $HOLD_CONNS TLS connections not ready"
	sleep 2
	held=$(group_rss_kib "$t")
	lab_stop "hold-$t" 5
	echo "$t $before $held" >>"$LAB_DIR/memory"
	awk -v t="$t" -v b="$before" -v h="$held" -v n="$HOLD_CONNS" 'BEGIN {
		printf "  memory    %-10s RSS %7d KiB, with %d idle TLS connections %7d KiB: %6.0f B/conn\n", t, b, n, h, (h - b) * 1024 / n }'
}

median() { # median TARGET KIND COLUMN
	awk -v t="$1" -v k="$2" -v col="$3" '$1 == t && $2 == k { print $col }' "$LAB_DIR/results" | bench_median
}
per_conn() { awk -v t="$1" -v n="$HOLD_CONNS" '$1 == t && n > 0 { v = ($3 - $2) * 1024 / n } END { print v + 0 }' "$LAB_DIR/memory"; }

summary() {
	local t k
	{
		printf '\n### HTTPS, wrk -t1 -c%s -d%s, %s rounds alternated (medians)\n\n' "$CONNS" "$DURATION" "$ROUNDS"
		printf 'CPU: %s; AES: %s; PCLMULQDQ/PMULL: %s; %s\n\n' "$(lscpu | sed -n 's/^Model name: *//p')" \
			"$(grep -qw aes /proc/cpuinfo && echo yes || echo no)" \
			"$(grep -qwE 'pclmulqdq|pmull' /proc/cpuinfo && echo yes || echo no)" "$(openssl version)"
		printf '| target | keep-alive req/s | p99 ms | CPU us/request | new connections/s | p99 ms | CPU us/connection | bytes per idle TLS connection |\n'
		printf '|---|---:|---:|---:|---:|---:|---:|---:|\n'
		for t in "${TARGETS[@]}"; do
			printf '| %s | %.0f | %.2f | %.1f | %.0f | %.2f | %.1f | %.0f |\n' "$t" "$(median "$t" ka 4)" "$(median "$t" ka 6)" \
				"$(median "$t" ka 8)" "$(median "$t" new 4)" "$(median "$t" new 6)" "$(median "$t" new 8)" "$(per_conn "$t")"
		done
		printf '\n'
		for t in "${TARGETS[@]}"; do
			[[ $t == andromeda ]] && continue
			for k in $KINDS; do
				awk -v a="$(median andromeda "$k" 4)" -v b="$(median "$t" "$k" 4)" -v t="$t" \
					-v k="$([[ $k == ka ]] && echo keep-alive req/s || echo new connections/s)" \
					'BEGIN { printf "- andromeda/%s %s: %.2f\n", t, k, (b > 0 ? a / b : 0) }'
			done
			((HOLD_CONNS > 0)) && awk -v a="$(per_conn andromeda)" -v b="$(per_conn "$t")" -v t="$t" \
				'BEGIN { printf "- andromeda/%s memory per idle TLS connection: %.2f\n", t, (b > 0 ? a / b : 0) }'
		done
		printf -- '- errors (non-2xx + socket errors, all runs): %s\n' \
			"$(awk '{ e[$1] += $7 } END { for (t in e) printf "%s=%d ", t, e[t] }' "$LAB_DIR/results")"
	} | tee -a "${RESULTS:-/dev/null}"
}

[[ $EUID -eq 0 ]] || die "run as root"
[[ "${NO_INSTALL:-0}" == 1 ]] || bench_install_tools "${PKG_BENCH_PROXY[@]}" || die "cannot install wrk, haproxy, nginx"
bench_require_built "$ANDROMEDA" "$ANDROMEDACTL"
lab_have wrk haproxy nginx jq curl openssl python3 || die "missing tools"

bench_lab
bench_backends
bash "$SRC_DIR/tests/lib/tls_certs.sh" "$LAB_DIR/tls" || die "certificates"
write_confs
start_all
for t in "${TARGETS[@]}"; do
	lab_exec client timeout 5 curl -sfk "${URL[$t]}" >/dev/null || die "$t does not answer at ${URL[$t]}"
	printf '  %-10s %s: %s\n' "$t" "${URL[$t]}" "$(lab_exec client timeout 5 curl -sk -o /dev/null \
		-w '%{http_version} %{response_code}' "${URL[$t]}") $(lab_exec client timeout 5 openssl s_client \
		-connect "$LAB_LB_IP:${PORT[$t]}" </dev/null 2>/dev/null | grep -m1 -o 'TLSv1.3, Cipher is [A-Z0-9_]*')"
done
: >"$LAB_DIR/results"
: >"$LAB_DIR/memory"
for ((r = 1; r <= ROUNDS; r++)); do
	for t in "${TARGETS[@]}"; do
		for k in $KINDS; do
			run "$t" "$k" "$r"
		done
	done
done
lab_status_json | jq -r '.proxy.tls | "  andromeda: \(.handshakes) handshakes, \(.resumed) resumed"' ||
	echo "  andromeda: handshake counters not read"
if [[ "${SYSCALLS:-0}" == 1 ]]; then
	: >"$LAB_DIR/syscalls"
	for t in "${TARGETS[@]}"; do
		syscalls "$t"
	done
fi
if ((HOLD_CONNS > 0)); then
	for t in "${TARGETS[@]}"; do
		memory "$t"
	done
fi
summary
