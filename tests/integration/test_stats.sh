#!/usr/bin/env bash
# test_stats.sh - issue #14: the [stats] listener in the lab.  Two
# balancers (lb1 MASTER with basic auth, lb2 BACKUP without), two backends.
#   - basic auth: 401 without or with wrong credentials, 200 with them;
#   - GET /metrics: `promtool check metrics` finds nothing to report, the
#     counters move with traffic through the VIP, the VRRP families say
#     who is MASTER;
#   - GET /status.json is `andromedactl status --json` (timing fields aside);
#   - GET /: a headless Chromium loads the page from the client host, its
#     DOM has one row per server with its state; the screenshot is kept in
#     $BUILD_DIR/test-artifacts/stats-page.png;
#   - andromedactl status (human) leads with the role and hides zero drop
#     counters unless -v.
set -u
source "$(dirname "$0")/../lib/lab.sh"
source "$(dirname "$0")/../lib/ha.sh"

HA_ADVERT=100ms
PORT=8404
USERPASS=stats:s3cret-pw
ARTIFACTS=$BUILD_DIR/test-artifacts

ha_setup 2 2
LB1=$(ha_lb_ip 1) LB2=$(ha_lb_ip 2)
require "promtool and chromium are installed" lab_have promtool chromium
printf '%s\n' "$USERPASS" >"$LAB_DIR/stats.auth"
chmod 0600 "$LAB_DIR/stats.auth"

HA_MORE="[stats]\nlisten = $LB1:$PORT\nauth_file = $LAB_DIR/stats.auth\n"
require "lb1 starts (stats with basic auth)" ha_start 1 150
HA_MORE="[stats]\nlisten = $LB2:$PORT\n"
require "lb2 starts (stats without auth)" ha_start 2 100
require "lb1 is MASTER" ha_wait_role 1 MASTER 5
require "lb2 is BACKUP" ha_wait_role 2 BACKUP 5

# get URL [curl args]: body of a GET from the client host.
get() { lab_exec client curl -s --max-time 5 "$@"; }
code() { lab_exec client curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$@"; }
scrape1() { get -u "$USERPASS" "http://$LB1:$PORT/metrics"; }
scrape2() { get "http://$LB2:$PORT/metrics"; }
# metric FILE NAME{LABELS}: the value of one sample ("" when absent).
metric() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }

# --- basic auth ---------------------------------------------------------
check_eq "lb1 /metrics without credentials: 401" 401 "$(code "http://$LB1:$PORT/metrics")"
check_eq "lb1 /metrics with a wrong password: 401" 401 "$(code -u stats:wrong "http://$LB1:$PORT/metrics")"
check_eq "lb1 /metrics with the credentials: 200" 200 "$(code -u "$USERPASS" "http://$LB1:$PORT/metrics")"
check_eq "lb1 /: 401 without credentials too" 401 "$(code "http://$LB1:$PORT/")"
check "lb1 logs the refusal once, with the client" \
	grep -q "stats: refused a request from $LAB_CLIENT_IP: no credentials (1 refused so far)" "$LAB_DIR/lb1.log"
check_eq "... and not once per request" 1 "$(grep -c 'stats: refused a request' "$LAB_DIR/lb1.log")"
check_eq "lb2 (no auth_file) answers without credentials" 200 "$(code "http://$LB2:$PORT/metrics")"
check_eq "an unknown path: 404" 404 "$(code "http://$LB2:$PORT/nope")"
check_eq "POST: 405" 405 "$(code -X POST "http://$LB2:$PORT/metrics")"
check "Content-Type is the 0.0.4 text format" bash -c \
	"ip netns exec $(lab_ns client) curl -sI http://$LB2:$PORT/metrics | grep -qi '^Content-Type: text/plain; version=0.0.4'"

