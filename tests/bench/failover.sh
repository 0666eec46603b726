#!/usr/bin/env bash
# failover.sh - the failover drill (deploy/drill.sh) run against andromeda
# and against keepalived + HAProxy, at the same advert intervals, in one
# invocation.  Two balancers share the VIP; a client probes it every 10 ms
# (new connection each time), with two probes side by side (1 s and 200 ms
# timeouts); the active node is hit ROUNDS times per event:
#
#   kill9     kill -9 of the node's software (andromeda; keepalived and
#             HAProxy together)
#   kill9-ka  kill -9 of keepalived alone, HAProxy left running (keepalived
#             only: andromeda is one process)
#   sigstop   SIGSTOP (frozen, kernel alive: the RFC timeout path)
#   linkdown  ip link set eth0 down in the node's namespace (carrier loss)
#   powercut  the node's cable goes dead (nftables drops every packet and
#             ARP in its namespace, both ways), then its processes die
#             (kill -9; their FIN and resets are dropped too): no priority
#             0, no crash detector, nothing on the wire
#
# Prints per system, interval, event and probe timeout the kill-to-first-
# success min/median/max and the failed probes, and keepalived/andromeda
# ratios.  See tests/bench/README.md.
#
#   sudo bash tests/bench/failover.sh [-n ROUNDS] [-i "100 1000"] [-e EVENTS]
#                                     [-s SYSTEMS] [-t "1000 200"]
#
# -i advert intervals in ms; -e/-s subsets of the events/systems
# (andromeda keepalived); -t probe timeouts in ms.  RESULTS=FILE also
# appends the markdown summary there.  NO_INSTALL=1: no apt-get.
set -u
ROUNDS=5
INTERVALS="100 1000"
EVENTS="kill9 kill9-ka sigstop linkdown powercut"
SYSTEMS="andromeda keepalived"
TIMEOUTS="1000 200 50"
while getopts "n:i:e:s:t:h" opt; do
	case $opt in
	n) ROUNDS=$OPTARG ;;
	i) INTERVALS=$OPTARG ;;
	e) EVENTS=$OPTARG ;;
	s) SYSTEMS=$OPTARG ;;
	t) TIMEOUTS=$OPTARG ;;
	*) sed -n '2,25p' "$0"; exit 2 ;;
	esac
done
[[ "$ROUNDS" =~ ^[0-9]+$ && "$ROUNDS" -ge 1 && "$ROUNDS" -le 50 ]] || { echo "failover: -n takes 1..50" >&2; exit 2; }
for v in $INTERVALS; do
	[[ "$v" =~ ^[1-9][0-9]*0$ && "$v" -le 40950 ]] || { echo "failover: -i takes multiples of 10 ms up to 40950" >&2; exit 2; }
done
for v in $TIMEOUTS; do
	[[ "$v" =~ ^[1-9][0-9]*$ && "$v" -le 10000 ]] || { echo "failover: -t takes 1..10000 ms" >&2; exit 2; }
done

SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
source "$SRC_DIR/tests/bench/lib.sh" # and tests/lib/lab.sh
source "$SRC_DIR/tests/lib/ha.sh"
source "$SRC_DIR/tests/lib/liveness.sh" # live_cut, live_mend: the power cut
HA_EXTRA="preempt = no" # a restarted node stays BACKUP: each round is one takeover
NBE=2

prio() { [[ $1 == 1 ]] && echo 150 || echo 100; }

# ----------------------------------------------------------- probes ----

# probes_start: one probe per timeout, every 10 ms, new connection each;
# bounded by time and count whatever happens to this script.
probes_start() {
	local to bound=$((ROUNDS * 4 * 40000))
	for to in $TIMEOUTS; do
		: >"$LAB_DIR/probe.$to.log"
		lab_spawn client "probe$to" sh -c \
			"exec '$PROBE' $HA_VIP 80 10 $to $bound $((bound / 10)) >'$LAB_DIR/probe.$to.log'" || return 1
	done
}

probes_stop() {
	local to
	for to in $TIMEOUTS; do
		lab_stop "probe$to" 5 >/dev/null
	done
}

# served LOG T NODE: LOG shows NODE answering at or after T.
served() {
	awk -v t="$2" -v n="$3" 'BEGIN { r = 1 } $1 >= t && $2 == "ok" && $3 == n { r = 0; exit } END { exit r }' "$1"
}

# all_served T NODE: every probe shows NODE answering since T.
all_served() {
	local to
	for to in $TIMEOUTS; do
		served "$LAB_DIR/probe.$to.log" "$1" "$2" || return 1
	done
}

