#!/usr/bin/env bash
# soak.sh - the fault soak (issue #7): a namespace lab with 3 balancers and
# 4 backends (fakesrv + andromeda-agent each), a steady client load, and
# random faults for a bounded time:
#
#   every ~EVENT_GAP s one of: kill -9 a backend and restart it, stop an
#   agent (SIGTERM: withdraw) and start it again, flap a balancer's link
#   (ip link set eth0 down/up in its namespace); every ~20 s the MASTER is
#   killed (-9, or SIGTERM) and restarted.
#
# At the end it checks that nothing crashed except what it killed, that the
# three balancers agree on the pool, that there is exactly one MASTER, that
# the RSS of the long-lived processes did not grow beyond the margin
# (tests/soak/README.md), and prints failed requests per failover.
#
#   sudo bash tests/soak/soak.sh [-d SECONDS] [-s SEED] [-g EVENT_GAP]
#     -d  duration of the fault phase, default 600 (10 minutes), 30..7200
#     -s  random seed (default: from the clock; printed, for replays)
#     -g  seconds between events, default 4
#
# Environment: BUILD_DIR (default ./build), LAB_KEEP=1 keeps the logs,
# LAB_THREADS=N runs the balancers with N proxy threads (default 1),
# RSS_MARGIN_KB / RSS_MARGIN_PCT (see README).  Exit 0 when every check
# passed.
set -u
DURATION=600
SEED=$(($(date +%s) % 32768))
EVENT_GAP=4
while getopts "d:s:g:h" opt; do
	case $opt in
	d) DURATION=$OPTARG ;;
	s) SEED=$OPTARG ;;
	g) EVENT_GAP=$OPTARG ;;
	*) sed -n '2,24p' "$0"; exit 2 ;;
	esac
done
[[ "$DURATION" =~ ^[0-9]+$ ]] && ((DURATION >= 30 && DURATION <= 7200)) || { echo "soak: -d takes 30..7200" >&2; exit 2; }
[[ "$SEED" =~ ^[0-9]+$ && "$EVENT_GAP" =~ ^[0-9]+$ ]] && ((EVENT_GAP >= 1)) || { echo "soak: bad -s or -g" >&2; exit 2; }

SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
source "$SRC_DIR/tests/lib/lab.sh"
source "$SRC_DIR/tests/lib/ha.sh"
RANDOM=$SEED
NLB=3
NBE=4
MASTER_EVERY=20        # seconds between MASTER kills
RESTART_DELAY=2        # a killed balancer comes back after this (systemd RestartSec)
WARMUP=10
RSS_MARGIN_PCT=${RSS_MARGIN_PCT:-20}
# Sanitizer builds: a bounded quarantine (freed memory ASan holds back), so
# RSS growth measures leaks plus at most that; LeakSanitizer reports the
# rest at each SIGTERM exit (checked in the logs).
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=16}
if lab_is_sanitize_build; then
	RSS_MARGIN_KB=${RSS_MARGIN_KB:-$(((16 + 4) * 1024))}
else
	RSS_MARGIN_KB=${RSS_MARGIN_KB:-4096}
fi

prio() { echo $((200 - 50 * $1)); } # lb1 150, lb2 100, lb3 50

say() { printf '[soak %s] %s\n' "$(date +%T)" "$*"; }

# ------------------------------------------------------------------ setup --
# shellcheck disable=SC2034 # read by ha_conf (tests/lib/ha.sh)
HA_NSTATIC=0
# shellcheck disable=SC2034
HA_MORE='[registration]\nenabled = yes'
ha_setup "$NLB" "$NBE"
require "andromeda-agent is built" test -x "$AGENT"
for ((i = 1; i <= NLB; i++)); do
	require "lb$i starts" ha_start "$i" "$(prio "$i")"
	((i == 1)) && require "lb1 is MASTER" ha_wait_role 1 MASTER 3
done
for ((i = 1; i <= NBE; i++)); do
	require "agent $i starts" ha_agent "$i"
