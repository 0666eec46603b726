#!/usr/bin/env bash
# health_host against a real Apache with two name-based virtual hosts
# (tests/lib/lab-apache.sh): www.example.test is the default vhost and has no
# /healthz (404), api.example.test has one (200).  A check without the
# right Host reaches the default vhost and fails; with it, it passes:
#   1. [server] health_host: that server UP, the same Apache without it DOWN
#      (log: "http status 404");
#   2. [backend] health_host, applied by a reload (SIGHUP): both UP;
#   3. andromeda-agent announces health_host: the registered server comes
#      UP; an agent without it registers a server that stays DOWN;
#   4. a new [registration] key_file: the reload starts a new process.
set -uo pipefail
source "$(dirname "$0")/../lib/lab.sh"
source "$SRC_DIR/tests/lib/lab-apache.sh"

AGENT=${AGENT:-$BUILD_DIR/andromeda-agent}
BE_IP=$(lab_be_ip 1)
BE_IP2=198.18.0.31   # a second address of be1: one agent per service address
INTERVAL=200ms
RIGHT=api.example.test

# apache_start: lab-apache.sh's two vhosts, minus the default one's
# /healthz; started as lab_apache_start does, and waited for on / (200).
apache_start() {
	lab_apache_conf be1 "$BE_IP" || return 1
	sed -i "s/^Listen $BE_IP:80\$/&\nListen $BE_IP2:80/" "$LAB_DIR/be1/httpd.conf"
	rm -f "$LAB_DIR/be1/htdocs/${APACHE_VHOSTS[0]}/healthz"
	"$APACHE_BIN" -t -f "$LAB_DIR/be1/httpd.conf" >"$LAB_DIR/be1/configtest.log" 2>&1 || {
		cat "$LAB_DIR/be1/configtest.log" >&2
		return 1
	}
	lab_spawn be1 apache "$APACHE_BIN" -f "$LAB_DIR/be1/httpd.conf" -DFOREGROUND || return 1
	lab_wait_http be1 "http://$BE_IP/" 10
}

# code HOST PATH: the status Apache gives for PATH with Host HOST.
code() {
	lab_exec client curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H "Host: $1" "http://$BE_IP$2"
}

# write_conf [BACKEND_HOST]
write_conf() {
	{
		lab_node_conf lb1
		printf '[frontend]\nlisten = %s:80\n\n' "$LAB_LB_IP"
		printf '[backend]\nhealth_check = /healthz\nhealth_interval = %s\nrise = 1\nfall = 2\n' "$INTERVAL"
		[[ -n "${1:-}" ]] && printf 'health_host = %s\n' "$1"
		printf '\n[server right]\naddress = %s:80\nhealth_host = %s\n\n' "$BE_IP" "$RIGHT"
		printf '[server plain]\naddress = %s:80\n\n' "$BE_IP"
		printf '[registration]\nenabled = yes\nkey_file = %s\n' "${REG_KEY:-$LAB_DIR/cluster.key}"
	} >"$LAB_DIR/lb.conf"
}

# agent NAME IP [HOST]: an agent on be1 announcing NAME at IP:80 (its own
# check is of /, which the default vhost serves, so it announces either way).
agent() {
	local f="$LAB_DIR/$1.conf"
	{
		printf '[agent]\nname = %s\nservice = %s:80\nhealth_url = http://%s/\n' "$1" "$2" "$2"
		[[ -n "${3:-}" ]] && printf 'health_host = %s\n' "$3"
		printf 'balancers = %s\nannounce_interval = 300ms\nkey_file = %s/cluster.key\n' \
			"$LAB_LB_IP" "$LAB_DIR"
	} >"$f"
	timeout 5 "$AGENT" -t -c "$f" >/dev/null || return 1
	lab_spawn be1 "$1" "$AGENT" -c "$f"
}

# stays NAME STATE SECONDS: NAME is in STATE at every poll for SECONDS.
stays() {
	local end=$(($(date +%s%N) / 1000000 + $3 * 1000))
	while (($(date +%s%N) / 1000000 < end)); do
		lab_server_state_is "$1" "$2" || return 1
		sleep 0.1
	done
}

