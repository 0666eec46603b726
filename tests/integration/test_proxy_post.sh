#!/usr/bin/env bash
# Non-idempotent requests are never delivered twice: POSTs (Content-Length
# and chunked) and PUTs through the proxy are delivered exactly once; a POST
# in flight to a backend that is killed with kill -9 gets 502 and its body
# reaches no other backend.
set -uo pipefail
source "$(dirname "$0")/../lib/lab.sh"

URL="http://$LAB_LB_IP"
NPOST=30

write_conf() {
	{
		lab_node_conf lb1
		printf '[frontend]\nlisten = %s:80\n\n' "$LAB_LB_IP"
		# server_timeout: the held POST (hold=1) must still be in flight when
		# its backend is killed, however long the test takes to get there.
		printf '[backend]\nconnect_timeout = 500ms\nserver_timeout = 60s\nretries = 2\n'
		printf 'health_check = /healthz\nhealth_interval = 200ms\nrise = 2\nfall = 2\n\n'
		lab_servers_conf 3
	} >"$LAB_DIR/lb.conf"
}

# Lines of all backend logs for test id $1 (fakesrv logs "NAME METHOD ID BYTES").
deliveries() { cat "$LAB_DIR"/be*.posts 2>/dev/null | awk -v id="$1" '$3 == id'; }
ndeliveries() { deliveries "$1" | wc -l; }
delivered() { (($(ndeliveries "$1") >= 1)); }

lab_common_setup 3
write_conf
require "andromeda starts" lab_start_andromeda "$LAB_DIR/lb.conf"
check "all 3 servers up" lab_wait_for 5 lab_all_up 3

# --- normal POSTs and PUTs: exactly once each -------------------------------
head -c 1000 /dev/urandom >"$LAB_DIR/body.1k"
ok=0
for ((i = 1; i <= NPOST; i++)); do
	case $((i % 3)) in
	0) args=(--data-binary "@$LAB_DIR/body.1k") ;;                                   # Content-Length
	1) args=(-H 'Transfer-Encoding: chunked' --data-binary "@$LAB_DIR/body.1k") ;;   # chunked
	2) args=(-X PUT --data-binary "@$LAB_DIR/body.1k") ;;                            # PUT
	esac
	out=$(lab_exec client timeout 10 curl -s -H "X-Test-Id: post-$i" "${args[@]}" "$URL/upload")
	[[ "$out" =~ ^be[123]\ got\ 1000\ bytes$ ]] && ok=$((ok + 1))
done
check_eq "$NPOST POST/PUT answered 'beN got 1000 bytes'" "$NPOST" "$ok"
once=0
for ((i = 1; i <= NPOST; i++)); do
	[[ "$(ndeliveries "post-$i")" -eq 1 ]] && once=$((once + 1))
done
check_eq "each of the $NPOST bodies delivered exactly once" "$NPOST" "$once"
check_eq "every delivery carried 1000 bytes" 0 \
	"$(cat "$LAB_DIR"/be*.posts | awk '$3 ~ /^post-/ && $4 != 1000' | wc -l)"

# --- POST in flight to a backend killed with kill -9 -------------------------
# The backend logs the body as soon as it has read it, then holds the answer
# (hold=1) until the gate opens, which it never does: it is killed first,
# however long the test takes to see the delivery.
lab_gate_close
lab_exec client timeout 60 curl -s -o "$LAB_DIR/inflight.body" -w '%{http_code}' \
	-H 'X-Test-Id: inflight-1' --data-binary "@$LAB_DIR/body.1k" \
	"$URL/upload?hold=1" >"$LAB_DIR/inflight.code" &
client=$!
check "the in-flight POST reached a backend" lab_wait_for 30 delivered inflight-1
victim=$(deliveries inflight-1 | awk '{print $1; exit}')
if [[ "$victim" =~ ^be[123]$ ]]; then
	check "kill -9 $victim while it holds the POST" lab_kill "$victim" KILL
else
	check "found the backend holding the POST (got '$victim')" false
fi
wait "$client"
check_eq "client gets 502 for the POST whose backend died" 502 "$(cat "$LAB_DIR/inflight.code")"
# A re-dispatch would have happened before the 502 (the balancer answers
# only when it gives up), and been logged on arrival.
check_eq "the killed POST was delivered once, never re-sent" 1 "$(ndeliveries inflight-1)"
check "the dead server leaves rotation" lab_wait_for 5 lab_server_state_is "${victim:-be1}" down

# The balancer goes on: POSTs still delivered once, to the survivors.
ok=0
for ((i = 1; i <= 6; i++)); do
	out=$(lab_exec client timeout 10 curl -s -H "X-Test-Id: after-$i" \
		--data-binary "@$LAB_DIR/body.1k" "$URL/upload")
	[[ "$out" == *" got 1000 bytes" && "$out" != "$victim "* ]] && \
		[[ "$(ndeliveries "after-$i")" -eq 1 ]] && ok=$((ok + 1))
done
check_eq "6 POSTs after the failure delivered once each, to survivors" 6 "$ok"

lab_stop_andromeda
lab_finish