# garp_start: every ARP frame on the lab bridge, time-stamped: the first
# gratuitous ARP for the VIP from the new node is when the VIP moved, a
# figure no probe timeout rounds.
garp_start() {
	lab_spawn br garp tcpdump -i br0 -n -e -tt -l arp
	lab_wait_for 5 grep -q 'listening on' "$LAB_DIR/garp.log"
}

# garp_ms T MAC: ms from T to the first gratuitous ARP for the VIP sent
# from MAC: a request "who-has VIP [(target MAC)] tell VIP" (keepalived
# fills the target hardware address, andromeda leaves it zero) or a reply
# "VIP is-at".
garp_ms() {
	awk -v t="$1" -v mac="$2" -v vip="$HA_VIP" '
		BEGIN { gsub(/\./, "\\.", vip); req = "who-has " vip " (\\([0-9a-f:]+\\) )?tell " vip ","; rep = "Reply " vip " is-at" }
		$2 == mac && ($0 ~ req || $0 ~ rep) {
			split($1, a, "."); ms = a[1] * 1000 + int(substr(a[2], 1, 3))
			if (ms >= t) { printf "%d\n", ms - t; exit } }' "$LAB_DIR/garp.log"
}

garp_seen() { [[ -n "$(garp_ms "$1" "$2")" ]]; }

# takeover LOG T NODE: "MS FAILED REASONS" - ms from T to NODE's first good
# answer, failed probes in between and their reasons, counted.
takeover() {
	awk -v t="$2" -v n="$3" '
		$1 >= t && $2 == "ok" && $3 == n { ms = $1 - t; exit }
		$1 >= t && $2 == "fail" { f++; r = $3; for (i = 4; i <= NF; i++) r = r "_" $i; why[r]++ }
		END { s = ""; for (r in why) s = s (s == "" ? "" : ",") why[r] "x" r
		      printf "%s %d %s\n", (ms == "" ? "-" : ms), f, (s == "" ? "-" : s) }' "$1"
}

# ------------------------------------------------------- andromeda ----

an_start() {
	ha_start "$1" "$(prio "$1")" >/dev/null
}

an_up() {
	an_start 1 && ha_wait_role 1 MASTER 5 && an_start 2 && ha_wait_role 2 BACKUP 5
}

an_master() { ha_role_is 1 MASTER && echo 1 || { ha_role_is 2 MASTER && echo 2; }; }

# an_ready M: M is MASTER, the other is BACKUP with its sync session up
# (the crash detector is armed, as in production after start-up).
an_ready() {
	local o=$((3 - $1))
	ha_role_is "$1" MASTER && ha_role_is "$o" BACKUP &&
		[[ "$(ha_ctl "$o" status --json | jq -r .sync.session_up)" == true ]]
}

# an_victims EVENT M: the process groups the event signals on node M.
an_victims() { [[ $1 == linkdown ]] || lab_pid "lb$2"; }

# an_heal EVENT M: bring node M back as BACKUP.
an_heal() {
	case $1 in
	linkdown)
		lab_exec "lb$2" ip link set eth0 up
		ha_wait_role "$2" BACKUP 10
		return
		;;
	sigstop) lab_kill "lb$2" KILL ;; # a frozen node is dead to us
	powercut) live_mend "$2" ;;
	esac
	lab_wait_gone "lb$2" 10 || lab_kill "lb$2" KILL
	lab_wait_gone "lb$2" 5
	an_start "$2" && ha_wait_role "$2" BACKUP 10
}

an_down() {
	lab_stop lb1 10 >/dev/null
	lab_stop lb2 10 >/dev/null
}

# ------------------------------------------------ keepalived+HAProxy ----

# ka_conf I INTERVAL_MS: VRRPv3 (sub-second adverts need it), both nodes
# start BACKUP with nopreempt - the andromeda run's "preempt = no".
ka_conf() {
	cat >"$LAB_DIR/ka$1.conf" <<-EOF
		global_defs {
		    router_id lb$1
		    vrrp_version 3
		}
		vrrp_instance VI_1 {
		    state BACKUP
		    nopreempt
		    interface eth0
		    virtual_router_id 51
		    priority $(prio "$1")
		    advert_int $(awk -v ms="$2" 'BEGIN { printf "%g", ms / 1000 }')
		    virtual_ipaddress {
		        $HA_VIP/24 dev eth0
		    }
		}
	EOF
}