require "running as root" test "$EUID" -eq 0
require "andromeda is built ($ANDROMEDA)" test -x "$ANDROMEDA"
require "andromeda-agent is built ($AGENT)" test -x "$AGENT"
require "apache2 is installed ($APACHE_BIN)" test -x "$APACHE_BIN"
require "jq and curl are installed" lab_have jq curl
lab_trap
require "lab namespace and bridge" lab_init
require "lab topology: client, lb, be1" lab_topology 1
require "a second address on be1" lab_addr be1 "$BE_IP2/24"
require "Apache with two name-based vhosts on be1" apache_start
require "a cluster key" "$ANDROMEDA" --gen-key "$LAB_DIR/cluster.key"
check_eq "Apache: /healthz of $RIGHT is 200" 200 "$(code "$RIGHT" /healthz)"
check_eq "Apache: /healthz without a known Host (default vhost) is 404" 404 "$(code "$BE_IP" /healthz)"
check_eq "Apache: the same on be1's second address" "404 200" \
	"$(lab_exec client curl -s -o /dev/null -w '%{http_code}' "http://$BE_IP2/healthz") $(lab_exec client curl -s -o /dev/null -w '%{http_code}' "http://$BE_IP2/")"

# --- 1. [server] health_host ---------------------------------------------------
write_conf
require "andromeda starts" lab_start_andromeda "$LAB_DIR/lb.conf"
check "plain (no health_host) goes DOWN" lab_wait_for 5 lab_server_state_is plain down
check "right (health_host = $RIGHT) is UP" lab_server_state_is right up
check "plain stays DOWN and right UP for 2 s (10 checks)" \
	eval 'stays plain down 2 && lab_server_state_is right up'
check "the log says why plain fails: http status 404" \
	grep -q "server plain (.*) check failed: http status 404" "$LAB_DIR/andromeda.log"
check_eq "a client through the balancer reaches the $RIGHT vhost" "be1 $RIGHT" \
	"$(lab_exec client curl -s --max-time 2 -H "Host: $RIGHT" "http://$LAB_LB_IP/")"

# --- 2. [backend] health_host, by reload -------------------------------------
write_conf "$RIGHT"
lab_kill andromeda HUP
check "after a reload with [backend] health_host, plain comes UP" lab_wait_for 5 lab_server_state_is plain up
check "both stay UP for 2 s" eval 'stays plain up 2 && lab_server_state_is right up'

# --- 3. announced by the agent ------------------------------------------------
write_conf
lab_kill andromeda HUP
check "back without the [backend] default, plain goes DOWN again" lab_wait_for 5 lab_server_state_is plain down
require "agent reg-host (health_host = $RIGHT) starts" agent reg-host "$BE_IP" "$RIGHT"
require "agent reg-plain (no health_host) starts" agent reg-plain "$BE_IP2"
check "reg-host is registered and comes UP" lab_wait_for 5 lab_server_state_is reg-host up
check "reg-plain is registered" lab_wait_for 5 eval '[[ -n "$(lab_server_field reg-plain state)" ]]'
check "reg-plain stays DOWN for 2 s" stays reg-plain down 2
check "the balancer logged the announced Host" \
	grep -q "server reg-host (.*) health checks with Host: $RIGHT" "$LAB_DIR/andromeda.log"
check "the agent logged its health_host" grep -q "with Host: $RIGHT, announced" "$LAB_DIR/reg-host.log"

# --- 4. a new [registration] key_file: the reload starts a new process -------
require "a second key" "$ANDROMEDA" --gen-key "$LAB_DIR/cluster2.key"
daemon_pid() { lab_ctl upgrade status --json 2>/dev/null | jq -r .pid; }
old=$(daemon_pid)
REG_KEY=$LAB_DIR/cluster2.key write_conf
lab_kill andromeda HUP
check "the reload names [registration] key_file, applied by a new process" lab_wait_for 5 \
	grep -q "reload: \[registration\] key_file changed: a new process applies it" "$LAB_DIR/andromeda.log"
new_answers() { local p; p=$(daemon_pid) && [[ -n "$p" && "$p" != null && "$p" != "$old" ]]; }
check "a new process ($old replaced) answers" lab_wait_for 10 new_answers
new=$(daemon_pid)
lab_stop reg-host 15
lab_stop reg-plain 15
# The new process is no child of this shell: no exit status to wait for.
kill -TERM "$new"
gone() { ! kill -0 "$new" 2>/dev/null; }
check "andromeda ($new) exits on SIGTERM" lab_wait_for 15 gone
check "no sanitizer report in the andromeda log" lab_no_sanitizer_report "$LAB_DIR/andromeda.log"
lab_finish