# --- /metrics ---------------------------------------------------------------
lab_wait_for 5 lab_exec client curl -sf -o /dev/null "http://$HA_VIP/"
scrape1 >"$LAB_DIR/m0.txt"
promtool check metrics <"$LAB_DIR/m0.txt" >"$LAB_DIR/promtool.txt" 2>&1
rc=$?
check_eq "promtool check metrics: exit 0" 0 "$rc"
check_eq "promtool check metrics: nothing reported" "" "$(cat "$LAB_DIR/promtool.txt")"
scrape2 | promtool check metrics >"$LAB_DIR/promtool2.txt" 2>&1
check_eq "promtool on lb2's metrics too (exit $?)" "" "$(cat "$LAB_DIR/promtool2.txt")"

check_eq "lb1: andromeda_vrrp_state 2 (MASTER)" 2 "$(metric "$LAB_DIR/m0.txt" 'andromeda_vrrp_state{instance="ha"}')"
scrape2 >"$LAB_DIR/n0.txt"
check_eq "lb2: andromeda_vrrp_state 1 (BACKUP)" 1 "$(metric "$LAB_DIR/n0.txt" 'andromeda_vrrp_state{instance="ha"}')"
check_eq "lb1: priority 150" 150 "$(metric "$LAB_DIR/m0.txt" 'andromeda_vrrp_priority{instance="ha"}')"
check_ge "lb1 has sent adverts" "$(metric "$LAB_DIR/m0.txt" 'andromeda_vrrp_adverts_sent_total{instance="ha"}')" 1
check_ge "lb2 has received adverts" "$(metric "$LAB_DIR/n0.txt" 'andromeda_vrrp_adverts_received_total{instance="ha"}')" 1
check_eq "lb1: both servers up" 2 "$(metric "$LAB_DIR/m0.txt" 'andromeda_backend_servers{state="up"}')"
check_eq "lb1: be1's status up" 1 "$(metric "$LAB_DIR/m0.txt" 'andromeda_server_status{server="be1",state="up"}')"
check_ge "lb1: open descriptors counted" "$(metric "$LAB_DIR/m0.txt" andromeda_process_open_fds)" 5
check_ge "lb1: resident memory counted" "$(metric "$LAB_DIR/m0.txt" andromeda_process_resident_memory_bytes)" 100000

N=10
for ((i = 0; i < N; i++)); do
	lab_exec client curl -sf --max-time 2 -o /dev/null "http://$HA_VIP/"
done
scrape1 >"$LAB_DIR/m1.txt"
# delta NAME: how much a sample grew between the two scrapes.
delta() { echo $(($(metric "$LAB_DIR/m1.txt" "$1") - $(metric "$LAB_DIR/m0.txt" "$1"))); }
check_eq "frontend requests grew by $N" "$N" "$(delta andromeda_frontend_requests_total)"
check_eq "frontend 2xx responses grew by $N" "$N" "$(delta 'andromeda_frontend_http_responses_total{code="2xx"}')"
check_eq "each server got half" $((N / 2)) "$(delta 'andromeda_server_requests_total{server="be1"}')"
check_eq "... be2 too" $((N / 2)) "$(delta 'andromeda_server_requests_total{server="be2"}')"
check_eq "be1's response-time summary counted them" $((N / 2)) \
	"$(delta 'andromeda_server_response_time_seconds_count{server="be1"}')"
check_eq "the backend's histogram: every one within 10 s" "$N" \
	"$(delta 'andromeda_backend_response_time_seconds_bucket{le="10"}')"
check_ge "frontend bytes out grew" "$(delta andromeda_frontend_bytes_out_total)" $((N * 50))
check_ge "be1's bytes out grew" "$(delta 'andromeda_server_bytes_out_total{server="be1"}')" $((N / 2 * 20))
check_ge "frontend connections grew by $N" "$(delta andromeda_frontend_connections_total)" "$N"

# --- /status.json = andromedactl status --json ------------------------------
# What moves between two reads a few ms apart: the liveness and sync clocks
# and counters, the adverts.
NORM='walk(if type == "object" then del(.last_seen_ms, .last_snapshot_ms, .adverts_sent,
	.adverts_received, .snapshots_sent, .deltas_sent, .snapshots_applied, .deltas_applied,
	.requests_served) else . end) | del(.sync.liveness.sent, .sync.liveness.received)'