# hap_conf I: HAProxy on node I, bound to the VIP before it holds it
# (ip_nonlocal_bind), round-robin to the same backends, health checks as
# often as andromeda's (500 ms), and a Via naming the node for the probe.
hap_conf() {
	cat >"$LAB_DIR/hap$1.cfg" <<-EOF
		global
		    nbthread 1
		    maxconn 1000
		    pidfile $LAB_DIR/hap$1.pid
		defaults
		    mode http
		    timeout connect 1s
		    timeout client 10s
		    timeout server 10s
		frontend fe
		    bind $HA_VIP:80
		    default_backend be
		backend be
		    balance roundrobin
		    http-response set-header Via "1.1 lb$1"
		    server be1 $(lab_be_ip 1):80 check inter 500ms
		    server be2 $(lab_be_ip 2):80 check inter 500ms
	EOF
}

ka_start() {
	# A killed run leaves its pid files; keepalived would take the
	# (maybe recycled) pids for a running daemon and refuse to start.
	rm -f "$LAB_DIR/ka$1.pid" "$LAB_DIR/ka$1.vrrp.pid"
	echo "=== start $(now_ms)" >>"$LAB_DIR/ka$1.log"
	lab_spawn "lb$1" "ka$1" keepalived --dont-fork --log-console --log-detail --vrrp \
		-f "$LAB_DIR/ka$1.conf" -p "$LAB_DIR/ka$1.pid" -r "$LAB_DIR/ka$1.vrrp.pid"
}

hap_start() {
	lab_spawn "lb$1" "hap$1" haproxy -db -f "$LAB_DIR/hap$1.cfg"
}

# ka_state I: keepalived's last "Entering X STATE" since its last start.
ka_state() {
	lab_alive "ka$1" || return 0
	awk '/^=== start/ { s = "" } match($0, /Entering [A-Z]+ STATE/) { s = substr($0, RSTART + 9, RLENGTH - 15) }
		END { print s }' "$LAB_DIR/ka$1.log"
}
ka_state_is() { [[ "$(ka_state "$1")" == "$2" ]]; }

ka_up() {
	local i
	for i in 1 2; do
		ka_conf "$i" "$1"
		hap_conf "$i"
		lab_exec "lb$i" sysctl -qw net.ipv4.ip_nonlocal_bind=1 || return 1
		haproxy -c -f "$LAB_DIR/hap$i.cfg" >/dev/null || return 1
		hap_start "$i" || return 1
	done
	ka_start 1 && lab_wait_for 5 ka_state_is 1 MASTER && ka_start 2 && lab_wait_for 5 ka_state_is 2 BACKUP
}

ka_master() { ka_state_is 1 MASTER && echo 1 || { ka_state_is 2 MASTER && echo 2; }; }

ka_ready() {
	local o=$((3 - $1))
	ka_state_is "$1" MASTER && ka_state_is "$o" BACKUP && lab_alive "hap$1" && lab_alive "hap$o"
}

# ka_victims EVENT M: keepalived's group (its VRRP child included) and,
# but for kill9-ka, HAProxy's: a crash of the node's software.
ka_victims() {
	case $1 in
	kill9 | sigstop | powercut) lab_pid "ka$2" && lab_pid "hap$2" ;;
	kill9-ka) lab_pid "ka$2" ;;
	esac
}

# ka_heal EVENT M: node M back as BACKUP (keepalived removes a VIP left
# behind by a killed run when it starts, as andromeda does).
ka_heal() {
	case $1 in
	linkdown)
		lab_exec "lb$2" ip link set eth0 up
		lab_wait_for 10 ka_state_is "$2" BACKUP
		return
		;;
	sigstop) lab_kill "ka$2" KILL; lab_kill "hap$2" KILL ;;
	powercut) live_mend "$2" ;;
	esac
	lab_wait_gone "ka$2" 10
	lab_alive "hap$2" || hap_start "$2" || return 1
	ka_start "$2" && lab_wait_for 10 ka_state_is "$2" BACKUP
}

ka_down() {
	lab_stop ka1 10 >/dev/null
	lab_stop ka2 10 >/dev/null
	lab_stop hap1 10 >/dev/null
	lab_stop hap2 10 >/dev/null
}

# -------------------------------------------------------------- drill ----

# epoch_ms: the probe's clock (CLOCK_REALTIME) without a fork, so the time
# of the hit is taken right before it.
epoch_ms() { local us=${EPOCHREALTIME/[.,]/}; echo $((us / 1000)); }

