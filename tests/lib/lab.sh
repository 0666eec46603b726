# lab.sh - network-namespace test lab for integration tests, the demo,
# drills and benches.  Source it; do not execute it.
#
#   source tests/lib/lab.sh
#   lab_init                      # private namespace with a bridge
#   trap lab_teardown EXIT        # the caller registers the teardown
#   lab_host client 198.18.0.100/24
#   lab_spawn be1 be1 "$FAKESRV" -l 198.18.0.21:80 -n be1
#   lab_wait_http client http://198.18.0.21/healthz 5
#   check "backend answers" lab_exec client curl -sf http://198.18.0.21/
#   lab_finish                    # prints "N passed, M failed"; exit 1 if M>0
#
# Safety rules (SPEC "Test lab rules"), enforced here rather than trusted to
# each caller:
#   - every host is a namespace of ours; the bridge lives in a namespace of
#     ours too, so the root namespace gets no link, no address, no route;
#   - addresses are refused outside 198.18.0.0/15 (RFC 2544 benchmarking);
#   - lab_teardown kills only the process groups it spawned (pid files
#     holding pid + start time, so a recycled pid is never killed) and
#     deletes only the namespaces it recorded as created.
#
# Process model: lab_spawn starts "setsid ip netns exec NS cmd" in the
# background.  With job control off the child is not a group leader, so
# setsid(1) does not fork and ip(8) execs the command: the recorded pid IS
# the command, it leads its own process group (apache's children included)
# and it stays a child of the calling shell, so "wait" returns its status.

LAB_SH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=${SRC_DIR:-$(cd "$LAB_SH_DIR/../.." && pwd)}
BUILD_DIR=${BUILD_DIR:-$SRC_DIR/build}
ANDROMEDA=${ANDROMEDA:-$BUILD_DIR/andromeda}
ANDROMEDACTL=${ANDROMEDACTL:-$BUILD_DIR/andromedactl}
FAKESRV=${FAKESRV:-$BUILD_DIR/tests/fakesrv}

LAB_DIR=
LAB_PFX=
LAB_BRNS=
LAB_NLINKS=0
LAB_TORN=0

# lab_have prog... : all programs are installed.
lab_have() {
	local p
	for p in "$@"; do
		command -v "$p" >/dev/null 2>&1 || { lab_log "$p is not installed"; return 1; }
	done
}

lab_log() { printf '[lab %s] %s\n' "$(date +%T.%3N)" "$*" >&2; }

# ---------------------------------------------------------------- asserts --

# check, check_eq, check_le, check_ge and the counts: tests/lib/check.sh.
source "$LAB_SH_DIR/check.sh"

# require "description" cmd... : a check whose failure makes the rest of the
# script meaningless (binary missing, lab not built): count it and finish.
require() {
	check "$@" || lab_finish
}

# Print the closing line and exit: non-zero when anything failed, and also
# when nothing was checked at all (a test that checks nothing cannot fail).
lab_finish() {
	if ((CHECK_FAILED > 0)); then
		lab_dump_logs
	fi
	check_summary || exit 1
	exit 0
}

# Show the tail of every log in the lab dir: what a failed run needs.
lab_dump_logs() {
	[[ -n "$LAB_DIR" && -d "$LAB_DIR" ]] || return 0
	local f
	for f in "$LAB_DIR"/*.log; do
		[[ -s "$f" ]] || continue
		printf -- '--- %s (last 30 lines)\n' "${f##*/}"
		tail -n 30 "$f"
	done
}

# ------------------------------------------------------------ topology ----

# lab_init: create the lab dir and the bridge namespace.  Returns non-zero
# (after cleaning what it made) on failure.
lab_init() {
	if [[ $EUID -ne 0 ]]; then
		lab_log "must run as root (network namespaces)"
		return 1
	fi
	command -v ip >/dev/null || { lab_log "ip(8) not found (iproute2)"; return 1; }
	# pid + 3 random hex digits: unique per run even if a pid is reused while
	# an old lab of the same pid is still being torn down.
	LAB_PFX=${LAB_PFX:-and$$$(printf '%03x' $((RANDOM % 4096)))}
	LAB_DIR=$(mktemp -d "/tmp/andromeda-lab.$LAB_PFX.XXXXXX") || return 1
	mkdir -p "$LAB_DIR/pids"
	: >"$LAB_DIR/netns"
	LAB_BRNS="$LAB_PFX-br"
	# A half-built lab is removed here, whether or not the caller has
	# registered its trap yet.
	if ! lab_bridge_ns; then
		lab_teardown
		return 1
	fi
	lab_log "lab $LAB_PFX in $LAB_DIR"
}