done
pool_whole() { # I: lbI lists be1..beN, registered and up
	local j
	for ((j = 1; j <= NBE; j++)); do
		ha_servers "$1" | grep -q "^be$j .* registered up$" || return 1
	done
}
for ((i = 1; i <= NLB; i++)); do
	require "lb$i has the 4 registered backends up" lab_wait_for 10 pool_whole "$i"
done

EVENTS="$LAB_DIR/events.log"  # t_start t_end kind target detail
: >"$EVENTS"
: >"$LAB_DIR/crashes"
: >"$LAB_DIR/exits"           # name rc (processes we stopped with SIGTERM)

# --------------------------------------------------------------- the load --
# The probe: a new connection every 10 ms (drill style), bounded in time.
lab_spawn client probe sh -c "exec '$PROBE' $HA_VIP 80 10 1000 $(((DURATION + WARMUP + 120) * 1000)) 2000000 >'$LAB_DIR/probe.log'"
# Keep-alive traffic: 20 requests per connection, bounded in count.
curl_loop() {
	local n=0 max=$(((DURATION + WARMUP + 120) * 10)) t
	while [[ -e "$LAB_DIR/loading" ]] && ((n < max)); do
		t=$(now_ms)
		lab_exec client curl -s -o /dev/null --max-time 3 -w '%{http_code}\n' "http://$HA_VIP/?k=[1-20]" 2>/dev/null |
			awk -v t="$t" '{ print t, $1 }' >>"$LAB_DIR/curl.log"
		n=$((n + 1))
	done
}
touch "$LAB_DIR/loading"
curl_loop &
CURL_LOOP=$!
require "the VIP answers the probe" ha_wait_served_by lb1 5

# --------------------------------------------------------------- watching --
# Expected to be running between events.
procs() {
	local i
	for ((i = 1; i <= NLB; i++)); do echo "lb$i"; done
	for ((i = 1; i <= NBE; i++)); do echo "be$i agent$i"; done
	echo probe
}

# A process that died without being told to: record it (with its status)
# and start it again so the soak goes on.
watch_procs() {
	local p pid rc i
	for p in $(procs); do
		lab_alive "$p" && continue
		read -r pid _ <"$LAB_DIR/pids/$p" 2>/dev/null || pid=
		rc='?'
		[[ -n "$pid" ]] && { wait "$pid" 2>/dev/null; rc=$?; }
		echo "$(now_ms) $p exited unexpectedly (status $rc)" | tee -a "$LAB_DIR/crashes"
		case $p in
		lb*) i=${p#lb}; ha_start "$i" "$(prio "$i")" ;;
		be*) lab_fakesrv "${p#be}" ;;
		agent*) ha_agent "${p#agent}" ;;
		esac
	done
}

current_master() {
	local i
	for ((i = 1; i <= NLB; i++)); do
		lab_alive "lb$i" && ha_role_is "$i" MASTER && { echo "$i"; return 0; }
	done
	return 1
}
one_master() { [[ $(ha_masters "$NLB" | wc -w) == 1 ]]; }
# settled: every balancer runs, exactly one MASTER, and it is the one with
# the highest priority among the nodes that are not FAULT (preemption).
settled() {
	local i
	for ((i = 1; i <= NLB; i++)); do lab_alive "lb$i" || return 1; done
	one_master && [[ "$(current_master)" == 1 ]]
}

# served_by_other T NODE: the probe log shows an answer after T from a
# node other than NODE.
served_by_other() {
	awk -v t="$1" -v n="$2" 'BEGIN { r = 1 } $1 >= t && $2 == "ok" && $3 != n { r = 0 } END { exit r }' \
		"$LAB_DIR/probe.log"
}
first_ok_other_ms() {
	awk -v t="$1" -v n="$2" '$1 >= t && $2 == "ok" && $3 != n { print $1 - t; exit }' "$LAB_DIR/probe.log"
}

event() { echo "$1 $(now_ms) $2 $3 ${4:--}" >>"$EVENTS"; }

# ---------------------------------------------------------------- events --

