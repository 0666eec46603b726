#!/usr/bin/env bash
# proxy.sh - wrk against one backend directly, andromeda, HAProxy and nginx,
# on the same 3 backends, alternated A B C D for ROUNDS rounds, in one
# invocation.  See tests/bench/README.md.
#
#   sudo bash tests/bench/proxy.sh
#
# Environment: ROUNDS (default 3), DURATION (per run, default 10s), CONNS
# (throughput runs, default "64 512"), LAT_CONNS (latency runs, default 1),
# THREADS (wrk threads, default 1), BACKEND (nginx: a static nginx per
# backend host, the fastest backend we have, so the balancer is what is
# measured; fakesrv: the test backend), RESULTS (also write the markdown
# table to this file), NO_INSTALL=1 (do not apt-get wrk/haproxy/nginx).
set -uo pipefail
source "$(dirname "$0")/../lib/lab.sh"

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
)

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

install_tools() {
	local missing=() p made_policy=0
	for p in wrk haproxy nginx-light jq curl; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	((${#missing[@]} == 0)) && return 0
	# Keep Debian from starting haproxy/nginx as system services.
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
		made_policy=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	local rc=$?
	((made_policy)) && rm -f /usr/sbin/policy-rc.d
	return "$rc"
}

andromeda_conf() {
	{
		lab_node_conf lb1
		printf 'log_level = warning\n\n' # still [node]: nothing per request
		printf '[frontend]\nlisten = %s:80\n\n' "$LAB_LB_IP"
		printf '[backend]\nmaxconn = 1000\nhealth_check = /healthz\nhealth_interval = 1s\n\n'
		lab_servers_conf 3
	} >"$LAB_DIR/andromeda.conf"
}

haproxy_conf() {
	cat >"$LAB_DIR/haproxy.cfg" <<-EOF
		global
		    nbthread 1
		    maxconn 4096
		    pidfile $LAB_DIR/haproxy.pid
		defaults
		    mode http
		    timeout connect 1s
		    timeout client 30s
		    timeout server 10s
		    option http-keep-alive
		    http-reuse always
		frontend fe
		    bind $LAB_LB_IP:81
		    default_backend be
		backend be
		    balance roundrobin
		    server be1 $(lab_be_ip 1):80 check inter 1s
		    server be2 $(lab_be_ip 2):80 check inter 1s
		    server be3 $(lab_be_ip 3):80 check inter 1s
	EOF
}

nginx_conf() {
	mkdir -p "$LAB_DIR/nginx"
	cat >"$LAB_DIR/nginx.conf" <<-EOF
		worker_processes 1;
		daemon off;
		pid $LAB_DIR/nginx.pid;
		error_log $LAB_DIR/nginx.error.log warn;
		events { worker_connections 8192; }
		http {
		    access_log off;
		    client_body_temp_path $LAB_DIR/nginx/body;
		    proxy_temp_path $LAB_DIR/nginx/proxy;
		    fastcgi_temp_path $LAB_DIR/nginx/fastcgi;
		    uwsgi_temp_path $LAB_DIR/nginx/uwsgi;
		    scgi_temp_path $LAB_DIR/nginx/scgi;
		    keepalive_requests 1000000;
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
}

# to_ms VALUE-WITH-UNIT (wrk prints us, ms or s)
# nginx_backend_conf I: a static backend answering "beI" (like fakesrv).
nginx_backend_conf() {
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

to_ms() {
	awk -v v="$1" 'BEGIN {
		if (v ~ /us$/) { sub(/us$/, "", v); print v / 1000 }
		else if (v ~ /ms$/) { sub(/ms$/, "", v); print v + 0 }
		else if (v ~ /s$/) { sub(/s$/, "", v); print v * 1000 }
		else print "nan" }'
}

# run_wrk TARGET CONNS ROUND: one wrk run, one line in results.
run_wrk() {
	local t=$1 c=$2 r=$3 out rps p50 p99 errs
	out=$(lab_exec client timeout 120 wrk -t"$THREADS" -c"$c" -d"$DURATION" --latency "${URL[$t]}" 2>&1)
	echo "$out" >>"$LAB_DIR/wrk.$t.c$c.log"
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
	p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
	errs=$(awk '/Non-2xx or 3xx responses:/ {n += $NF} /Socket errors:/ {gsub(/[^0-9 ]/, " "); for (i = 1; i <= NF; i++) n += $i} END {print n + 0}' <<<"$out")
	printf '%s %s %s %s %s %s %s\n' "$t" "$c" "$r" "${rps:-0}" "$p50" "$p99" "$errs" >>"$LAB_DIR/results"
	printf '  round %d  %-10s c=%-3s %10s req/s  p50 %7s ms  p99 %7s ms  errors %s\n' \
		"$r" "$t" "$c" "${rps:-?}" "$p50" "$p99" "$errs"
}

# median of the values in column COL for TARGET/CONNS
median() {
	awk -v t="$1" -v c="$2" -v col="$3" '$1 == t && $2 == c { print $col }' "$LAB_DIR/results" |
		sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

summary() {
	local t c
	{
		printf '\n### wrk -t%s -d%s, %s rounds alternated (medians)\n\n' "$THREADS" "$DURATION" "$ROUNDS"
		printf '| target |'
		for c in $CONNS $LAT_CONNS; do
			printf ' c=%s req/s | c=%s p50 ms | c=%s p99 ms |' "$c" "$c" "$c"
		done
		printf '\n|---|'
		for c in $CONNS $LAT_CONNS; do
			printf -- '---:|---:|---:|'
		done
		printf '\n'
		for t in "${TARGETS[@]}"; do
			printf '| %s |' "$t"
			for c in $CONNS $LAT_CONNS; do
				printf ' %.0f | %.3f | %.3f |' "$(median "$t" "$c" 4)" "$(median "$t" "$c" 5)" "$(median "$t" "$c" 6)"
			done
			printf '\n'
		done
		printf '\n'
		for t in haproxy nginx; do
			for c in $CONNS $LAT_CONNS; do
				awk -v a="$(median andromeda "$c" 4)" -v b="$(median "$t" "$c" 4)" \
					-v pa="$(median andromeda "$c" 6)" -v pb="$(median "$t" "$c" 6)" -v t="$t" -v c="$c" \
					'BEGIN { printf "- andromeda/%s at c=%s: req/s ratio %.2f, p99 ratio %.2f\n", t, c, (b > 0 ? a / b : 0), (pb > 0 ? pa / pb : 0) }'
			done
		done
		printf -- '- errors (non-2xx + socket errors, all runs): %s\n' \
			"$(awk '{ e[$1] += $7 } END { for (t in e) printf "%s=%d ", t, e[t] }' "$LAB_DIR/results")"
	} | tee -a "${RESULTS:-/dev/null}"
}

[[ $EUID -eq 0 ]] || die "run as root"
[[ "${NO_INSTALL:-0}" == 1 ]] || install_tools || die "cannot install wrk, haproxy, nginx"
for b in "$ANDROMEDA" "$ANDROMEDACTL" "$FAKESRV"; do
	[[ -x "$b" ]] || die "$b is not built (cmake -S . -B build && make -C build)"
done
lab_have wrk haproxy nginx jq curl || die "missing tools"

lab_init || die "cannot create the lab"
lab_trap
lab_topology 3 || die "lab topology"
if [[ $BACKEND == nginx ]]; then
	for i in 1 2 3; do
		nginx_backend_conf "$i"
		lab_spawn "be$i" "be$i" nginx -c "$LAB_DIR/be$i-nginx.conf" || die "nginx backend be$i"
	done
	for i in 1 2 3; do
		lab_wait_tcp client "$(lab_be_ip "$i")" 80 5 || die "nginx backend be$i does not answer"
	done
else
	lab_fakesrvs 3 || die "fakesrv backends"
fi
andromeda_conf
haproxy_conf
nginx_conf
lab_start_andromeda "$LAB_DIR/andromeda.conf" || die "andromeda did not start"
haproxy -c -f "$LAB_DIR/haproxy.cfg" >/dev/null || die "haproxy config"
lab_spawn lb haproxy haproxy -db -f "$LAB_DIR/haproxy.cfg" || die "haproxy"
lab_exec lb nginx -t -c "$LAB_DIR/nginx.conf" >"$LAB_DIR/nginx-t.log" 2>&1 || die "nginx config: $(cat "$LAB_DIR/nginx-t.log")"
lab_spawn lb nginx nginx -c "$LAB_DIR/nginx.conf" || die "nginx"
lab_wait_for 10 lab_server_state_is be3 up || die "andromeda: servers not up"

# Every target answers with a backend name; the proxies spread over all 3.
for t in "${TARGETS[@]}"; do
	lab_wait_http client "${URL[$t]}" 10 || die "$t does not answer at ${URL[$t]}"
	names=$(lab_exec client timeout 10 curl -s "${URL[$t]}?n=[1-30]" | sort -u | paste -sd, -)
	printf '  %-10s %-28s answers: %s\n' "$t" "${URL[$t]}" "$names"
done

: >"$LAB_DIR/results"
for ((r = 1; r <= ROUNDS; r++)); do
	for c in $CONNS; do
		for t in "${TARGETS[@]}"; do
			run_wrk "$t" "$c" "$r"
		done
	done
	for t in "${TARGETS[@]}"; do
		run_wrk "$t" "$LAT_CONNS" "$r"
	done
done
summary