same_status() { # NODE URL [curl args]
	local a b
	a=$(ha_ctl "$1" status --json | jq -S "$NORM") || return 1
	b=$(get "${@:3}" "$2" | jq -S "$NORM") || return 1
	[[ -n "$a" && "$a" == "$b" ]] || { diff <(echo "$a") <(echo "$b") >&2; return 1; }
}
check "lb1 /status.json = andromedactl status --json" \
	lab_wait_for 5 same_status 1 "http://$LB1:$PORT/status.json" -u "$USERPASS"
check "lb2 /status.json = andromedactl status --json" \
	lab_wait_for 5 same_status 2 "http://$LB2:$PORT/status.json"
check_eq "status.json has the instances (SPEC)" '{"name":"ha","vrid":51,"role":"MASTER","priority":150,"base_priority":150,"vips":["198.18.0.10/24"],"vip_held":true}' \
	"$(get -u "$USERPASS" "http://$LB1:$PORT/status.json" | jq -c '.instances[0] | {name, vrid, role, priority, base_priority, vips, vip_held}')"

# --- the page in a real browser --------------------------------------------
mkdir -p "$ARTIFACTS"
rm -f "$ARTIFACTS/stats-page.png"
browse() { # chromium ARGS... URL, from the client host, bounded
	lab_exec client timeout 60 chromium --headless --no-sandbox --disable-gpu \
		--user-data-dir="$LAB_DIR/chromium" --no-first-run --disable-extensions "$@" 2>>"$LAB_DIR/chromium.log"
}
browse --dump-dom "http://$LB2:$PORT/" >"$LAB_DIR/dom.html"
check "the browser loaded the page" grep -q '<h1>andromeda: lb2</h1>' "$LAB_DIR/dom.html"
check_eq "one server row per server" 2 "$(grep -c '<tr class="row [a-z]*"><td class="name">be[0-9]</td>' "$LAB_DIR/dom.html")"
for i in 1 2; do
	check "be$i's row: name, address, state up" grep -q \
		"<tr class=\"row up\"><td class=\"name\">be$i</td><td class=\"address\">$(lab_be_ip "$i"):80</td><td class=\"source\">static</td><td class=\"state\">up</td>" \
		"$LAB_DIR/dom.html"
done
check "the instance row says BACKUP" grep -q '<tr class="row BACKUP"><td class="name">ha</td>' "$LAB_DIR/dom.html"
check "the page refreshes itself" grep -q '<meta http-equiv="refresh" content="2">' "$LAB_DIR/dom.html"
check "the peer lb1 is listed" grep -q '<td class="name">lb1</td>' "$LAB_DIR/dom.html"
browse --screenshot="$ARTIFACTS/stats-page.png" --window-size=1100,900 "http://$LB2:$PORT/" >/dev/null
check "screenshot kept: $ARTIFACTS/stats-page.png" test -s "$ARTIFACTS/stats-page.png"
# A drained server shows as such, after the page's refresh.
ha_ctl 1 drain be2 >/dev/null
drained_row() {
	browse --dump-dom "http://$LB2:$PORT/" | grep -q '<tr class="row drain"><td class="name">be2</td>'
}
check "be2 drained on lb1: lb2's page shows it (replicated)" lab_wait_for 10 drained_row
ha_ctl 1 enable be2 >/dev/null

# --- andromedactl status for a person -------------------------------------
human=$(ha_ctl 1 status)
sed 's/^/# /' <<<"$human"
check "status (human) starts with the node" grep -q '^node: *lb1 (andromeda ' <<<"$human"
check "... then the role, priority and VIP" grep -q '^role: *MASTER, priority 150, holds the VIPs' <<<"$human"
check "... the server table" grep -qE '^  be1 +198\.18\.0\.21:80 +static +up' <<<"$human"
check "zero drop counters are not shown" bash -c "! grep -q 'bad_mac=0' <<<'$human'"
check "-v shows them" grep -q 'bad_mac=0' <<<"$(ha_ctl 1 status -v)"

for i in 1 2; do
	lab_stop "lb$i" 10
	check_eq "lb$i exits 0 on SIGTERM" 0 "$?"
	check "no sanitizer report from lb$i" lab_no_sanitizer_report "$LAB_DIR/lb$i.log"
done
lab_finish