ev_master() {
	local sig=$1 m t pid rc
	m=$(current_master) || { say "no MASTER: skipping the MASTER event"; return; }
	pid=$(lab_pid "lb$m")
	t=$(now_ms)
	lab_kill "lb$m" "$sig"
	if [[ "$sig" == KILL ]]; then
		# What systemd's ExecStopPost= does after a crash.
		lab_exec "lb$m" "$ANDROMEDA" --release -c "$LAB_DIR/lb$m.conf" >>"$LAB_DIR/release.log" 2>&1
	else
		lab_wait_gone "lb$m" 15 || lab_kill "lb$m" KILL
		wait "$pid" 2>/dev/null
		rc=$?
		echo "lb$m $rc" >>"$LAB_DIR/exits"
	fi
	lab_wait_for 10 served_by_other "$t" "lb$m"
	sleep "$RESTART_DELAY"
	ha_start "$m" "$(prio "$m")" || echo "$(now_ms) lb$m did not restart" >>"$LAB_DIR/crashes"
	lab_wait_for 10 settled
	event "$t" "master-$sig" "lb$m" "first-ok-other=$(first_ok_other_ms "$t" "lb$m")"
}

ev_backend() {
	local i=$((RANDOM % NBE + 1)) t
	t=$(now_ms)
	lab_kill "be$i" KILL
	sleep "$((RANDOM % 2 + 1))"
	lab_fakesrv "$i"
	lab_wait_for 10 pool_whole 1
	event "$t" backend-kill9 "be$i"
}

ev_agent() {
	local i=$((RANDOM % NBE + 1)) t rc
	t=$(now_ms)
	lab_stop "agent$i" 10
	rc=$?
	echo "agent$i $rc" >>"$LAB_DIR/exits"
	sleep "$((RANDOM % 2 + 1))"
	ha_agent "$i"
	lab_wait_for 10 pool_whole 1
	event "$t" agent-restart "agent$i"
}

ev_flap() {
	local i=$((RANDOM % NLB + 1)) t was
	was=$(ha_role "$i")
	t=$(now_ms)
	lab_exec "lb$i" ip link set eth0 down
	sleep "$((RANDOM % 2 + 1))"
	lab_exec "lb$i" ip link set eth0 up
	lab_wait_for 10 settled
	if [[ "$was" == MASTER ]]; then
		event "$t" link-flap-master "lb$i" "first-ok-other=$(first_ok_other_ms "$t" "lb$i")"
	else
		event "$t" link-flap "lb$i" "was=$was"
	fi
}

# --------------------------------------------------------------- warm-up --
say "seed $SEED, duration ${DURATION}s, events every ~${EVENT_GAP}s, MASTER every ${MASTER_EVERY}s; lab $LAB_DIR"
sleep "$WARMUP"
rss_of() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
: >"$LAB_DIR/rss.start"
for p in $(procs); do
	[[ "$p" == lb* || "$p" == agent* ]] || continue
	pid=$(lab_pid "$p") && echo "$p $pid $(rss_of "$pid")" >>"$LAB_DIR/rss.start"
done

# ------------------------------------------------------------ the faults --
start=$SECONDS
last_master=$SECONDS
n=0
while ((SECONDS - start < DURATION)); do
	sleep "$((EVENT_GAP / 2 + RANDOM % (EVENT_GAP + 1)))"
	((SECONDS - start < DURATION)) || break
	watch_procs
	n=$((n + 1))
	if ((SECONDS - last_master >= MASTER_EVERY)); then
		last_master=$SECONDS
		if ((RANDOM % 2)); then ev_master KILL; else ev_master TERM; fi
	else
		case $((RANDOM % 8)) in
		0 | 1 | 2) ev_backend ;;
		3 | 4 | 5) ev_agent ;;
		*) ev_flap ;;
		esac
	fi
	say "event $n: $(tail -n 1 "$EVENTS" | cut -d' ' -f3-)"
done
watch_procs

# ---------------------------------------------------------------- the end --
say "faults over after $((SECONDS - start)) s and $n events; settling"
check "the cluster settles: every balancer up, one MASTER (lb1)" lab_wait_for 15 settled
for ((i = 1; i <= NLB; i++)); do
	check "lb$i lists the 4 registered backends up" lab_wait_for 15 pool_whole "$i"
