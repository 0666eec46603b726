#!/usr/bin/env bash
# journald (issue 14), with a journald of the test's own in a private
# mount namespace (tests/lib/journald.sh):
#   - every daemon line carries its priority: journalctl -p err shows the
#     errors and nothing else, -p warning adds the warnings;
#   - access_log = journal: each request is a journal entry with its
#     fields, found by journalctl REQUEST_ID=...; under load (a burst of
#     parallel requests) entries carry several lines, one REQUEST_ID per
#     line, and each request is still found by its id, none lost; and by
#     its other fields: a batched entry holds every value of its lines
#     (CLIENT, SERVER, STATUS, TERMINATION), and journalctl STATUS=404
#     finds every 404 of the bursts, STATUS=200 every 200; the numbers
#     (bytes, timers) and the path are in its lines, not its fields;
#     wrk at full speed with a new connection per request (passes of
#     more than 256 records, entries cut short by their CLIENTs): every
#     request has one line, none twice.
# The daemon runs as systemd runs a service: stdout and stderr a journal
# stream (systemd-cat), JOURNAL_STREAM naming it.
set -uo pipefail
source "$(dirname "$0")/../lib/journald.sh"
journald_private "$0" "$@"
source "$(dirname "$0")/../lib/lab.sh"

URL="http://$LAB_LB_IP"
lab_common_setup 2
require "systemd-journald and journalctl" lab_have "$JOURNALD" journalctl systemd-cat
require "a private journald runs" journald_start

{
	lab_node_conf lb1
	printf 'log_level = info\n\n'
	printf '[frontend]\nlisten = %s:80\naccess_log = journal\n\n' "$LAB_LB_IP"
	printf '[backend]\nhealth_check = /healthz\nhealth_interval = 200ms\nrise = 1\nfall = 1\n\n'
	lab_servers_conf 2
} >"$LAB_DIR/lb.conf"
require "config is valid" "$ANDROMEDA" -t -c "$LAB_DIR/lb.conf"
# What systemd does for a service with StandardError=journal.
lab_spawn lb andromeda systemd-cat -t andromeda sh -c \
	'JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec "$0" -c "$1"' "$ANDROMEDA" "$LAB_DIR/lb.conf"
require "andromeda listens" lab_wait_tcp client "$LAB_LB_IP" 80 5
require "andromedactl answers" lab_wait_for 5 lab_ctl status --json
check "both servers up" lab_wait_for 5 lab_all_up 2

# --- priorities ------------------------------------------------------------------
lab_kill be2 KILL # a warning: be2 is DOWN
check "be2 goes down" lab_wait_for 5 lab_server_state_is be2 down
printf '[frontend\n' >>"$LAB_DIR/lb.conf" # an error: the reload fails
lab_kill andromeda HUP
has() { jctl -t andromeda "${@:2}" -o cat | grep -q -- "$1"; }
check "the failed reload is in the journal" lab_wait_for 3 has "keeping the running configuration"
check "-p err: the error" has "keeping the running configuration" -p err
check "-p err: no warning" bash -c "! journalctl -D /run/log/journal --no-pager -t andromeda -p err -o cat | grep -q 'is DOWN'"
check "-p err: no info" bash -c "! journalctl -D /run/log/journal --no-pager -t andromeda -p err -o cat | grep -q 'starting: node'"
check "-p warning: the DOWN warning" has "server be2 (198.18.0.22:80) is DOWN" -p warning
check "-p warning: no info" bash -c "! journalctl -D /run/log/journal --no-pager -t andromeda -p warning -o cat | grep -q 'starting: node'"
check "info lines are there at priority 6" has "starting: node lb1" -p info
check "no raw <N> prefix left in a message" bash -c "! journalctl -D /run/log/journal --no-pager -t andromeda -o cat | grep -q '^<[0-9]>'"
# ExecStartPre=andromeda -t with a bad file: FILE:LINE: reason, as an error.
lab_exec lb systemd-cat -t andromeda-t sh -c \
	'JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec "$0" -t -c "$1"' "$ANDROMEDA" "$LAB_DIR/lb.conf"
check "andromeda -t: the bad file is an error in the journal" lab_wait_for 3 bash -c \
	"journalctl -D /run/log/journal --no-pager -t andromeda-t -p err -o cat | grep -q 'lb.conf:[0-9]*: '"
check_eq "an error line has PRIORITY=3" 3 \
	"$(jctl -t andromeda -o json | jq -r 'select(.MESSAGE | test("keeping the running")) | .PRIORITY' | head -n1)"