lab_bridge_ns() {
	lab_netns_add "$LAB_BRNS" || return 1
	ip -n "$LAB_BRNS" link add br0 type bridge || return 1
	# No STP, no forwarding delay: ports forward as soon as they are up.
	ip -n "$LAB_BRNS" link set br0 type bridge stp_state 0 forward_delay 0 2>/dev/null
	ip -n "$LAB_BRNS" link set br0 up
}

lab_netns_add() {
	ip netns add "$1" || return 1
	echo "$1" >>"$LAB_DIR/netns"
	ip -n "$1" link set lo up
}

# Is "a.b.c.d/len" inside 198.18.0.0/15 (RFC 2544), with a sane prefix?
lab_addr_ok() {
	local re='^198\.(18|19)\.([0-9]{1,3})\.([0-9]{1,3})/([0-9]{1,2})$'
	[[ "$1" =~ $re ]] || return 1
	((BASH_REMATCH[2] <= 255 && BASH_REMATCH[3] <= 255)) || return 1
	((BASH_REMATCH[4] >= 15 && BASH_REMATCH[4] <= 32))
}

lab_ns() { printf '%s-%s' "$LAB_PFX" "$1"; }

# lab_host NAME IP/PREFIX: a namespace with eth0 on the lab bridge.
lab_host() {
	local name=$1 cidr=$2 ns port
	if ! lab_addr_ok "$cidr"; then
		lab_log "refusing address '$cidr' for $name: only 198.18.0.0/15 is allowed"
		return 1
	fi
	[[ "$name" =~ ^[a-zA-Z0-9_]{1,20}$ ]] || { lab_log "bad host name '$name'"; return 1; }
	ns=$(lab_ns "$name")
	lab_netns_add "$ns" || return 1
	LAB_NLINKS=$((LAB_NLINKS + 1))
	port="p$LAB_NLINKS"
	# Both ends are created inside our namespaces: nothing in the root one.
	ip -n "$LAB_BRNS" link add "$port" type veth peer name eth0 netns "$ns" || return 1
	ip -n "$LAB_BRNS" link set "$port" master br0 up || return 1
	ip -n "$ns" addr add "$cidr" dev eth0 || return 1
	ip -n "$ns" link set eth0 up || return 1
}

# lab_addr NAME IP/PREFIX: an extra address on a host's eth0 (same rule).
lab_addr() {
	lab_addr_ok "$2" || { lab_log "refusing address '$2'"; return 1; }
	ip -n "$(lab_ns "$1")" addr add "$2" dev eth0
}

# lab_exec NAME cmd... : run cmd inside host NAME (foreground).
lab_exec() {
	local ns
	ns=$(lab_ns "$1")
	shift
	ip netns exec "$ns" "$@"
}

# ----------------------------------------------------------- processes ----

lab_starttime() {
	# Field 22 of /proc/PID/stat; the comm field may hold spaces, so cut
	# after the last ')'.
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	set -- $stat
	echo "${20}"
}

# lab_spawn NAME PIDNAME cmd... : start cmd in host NAME in the background,
# output to $LAB_DIR/PIDNAME.log, pid in $LAB_DIR/pids/PIDNAME.  Sets
# LAB_SPAWNED_PID.  A PIDNAME still running is refused.
lab_spawn() {
	local name=$1 pidname=$2 ns pid st
	shift 2
	ns=$(lab_ns "$name")
	if lab_alive "$pidname"; then
		lab_log "$pidname is already running"
		return 1
	fi
	setsid ip netns exec "$ns" "$@" >>"$LAB_DIR/$pidname.log" 2>&1 </dev/null &
	pid=$!
	# The pid file must exist before anything can fail, so teardown finds it
	# even if the start time cannot be read (process already gone).
	st=$(lab_starttime "$pid") || st=0
	echo "$pid $st" >"$LAB_DIR/pids/$pidname"
	LAB_SPAWNED_PID=$pid
}

