#!/usr/bin/env bash
# test_journal_inflight.sh - issue 15, the seed's bitacora after a
# takeover: the MASTER replicates the ids of its requests in flight and
# their servers (MSG_INFLIGHT, ha/sync_inflight.h); after kill -9 of the
# MASTER, the new one journals them (`andromedactl journal`, event
# "inflight"), so an operator can match them against the backends' logs.
# lb1 (MASTER) and lb2 (BACKUP); four requests with ids of the client's
# (X-Request-Id) are held in flight at the backends (hold=1, the lab's
# gate); lb1 is killed; lb2's journal must list each id at the server lb1
# had sent it to.  Then, with nothing in flight, a takeover journals
# "none in flight".
set -u
source "$(dirname "$0")/../lib/lab.sh"
source "$(dirname "$0")/../lib/ha.sh"

ha_setup 2 2
require "lb1 starts" ha_start 1 150
require "lb2 starts" ha_start 2 100
check "lb1 becomes MASTER" ha_wait_role 1 MASTER 3
check "lb2 is BACKUP" ha_wait_role 2 BACKUP 3
session_up() { [[ "$(ha_ctl 2 status --json | jq -r .sync.session_up)" == true ]]; }
check "lb2 follows lb1 through a sync session" lab_wait_for 5 session_up
check "lb1 serves" lab_wait_for 5 lab_exec client curl -sf --max-time 2 -o /dev/null "http://$HA_VIP/"

lab_gate_close
for i in 1 2 3 4; do
	lab_spawn client "held$i" curl -s --max-time 30 -H "X-Request-Id: held-$i-$LAB_PFX" \
		"http://$HA_VIP/?hold=1"
done
# lb1's routing table: "ID SERVER" of the requests waiting at a server.
routes() { ha_ctl 1 routes --json | jq -r '.[] | select(.server != null and .state != "queued") | "\(.request_id) \(.server)"' | sort; }
four_held() { [[ "$(routes | grep -c "^held-")" == 4 ]]; }
check "lb1 has the four requests in flight at its servers" lab_wait_for 5 four_held
held=$(routes | grep "^held-")
echo "$held" | sed 's/^/# lb1 routes: /'
sleep 0.5 # more than SYNC_INFLIGHT_PERIOD_MS: the list has gone out

lab_kill lb1 KILL
check "lb2 takes over after kill -9 of lb1" ha_wait_role 2 MASTER 3
inflight() { ha_ctl 2 --json journal | jq -r '.[] | select(.event == "inflight") | .detail'; }
journaled_some() { [[ -n "$(inflight)" ]]; }
check "lb2 journals the requests lb1 had in flight" lab_wait_for 3 journaled_some
journaled=$(inflight)
echo "$journaled" | sed 's/^/# lb2 journal: /'
while read -r id srv; do
	check "the journal lists $id at $srv" \
		grep -qE "on $(ha_lb_ip 1) \\(list received [0-9]+ ms before the takeover\\), at $srv: .*\\b$id\\b" <<<"$journaled"
done <<<"$held"
check "andromedactl journal shows them too" grep -q "inflight.*held-1-$LAB_PFX" <<<"$(ha_ctl 2 journal)"
lab_gate_open

# --- nothing in flight: the takeover says so -----------------------------
require "lb1 restarts" ha_start 1 150
check "lb1 preempts" ha_wait_role 1 MASTER 10
check "lb2 follows lb1 again" lab_wait_for 5 session_up
sleep 1.2 # the repeat of an unchanged (empty) list
lab_kill lb1 KILL
check "lb2 takes over again" ha_wait_role 2 MASTER 3
none_journaled() { inflight | grep -q "^none in flight on $(ha_lb_ip 1)"; }
check "lb2 journals that nothing was in flight" lab_wait_for 3 none_journaled
inflight | sed 's/^/# lb2 journal: /'

check "no sanitizer report from lb2" lab_no_sanitizer_report "$LAB_DIR/lb2.log"
lab_finish