# --- the access log as journal entries ----------------------------------------------
code=$(lab_exec client curl -s -o /dev/null -w '%{http_code}' -H 'X-Request-Id: jr-1' "$URL/j?x=1")
check_eq "GET answers 200" 200 "$code"
entry() { jctl REQUEST_ID=jr-1 -o json | head -n1; }
check "journalctl REQUEST_ID=jr-1 finds it" lab_wait_for 3 bash -c "journalctl -D /run/log/journal --no-pager REQUEST_ID=jr-1 -o cat | grep -q ' id=jr-1 '"
e=$(entry)
check_eq "STATUS" 200 "$(jq -r .STATUS <<<"$e")"
check_eq "SERVER (be2 is down)" be1 "$(jq -r .SERVER <<<"$e")"
check_eq "METHOD" GET "$(jq -r .METHOD <<<"$e")"
check_eq "PATH" "/j?x=1" "$(jq -r .PATH <<<"$e")"
check_eq "TERMINATION" -- "$(jq -r .TERMINATION <<<"$e")"
check_eq "PRIORITY info" 6 "$(jq -r .PRIORITY <<<"$e")"
check_eq "FRONTEND" "$LAB_LB_IP:80" "$(jq -r .FRONTEND <<<"$e")"
check_eq "ANDROMEDA_LOG tells it from the daemon's lines" access "$(jq -r .ANDROMEDA_LOG <<<"$e")"
check "CLIENT" grep -qE "^$LAB_CLIENT_IP:[0-9]+\$" <<<"$(jq -r .CLIENT <<<"$e")"
check "TIMERS_MS queue/connect/first_byte/total" grep -qE '^0/[0-9]+/[0-9]+/[0-9]+$' <<<"$(jq -r .TIMERS_MS <<<"$e")"
check "the MESSAGE is the line" grep -q ' id=jr-1 .* status=200 ' <<<"$(jq -r .MESSAGE <<<"$e")"
lab_exec client curl -s -o /dev/null "$URL/?n=[1-20]"
check "20 more requests, 20 more entries" lab_wait_for 3 bash -c \
	"(( \$(journalctl -D /run/log/journal --no-pager ANDROMEDA_LOG=access -o cat | wc -l) == 21 ))"


# Under load: more than 32 records in one writer pass go out as entries of
# up to 64 lines.  A burst of 200 parallel requests is one or two passes;
# up to 3 bursts, in case a loaded machine spreads one over many passes.
lines() { journalctl -D /run/log/journal --no-pager ANDROMEDA_LOG=access -o cat | wc -l; }
multi() { jctl ANDROMEDA_LOG=access -o json | jq -r 'select(.REQUEST_ID | type == "array") | .REQUEST_ID[4]' | head -n1; }
want=21
for burst in 1 2 3; do
	lab_exec client curl -s -o /dev/null --parallel --parallel-max 100 "$URL/b?n=[1-200]" \
		-o /dev/null "$URL/e?status=404&n=[1-20]" 2>/dev/null
	want=$((want + 220))
	lab_wait_for 3 bash -c "(( \$(journalctl -D /run/log/journal --no-pager ANDROMEDA_LOG=access -o cat | wc -l) >= $want ))"
	[[ -n "$(multi)" ]] && break
done
check_eq "every request of the bursts has its line" "$want" "$(lines)"
id=$(multi)
check "a burst's entries hold several lines, one REQUEST_ID each" test -n "$id"
check "journalctl REQUEST_ID= finds a request of a batched entry" bash -c \
	"journalctl -D /run/log/journal --no-pager REQUEST_ID=$id -o cat | grep -q ' id=$id .* status=200 '"