# hit EVENT M PIDS...: the event itself, on node M, as close as a shell
# gets to one instant: builtin kill on process groups resolved beforehand.
hit() {
	local ev=$1 m=$2 p sig
	shift 2
	case $ev in
	kill9* | powercut) sig=KILL ;;
	sigstop) sig=STOP ;;
	linkdown) ip -n "$(lab_ns "lb$m")" link set eth0 down; return ;;
	esac
	for p in "$@"; do
		kill -s "$sig" -- "-$p" 2>/dev/null
	done
	# Reap now, as lab_kill does: no "Killed" notice from bash later.
	[[ $sig == KILL ]] && for p in "$@"; do wait "$p" 2>/dev/null; done
	return 0
}

# round SYS IVL EVENT R: hit the active node, time the takeover on every
# probe, bring the node back.  One line per probe in results.
round() {
	local sys=$1 ivl=$2 ev=$3 r=$4 pfx m o t to out line='' victims garp mac
	pfx=$([[ $sys == andromeda ]] && echo an || echo ka)
	m=$("${pfx}_master") || { echo "  no active node before the round" >&2; return 1; }
	o=$((3 - m))
	lab_wait_for 10 "${pfx}_ready" "$m" || { echo "  lb$o is not ready to take over" >&2; return 1; }
	lab_wait_for 10 all_served "$(now_ms)" "lb$m" || { echo "  lb$m does not serve" >&2; return 1; }
	victims=$("${pfx}_victims" "$ev" "$m") || [[ $ev == linkdown ]] || { echo "  no process to hit on lb$m" >&2; return 1; }
	sleep 0.5
	# powercut: the cable dies at t (nft has committed), the processes
	# right after it.
	[[ $ev == powercut ]] && live_cut "$m"
	t=$(epoch_ms)
	# shellcheck disable=SC2086
	hit "$ev" "$m" $victims
	if ! lab_wait_for 20 all_served "$t" "lb$o"; then
		echo "  $sys $ev: lb$o never served after the hit on lb$m" >&2
		"${pfx}_heal" "$ev" "$m"
		return 1
	fi
	for to in $TIMEOUTS; do
		out=$(takeover "$LAB_DIR/probe.$to.log" "$t" "lb$o")
		echo "$sys $ivl $ev $to $out" >>"$LAB_DIR/results"
		line+=$(awk -v to="$to" '{ printf "  t%-4s %5s ms %3d failed %-28s", to, $1, $2, ($2 ? "(" $3 ")" : "") }' <<<"$out")
	done
	mac=$(ha_mac "$o")
	lab_wait_for 2 garp_seen "$t" "$mac"
	garp=$(garp_ms "$t" "$mac")
	echo "$sys $ivl $ev garp ${garp:--} 0 -" >>"$LAB_DIR/results"
	printf '  %-10s %5s ms %-8s #%d lb%d->lb%d  GARP %5s ms%s\n' "$sys" "$ivl" "$ev" "$r" "$m" "$o" "${garp:--}" "$line"
	"${pfx}_heal" "$ev" "$m" || { echo "  lb$m did not come back as BACKUP" >&2; return 1; }
}

# phase SYS IVL: both nodes up at advert interval IVL ms, every event
# ROUNDS times, both nodes down (VIP released).
phase() {
	local sys=$1 ivl=$2 ev r
	HA_ADVERT=${ivl}ms
	if [[ $sys == andromeda ]]; then
		require "andromeda lb1 MASTER, lb2 BACKUP at ${ivl} ms" an_up
	else
		require "keepalived+HAProxy lb1 MASTER, lb2 BACKUP at ${ivl} ms" ka_up "$ivl"
	fi
	require "probes start" probes_start
	for ev in $EVENTS; do
		[[ $sys == andromeda && $ev == kill9-ka ]] && continue
		for ((r = 1; r <= ROUNDS; r++)); do
			# The round prints its own line; only a failed one adds a FAIL line.
			if round "$sys" "$ivl" "$ev" "$r"; then
				CHECK_PASSED=$((CHECK_PASSED + 1))
			else
				check "$sys ${ivl} ms $ev round $r" false
			fi
		done
	done
	probes_stop
	if [[ $sys == andromeda ]]; then an_down; else ka_down; fi
	# Nothing of this phase may answer for the VIP in the next one.
	for r in 1 2; do
		ha_has_vip "$r" && lab_exec "lb$r" ip addr del "$HA_VIP/24" dev eth0
	done
	return 0
}