# lab_pid PIDNAME: print the pid if that process is still the one we started.
lab_pid() {
	local f="$LAB_DIR/pids/$1" pid st now
	[[ -n "$LAB_DIR" && -r "$f" ]] || return 1
	read -r pid st <"$f" || return 1
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	now=$(lab_starttime "$pid") || return 1
	[[ "$st" == 0 || "$st" == "$now" ]] || return 1
	# A zombie child of ours has exited: treat as dead.
	[[ "$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null)" != Z ]] || return 1
	echo "$pid"
}

lab_alive() { lab_pid "$1" >/dev/null; }

# lab_kill PIDNAME [SIG]: signal the process group we started (default
# TERM).  After KILL the child is reaped at once (and quietly: no "Killed"
# job notice from bash on the terminal).
lab_kill() {
	local pid sig=${2:-TERM}
	pid=$(lab_pid "$1") || return 1
	kill -s "$sig" -- "-$pid" 2>/dev/null || kill -s "$sig" "$pid" 2>/dev/null || return 1
	if [[ "$sig" == KILL || "$sig" == 9 ]]; then
		wait "$pid" 2>/dev/null
	fi
	return 0
}

# lab_wait_gone PIDNAME SECONDS: poll until the process has exited.
lab_wait_gone() {
	local deadline=$((SECONDS + ${2:-5}))
	while lab_alive "$1"; do
		((SECONDS < deadline)) || return 1
		sleep 0.05
	done
}

# lab_stop PIDNAME [SECONDS]: SIGTERM, wait for the exit (bounded), then
# SIGKILL if needed.  Returns the process's exit status (124 if it had to
# be killed, 127 if it was not our child or not running).
lab_stop() {
	local pid rc
	pid=$(lab_pid "$1") || return 127
	lab_kill "$1" TERM
	if ! lab_wait_gone "$1" "${2:-10}"; then
		lab_log "$1 (pid $pid) ignored SIGTERM; killing it"
		lab_kill "$1" KILL
		lab_wait_gone "$1" 5
		wait "$pid" 2>/dev/null
		rm -f "$LAB_DIR/pids/$1"
		return 124
	fi
	wait "$pid" 2>/dev/null
	rc=$?
	rm -f "$LAB_DIR/pids/$1"
	return "$rc"
}

# ------------------------------------------------------------- polling ----

lab_now_ms() { echo $(($(date +%s%N) / 1000000)); }