done
sleep 2
rm -f "$LAB_DIR/loading"
wait "$CURL_LOOP"
# The probe reports the request our SIGTERM interrupts as failed: keep
# only what it logged before.
t_stop=$(now_ms)
lab_stop probe 5 >/dev/null
awk -v t="$t_stop" '$1 < t' "$LAB_DIR/probe.log" >"$LAB_DIR/probe.log.tmp" && mv "$LAB_DIR/probe.log.tmp" "$LAB_DIR/probe.log"

check_eq "exactly one MASTER" 1 "$(ha_masters "$NLB" | wc -w)"
for ((i = 2; i <= NLB; i++)); do
	check_eq "lb$i agrees with lb1 on the pool" "$(ha_servers 1 | paste -sd';')" "$(ha_servers "$i" | paste -sd';')"
done

# RSS of the processes that lived through the whole run (same pid).
while read -r p pid kb0; do
	[[ "$(lab_pid "$p")" == "$pid" ]] || { echo "# $p was restarted: not long-lived"; continue; }
	kb1=$(rss_of "$pid")
	margin=$((RSS_MARGIN_KB > kb0 * RSS_MARGIN_PCT / 100 ? RSS_MARGIN_KB : kb0 * RSS_MARGIN_PCT / 100))
	check_le "$p (pid $pid) RSS growth over the run: $kb0 -> $kb1 kB" $((kb1 - kb0)) "$margin"
done <"$LAB_DIR/rss.start"

# Stop everything; the exits we asked for must be clean.
for ((i = 1; i <= NBE; i++)); do
	lab_stop "agent$i" 10
	echo "agent$i $?" >>"$LAB_DIR/exits"
done
for ((i = 1; i <= NLB; i++)); do
	lab_stop "lb$i" 15
	echo "lb$i $?" >>"$LAB_DIR/exits"