# stats SYS IVL EV TO: "n min median max failed" over the rounds (TO: a
# probe timeout, or garp).
stats() {
	awk -v s="$1" -v i="$2" -v e="$3" -v t="$4" '$1 == s && $2 == i && $3 == e && $4 == t && $5 != "-" { print $5, $6 }' \
		"$LAB_DIR/results" | sort -n | awk '
		{ v[NR] = $1; f += $2 }
		END { if (NR == 0) { print 0, "-", "-", "-", 0; exit }
		      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      print NR, v[1], m, v[NR], f }'
}

# median SYS IVL EV TO, and failed probes per failover
median() { stats "$@" | awk '{ print $3 }'; }
failed_per() { stats "$@" | awk '{ if ($1) printf "%.1f\n", $5 / $1; else print "-" }'; }

# row SYS IVL EV: one table row, GARP then every probe timeout.
row() {
	local to
	printf '| %s ms | %s | %s | %s |' "$2" "$3" "$1" "$(stats "$1" "$2" "$3" garp | awk '{ print $2 " / " $3 " / " $4 }')"
	for to in $TIMEOUTS; do
		stats "$1" "$2" "$3" "$to" | awk '{ printf " %s / %s / %s | %.1f |", $2, $3, $4, ($1 ? $5 / $1 : 0) }'
	done
	printf '\n'
}

# ratio LABEL K A: "LABEL K/A (K vs A)" for two numbers.
ratio() {
	awk -v l="$1" -v k="$2" -v a="$3" 'BEGIN {
		if (k == "" || a == "" || k == "-" || a == "-") { printf "%s -", l; exit }
		printf "%s %s (%s vs %s)", l, (a > 0 ? sprintf("%.1fx", k / a) : (k > 0 ? "inf" : "=")), k, a }'
}

ratios() {
	local ivl ev to
	printf '\nkeepalived+HAProxy / andromeda, medians (failed probes: per failover):\n\n'
	for ivl in $INTERVALS; do
		for ev in $EVENTS; do
			[[ $ev == kill9-ka ]] && continue
			printf -- '- %s ms, %s: %s' "$ivl" "$ev" \
				"$(ratio GARP "$(median keepalived "$ivl" "$ev" garp)" "$(median andromeda "$ivl" "$ev" garp)")"
			for to in $TIMEOUTS; do
				printf '; probe %s ms: %s, %s' "$to" \
					"$(ratio time "$(median keepalived "$ivl" "$ev" "$to")" "$(median andromeda "$ivl" "$ev" "$to")")" \
					"$(ratio failed "$(failed_per keepalived "$ivl" "$ev" "$to")" "$(failed_per andromeda "$ivl" "$ev" "$to")")"
			done
			printf '\n'
		done
	done
}

summary() {
	local ivl ev sys to
	printf '\n### Failover: %d rounds per event, probes every 10 ms (new connection each)\n\n' "$ROUNDS"
	printf 'Times in ms from the hit, min / median / max.  GARP: first gratuitous ARP for the VIP from the new node (seen on the bridge).\n\n'
	printf '| advert | event | system | GARP |'
	for to in $TIMEOUTS; do printf ' first success, %s ms probe | failed per failover |' "$to"; done
	printf '\n|---:|---|---|---:|'
	for to in $TIMEOUTS; do printf -- '---:|---:|'; done
	printf '\n'
	for ivl in $INTERVALS; do
		for ev in $EVENTS; do
			for sys in $SYSTEMS; do
				[[ $sys == andromeda && $ev == kill9-ka ]] && continue
				row "$sys" "$ivl" "$ev"
			done
		done
	done
	[[ " $SYSTEMS " == *" andromeda "* && " $SYSTEMS " == *" keepalived "* ]] && ratios
	return 0
}

require "running as root" test "$EUID" -eq 0
if [[ "${NO_INSTALL:-0}" != 1 ]]; then
	require "keepalived and haproxy are installed" bench_install_tools "${PKG_BENCH_FAILOVER[@]}"
fi
require "keepalived and haproxy are available" lab_have keepalived haproxy
ha_setup 2 "$NBE"
require "tcpdump on the lab bridge" garp_start
: >"$LAB_DIR/results"
echo "failover bench: rounds $ROUNDS, adverts ${INTERVALS// /, } ms, events: $EVENTS, probe timeouts: ${TIMEOUTS// /, } ms"
for ivl in $INTERVALS; do
	for sys in $SYSTEMS; do
		phase "$sys" "$ivl"
	done
done
summary | tee -a "${RESULTS:-/dev/null}"
echo
lab_finish