# lab_ms SECONDS: "1", "0.3" or "2.5" seconds in milliseconds.
lab_ms() {
	local int=${1%%.*} frac=
	[[ "$1" == *.* ]] && frac=${1#*.}
	frac=${frac}000
	echo $((10#${int:-0} * 1000 + 10#${frac:0:3}))
}

# lab_wait_for SECONDS cmd... : poll cmd every 50 ms until it succeeds, for
# at most SECONDS (fractions allowed).  This is the general "wait until" of
# the tests: a deadline is how long we are willing to wait for a condition,
# never a claim about how fast it comes; the condition itself is checked
# once more after the deadline.
lab_wait_for() {
	local deadline
	deadline=$(($(lab_now_ms) + $(lab_ms "$1")))
	shift
	until "$@"; do
		if (($(lab_now_ms) >= deadline)); then
			"$@"
			return
		fi
		sleep 0.05
	done
}

# lab_holds SECONDS cmd... : cmd is true at every poll (50 ms) for SECONDS:
# "X does not happen" (a node stays BACKUP, nothing is sent) is checked over
# the whole window, not once after a sleep.
lab_holds() {
	local deadline
	deadline=$(($(lab_now_ms) + $(lab_ms "$1")))
	shift
	while "$@"; do
		(($(lab_now_ms) < deadline)) || return 0
		sleep 0.05
	done
	return 1
}

# lab_wait_http NAME URL [SECONDS]: poll until URL answers 2xx from host NAME.
lab_wait_http() {
	lab_wait_for "${3:-5}" lab_exec "$1" curl -sf -o /dev/null --max-time 1 "$2"
}

# The timeouts on a single attempt (here and in lab_ctl) guard against a
# hang; on a loaded machine starting a program alone can take seconds.
lab_tcp_open() {
	lab_exec "$1" timeout 10 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null
}

# lab_wait_tcp NAME IP PORT [SECONDS]: poll until a TCP connect succeeds.
lab_wait_tcp() {
	lab_wait_for "${4:-5}" lab_tcp_open "$1" "$2" "$3"
}

# ------------------------------------------------------------ teardown ----

# lab_teardown: kill what we spawned, delete the namespaces we created,
# remove the lab dir (kept when LAB_KEEP=1).  Idempotent.
lab_teardown() {
	local f name ns job
	[[ -n "$LAB_DIR" && -d "$LAB_DIR" ]] || return 0
	((LAB_TORN)) && return 0
	LAB_TORN=1
	# Background jobs of this shell (client loops, samplers) are ours too.
	for job in $(jobs -p); do
		kill -TERM "$job" 2>/dev/null
	done
	for f in "$LAB_DIR"/pids/*; do
		[[ -e "$f" ]] || continue
		name=${f##*/}
		lab_kill "$name" TERM
	done
	for f in "$LAB_DIR"/pids/*; do
		[[ -e "$f" ]] || continue
		name=${f##*/}
		lab_wait_gone "$name" 3 || lab_kill "$name" KILL
	done
	if [[ -r "$LAB_DIR/netns" ]]; then
		# Reverse order: hosts first, the bridge namespace last.
		tac "$LAB_DIR/netns" | while read -r ns; do
			[[ -n "$ns" ]] || continue
			ip netns del "$ns" 2>/dev/null || lab_log "could not delete netns $ns"
		done
	fi
	if [[ "${LAB_KEEP:-0}" == 1 ]]; then
		lab_log "keeping $LAB_DIR (LAB_KEEP=1)"
	else
		rm -rf "$LAB_DIR"
	fi
}

# lab_trap: the usual registration (EXIT, and signals turned into exits).
lab_trap() {
	trap lab_teardown EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# ---------------------------------------------- andromeda lab helpers ----
# Shared by the proxy tests, the demo and the bench.

LAB_LB_IP=198.18.0.10
LAB_CLIENT_IP=198.18.0.100

# lab_be_ip I: address of backend I (1-based).
lab_be_ip() { echo "198.18.0.$((20 + $1))"; }

# lab_topology N: client, lb and N backend hosts be1..beN on one /24.
lab_topology() {
	local i
	lab_host client "$LAB_CLIENT_IP/24" || return 1
	lab_host lb "$LAB_LB_IP/24" || return 1
	for ((i = 1; i <= $1; i++)); do
		lab_host "be$i" "$(lab_be_ip "$i")/24" || return 1
	done
}

# lab_fakesrv I [args...]: start fakesrv "beI" on backend I, port 80, its
# POST log in $LAB_DIR/beI.posts.  Requests with hold=1 wait for the lab's
# gate (lab_gate_open).
lab_fakesrv() {
	local i=$1
	shift
	lab_spawn "be$i" "be$i" "$FAKESRV" -l "$(lab_be_ip "$i"):80" -n "be$i" \
		-o "$LAB_DIR/be$i.posts" -g "$LAB_DIR/gate" "$@"
}

# The gate of the fakesrvs: a request with hold=1 stays in flight until it
# opens, so a test holds requests for as long as its checks take, not for a
# delay= the machine may be too slow to fit them in.
lab_gate_open() { touch "$LAB_DIR/gate"; }
lab_gate_close() { rm -f "$LAB_DIR/gate"; }

# lab_fakesrvs N [args...]: start N fakesrvs and wait until each answers.
lab_fakesrvs() {
	local n=$1 i
	shift
	for ((i = 1; i <= n; i++)); do
		lab_fakesrv "$i" "$@" || return 1
	done
	for ((i = 1; i <= n; i++)); do
		lab_wait_tcp client "$(lab_be_ip "$i")" 80 5 || {
			lab_log "fakesrv be$i did not start"
			return 1
		}
	done
}

# lab_servers_conf N [WEIGHT...]: [server beI] sections for N backends.
lab_servers_conf() {
	local n=$1 i w
	shift
	for ((i = 1; i <= n; i++)); do
		w=${1:-1}
		(($# > 0)) && shift
		printf '[server be%d]\naddress = %s:80\nweight = %s\n\n' "$i" "$(lab_be_ip "$i")" "$w"
	done
}

# lab_node_conf [NAME]: the [node] section, everything inside the lab dir.
lab_node_conf() {
	mkdir -p "$LAB_DIR/state"
	printf '[node]\nname = %s\nstate_dir = %s/state\ncontrol_socket = %s/control.sock\n\n' \
		"${1:-lb1}" "$LAB_DIR" "$LAB_DIR"
}

# lab_ctl args... : andromedactl against the lab's control socket.
lab_ctl() {
	timeout 20 "$ANDROMEDACTL" -s "$LAB_DIR/control.sock" "$@"
}

# lab_start_andromeda CONF [SECONDS]: check the config (-t), start the
# daemon in host lb and wait until the listener and control socket answer.
# LAB_THREADS=N adds "threads = N" to the [frontend] of CONF (the proxy tests run
# once more that way, tests/CMakeLists.txt).
lab_start_andromeda() {
	local conf=$1 port
	if [[ -n "${LAB_THREADS:-}" ]] && ! grep -q '^threads' "$conf"; then
		sed -i "s/^\[frontend\]\$/&\nthreads = $LAB_THREADS/" "$conf"
	fi
	if ! timeout 10 "$ANDROMEDA" -t -c "$conf" >>"$LAB_DIR/andromeda-t.log" 2>&1; then
		lab_log "andromeda -t -c $conf rejected the config:"
		cat "$LAB_DIR/andromeda-t.log" >&2
		return 1
	fi
	lab_spawn lb andromeda "$ANDROMEDA" -c "$conf" || return 1
	port=$(sed -n 's/^[[:space:]]*listen[[:space:]]*=[[:space:]]*[0-9.]*:\([0-9]*\).*/\1/p' "$conf" | head -n1)
	if ! lab_wait_tcp client "$LAB_LB_IP" "${port:-80}" "${2:-5}"; then
		lab_log "andromeda is not listening on $LAB_LB_IP:${port:-80}"
		return 1
	fi
	lab_wait_for "${2:-5}" lab_ctl status --json >/dev/null 2>&1 || {
		lab_log "andromedactl status does not answer"
		return 1
	}
}

# lab_status_json: the daemon's status object (empty on failure).
lab_status_json() { lab_ctl status --json 2>/dev/null; }

# lab_server_field NAME FIELD: one field of one server from status --json.
lab_server_field() {
	lab_status_json | jq -r --arg n "$1" --arg f "$2" \
		'.servers[] | select(.name == $n) | .[$f]' 2>/dev/null
}

# lab_server_state_is NAME STATE
lab_server_state_is() { [[ "$(lab_server_field "$1" state)" == "$2" ]]; }

# lab_all_up N: all servers be1..beN report state "up".
lab_all_up() {
	local i
	for ((i = 1; i <= $1; i++)); do
		lab_server_state_is "be$i" up || return 1
	done
}

# lab_stop_andromeda: SIGTERM, and check the exit was clean: status 0 and
# no sanitizer report in its log.
lab_stop_andromeda() {
	local rc
	lab_stop andromeda 15
	rc=$?
	check_eq "andromeda exits 0 on SIGTERM" 0 "$rc"
	check "no sanitizer report in the andromeda log" \
		lab_no_sanitizer_report "$LAB_DIR/andromeda.log"
}

lab_no_sanitizer_report() {
	! grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$1" 2>/dev/null
}

# lab_is_sanitize_build: the binaries under test carry ASan/UBSan.
lab_is_sanitize_build() {
	grep -qs '^CMAKE_BUILD_TYPE:[A-Z]*=Sanitize$' "$BUILD_DIR/CMakeCache.txt"
}

# lab_common_setup N: everything a proxy test needs before its config:
# root, binaries, lab, topology, N fakesrvs.  Finishes the test on failure.
lab_common_setup() {
	local n=$1
	shift
	require "running as root" test "$EUID" -eq 0
	require "andromeda is built ($ANDROMEDA)" test -x "$ANDROMEDA"
	require "andromedactl is built ($ANDROMEDACTL)" test -x "$ANDROMEDACTL"
	require "fakesrv is built ($FAKESRV)" test -x "$FAKESRV"
	require "jq and curl are installed" lab_have jq curl
	lab_trap
	require "lab namespace and bridge" lab_init
	require "lab topology: client, lb, $n backends" lab_topology "$n"
	require "$n fake backends answer" lab_fakesrvs "$n" "$@"
}