done
check_eq "every SIGTERM'd andromeda and agent exited 0" "" "$(awk '$2 != 0' "$LAB_DIR/exits" | paste -sd' ')"
check_eq "no process died unless killed on purpose" "" "$(paste -sd';' "$LAB_DIR/crashes")"
bad_lines=$(grep -HaE 'ERROR: (Address|Leak|Undefined|Thread)Sanitizer|runtime error:|Assertion .* failed|Segmentation fault|core dumped' \
	"$LAB_DIR"/*.log 2>/dev/null | head -n 5)
check_eq "no sanitizer, assert or segfault line in any log" "" "$bad_lines"

# ---------------------------------------------------------------- report --
# fail_reasons T0 T1: "  [timeout 1, Connection refused 5, status 70]"
# (status: the answer was not a 200, or the connection closed before one).
fail_reasons() {
	awk -v a="$1" -v b="$2" '$1 >= a && $1 <= b && $2 == "fail" { $1 = $2 = ""; sub(/^ +/, ""); n[$0]++ }
		END { s = ""; for (r in n) s = s (s == "" ? "" : ", ") r " " n[r]; if (s != "") printf "  [%s]", s }' \
		"$LAB_DIR/probe.log"
}

report() {
	echo
	echo "== soak report: ${DURATION} s of faults, seed $SEED"
	awk '{ k[$3]++ } END { for (x in k) printf "   %-18s %d\n", x, k[x] }' "$EVENTS" | sort
	printf '   probe (new connection every 10 ms): %d ok, %d failed\n' \
		"$(grep -c ' ok ' "$LAB_DIR/probe.log")" "$(grep -c ' fail ' "$LAB_DIR/probe.log")"
	printf '   keep-alive curl (20 requests per connection): %d ok, %d failed%s\n' \
		"$(awk '$2 == 200' "$LAB_DIR/curl.log" | wc -l)" "$(awk '$2 != 200' "$LAB_DIR/curl.log" | wc -l)" \
		"$(awk '$2 != 200 { n[$2]++ } END { s = ""; for (c in n) s = s (s == "" ? "" : ", ") (c == "000" ? "no answer" : "HTTP " c) " " n[c]; if (s != "") printf "  [%s]", s }' "$LAB_DIR/curl.log")"
	echo
	echo "   per event (t from the start of the faults; failed = probe / keep-alive requests"
	echo "   that failed between the event and the cluster settling again):"
	local t0
	t0=$(head -n 1 "$EVENTS" | cut -d' ' -f1)
	while read -r ts te kind target detail; do
		printf '   +%6.1fs %-17s %-7s %5d ms  failed %3d / %3d  %s%s\n' \
			"$(awk -v a="$ts" -v b="$t0" 'BEGIN { print (a - b) / 1000 }')" "$kind" "$target" $((te - ts)) \
			"$(ha_failed_since "$ts" "$te")" \
			"$(awk -v a="$ts" -v b="$te" '$1 >= a && $1 <= b && $2 != 200' "$LAB_DIR/curl.log" | wc -l)" \
			"${detail/first-ok-other=/kill-to-first-success ms }" "$(fail_reasons "$ts" "$te")"
	done <"$EVENTS"
	echo
	for kind in master-KILL master-TERM link-flap-master; do
		awk -v k="$kind" '$3 == k { split($5, a, "="); if (a[2] != "") print a[2] }' "$EVENTS" | sort -n |
			awk -v k="$kind" '{ v[NR] = $1 } END { if (NR) printf "   %-17s x%-3d kill-to-first-success ms: min %d median %d max %d\n", k, NR, v[1], v[int((NR + 1) / 2)], v[NR] }'
	done
	for kind in master-KILL master-TERM link-flap-master link-flap backend-kill9 agent-restart; do
		awk -v k="$kind" '$3 == k { print $1, $2 }' "$EVENTS" | while read -r a b; do ha_failed_since "$a" "$b"; done |
			awk -v k="$kind" '{ s += $1; if ($1 > m) m = $1; n++ } END { if (n) printf "   %-17s failed probes per event: total %d, max %d over %d events\n", k, s, m, n }'
	done
}
report | tee "$LAB_DIR/report.txt"

# Clients must not see backend or agent events (SPEC "Failure detection":
# re-dispatch), and every failover must end.
quiet=0
while read -r ts te kind _; do
	[[ "$kind" == backend-kill9 || "$kind" == agent-restart || "$kind" == link-flap ]] || continue
	quiet=$((quiet + $(ha_failed_since "$ts" "$te")))
done <"$EVENTS"
check_eq "no failed probe during backend kills, agent restarts and BACKUP link flaps" 0 "$quiet"
check_eq "every MASTER failover ended with an answer from another node within 10 s" "" \
	"$(awk '($3 ~ /^master-/ || $3 == "link-flap-master") && $5 == "first-ok-other=" { print $3, $4 }' "$EVENTS" | paste -sd';')"
# A balancer that holds the VIP must have a usable pool: a 5xx answer means
# one took the VIP (a takeover or a preemption) before it had one.  (curl
# gives the real status; the probe's "status" also counts connections cut
# by a kill -9 before any answer.)  The one exception: a request the MASTER
# holds when its own link goes down can reach no server, and 503 is the
# right answer to it; 5xx in a curl batch (stamped with its start, 3 s at
# most) that overlaps a link-flap-master event are counted apart.
awk 'NR == FNR { if ($3 == "link-flap-master") { s[++n] = $1; e[n] = $2 }; next }
	$2 ~ /^5/ { x = 0; for (i = 1; i <= n; i++) if ($1 >= s[i] - 3000 && $1 <= e[i]) x = 1
		    print (x ? "flap" : "other") }' "$EVENTS" "$LAB_DIR/curl.log" >"$LAB_DIR/5xx"
say "HTTP 5xx while the MASTER's own link was down: $(grep -c flap "$LAB_DIR/5xx")"
check_eq "no other HTTP 5xx answer from the VIP (keep-alive requests)" 0 "$(grep -c other "$LAB_DIR/5xx")"
check_ge "events happened" "$(wc -l <"$EVENTS")" $((DURATION / (EVENT_GAP * 3)))
lab_finish