# Every other field filters as well: a batched entry holds each value its
# lines have (journald keeps a field name several times per entry, and
# journalctl FIELD=value matches any of them).  --all: a MESSAGE over
# 4 KiB is null in JSON without it.
check "a batched entry holds the CLIENT, SERVER, STATUS, TERMINATION of each of its lines" bash -c \
	"journalctl -D /run/log/journal --no-pager REQUEST_ID=$id -o json --all | jq -e '
	def arr: if type == \"array\" then . else [.] end;
	. as \$e | \$e.MESSAGE | split(\"\\n\") | length > 1 and all(.[];
		capture(\" client=(?<c>[^ ]+) id=(?<i>[^ ]+) .* server=(?<s>[^ ]+) .* status=(?<st>[^ ]+) .* term=(?<t>[^ ]+)\$\") as \$m
		| (\$e.CLIENT | arr | any(. == \$m.c)) and (\$e.REQUEST_ID | arr | any(. == \$m.i))
		and (\$e.SERVER | arr | any(. == \$m.s)) and (\$e.STATUS | arr | any(. == \$m.st))
		and (\$e.TERMINATION | arr | any(. == \$m.t)))' >/dev/null"
check "a batched entry keeps the numbers and the path in its lines (no BYTES_OUT, TIMERS_MS, PATH field)" bash -c \
	"journalctl -D /run/log/journal --no-pager REQUEST_ID=$id -o json --all | jq -e '
	(.MESSAGE | test(\" bytes_out=[0-9]+ .* total_ms=[0-9]+ \")) and .BYTES_OUT == null
	and .TIMERS_MS == null and .PATH == null and .BYTES_IN == null and .RETRIES == null
	and .FRONTEND == \"$LAB_LB_IP:80\" and .METHOD == \"GET\"' >/dev/null"
check "journalctl REQUEST_ID= STATUS= SERVER= finds a batched request" bash -c \
	"journalctl -D /run/log/journal --no-pager -o cat REQUEST_ID=$id STATUS=200 \
		SERVER=\$(journalctl -D /run/log/journal --no-pager REQUEST_ID=$id -o cat | grep -o ' id=$id .*' | grep -o 'server=[^ ]*' | cut -d= -f2) \
		| grep -q ' id=$id '"
n404=$(((want - 21) / 11))
check_eq "journalctl STATUS=404 finds every 404 of the bursts" "$n404" \
	"$(jctl ANDROMEDA_LOG=access STATUS=404 -o cat | grep -c ' status=404 ')"
check_eq "journalctl STATUS=200 finds every 200" "$(jctl ANDROMEDA_LOG=access -o cat | grep -c ' status=200 ')" \
	"$(jctl ANDROMEDA_LOG=access STATUS=200 -o cat | grep -c ' status=200 ')"

# A pass of more than 256 records (wrk at full speed, a new connection and
# so a new CLIENT per request: an entry then fills its 480 fields before
# 256 lines, and the writer carries the rest over to the next entry of
# the pass): every request has exactly one line.  wrk does not count the
# requests it cuts at its end (at most one per connection, logged too).
wrk_out=$(lab_exec client wrk -t1 -c32 -d2s -H 'Connection: close' "$URL/w" 2>&1)
wrk_n=$(awk '/ requests in / { print $1 }' <<<"$wrk_out")
wlines() { jctl ANDROMEDA_LOG=access -o cat | grep -c ' path="/w" '; }
lab_wait_for 5 bash -c "(( \$(journalctl -D /run/log/journal --no-pager ANDROMEDA_LOG=access -o cat | grep -c ' path=\"/w\" ') >= ${wrk_n:-1} ))"
check "wrk: requests completed" test "${wrk_n:-0}" -gt 500
check "wrk: every request has its line (lines $(wlines), wrk counted ${wrk_n:-0} + up to 32 cut)" \
	test "$(wlines)" -ge "${wrk_n:-1}" -a "$(wlines)" -le "$((${wrk_n:-0} + 32))"
check_eq "wrk: no request id twice" 0 \
	"$(jctl ANDROMEDA_LOG=access -o cat | grep ' path="/w" ' | grep -o ' id=[^ ]*' | sort | uniq -d | wc -l)"

# An entry's limits against a real journald: entries of up to 256 lines
# of requests from 1,000 clients, every field's values (sendmsg takes
# 1,024 iovecs, journald 1,023 fields: beyond either the entry is lost),
# sent as the writer sends them (tests/tools/alog_jload).
check "alog_jload: 20,000 requests from 1,000 clients in batched entries" \
	"$BUILD_DIR/tests/alog_jload" -n 20000 -b 256 -c 1000
jload() { jctl FRONTEND=198.18.0.10:83 -o cat | grep -c ' id=5eed'; }
lab_wait_for 5 bash -c "(( \$(journalctl -D /run/log/journal --no-pager FRONTEND=198.18.0.10:83 -o cat | wc -l) >= 20000 ))"
check_eq "every one of them is in the journal" 20000 "$(jload)"
check_eq "found by its CLIENT" 20 "$(jctl CLIENT=198.18.0.100:40999 -o cat | grep -c ' client=198.18.0.100:40999 ')"

lab_stop andromeda 10 >/dev/null
lab_finish
