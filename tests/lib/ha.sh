# ha.sh - HA lab helpers on top of lab.sh: balancer nodes lb1..lbN that
# share the VIP, a failover probe, and timing of takeovers.  Source after
# lab.sh.
#
#   ha_setup 3 2            # client, lb1..lb3, be1..be2 (fakesrv)
#   ha_start 1 150          # lb1 with priority 150 (extra [ha] keys: $HA_EXTRA)
#   ha_wait_role 1 MASTER 3
#   ha_probe_start          # probe the VIP every 10 ms from the client
#   ...; ha_probe_stop; ha_takeover_ms "$t_kill" lb2

HA_VIP=198.18.0.10
PROBE=${PROBE:-$BUILD_DIR/tests/probe}
HA_ADVERT=${HA_ADVERT:-100ms}

ha_lb_ip() { echo "198.18.0.$((10 + $1))"; }

# ha_setup NLB NBE: hosts, backends and a cluster key.
ha_setup() {
	local i
	require "running as root" test "$EUID" -eq 0
	require "andromeda is built ($ANDROMEDA)" test -x "$ANDROMEDA"
	require "probe is built ($PROBE)" test -x "$PROBE"
	require "jq and curl are installed" lab_have jq curl
	require "lab namespace and bridge" lab_init
	lab_trap
	require "client host" lab_host client "$LAB_CLIENT_IP/24"
	for ((i = 1; i <= $1; i++)); do
		require "balancer host lb$i" lab_host "lb$i" "$(ha_lb_ip "$i")/24"
	done
	for ((i = 1; i <= $2; i++)); do
		require "backend host be$i" lab_host "be$i" "$(lab_be_ip "$i")/24"
	done
	require "$2 fake backends answer" lab_fakesrvs "$2"
	require "a cluster key" "$ANDROMEDA" --gen-key "$LAB_DIR/cluster.key"
	HA_NBE=$2
}

# ha_conf I PRIORITY: the configuration of node lbI ($HA_EXTRA appended to [ha],
# $HA_MORE after it; LAB_THREADS=N gives it N proxy threads, HA_LISTEN other
# [frontend] listen addresses than the VIP's port 80).
ha_conf() {
	local i=$1 f="$LAB_DIR/lb$1.conf"
	mkdir -p "$LAB_DIR/state$i"
	{
		printf '[node]\nname = lb%d\nstate_dir = %s/state%d\ncontrol_socket = %s/lb%d.sock\n\n' \
			"$i" "$LAB_DIR" "$i" "$LAB_DIR" "$i"
		printf '[frontend]\nlisten = %s\nthreads = %s\n\n' "${HA_LISTEN:-$HA_VIP:80}" "${LAB_THREADS:-1}"
		printf '[backend]\nhealth_check = /healthz\nhealth_interval = 500ms\n\n'
		lab_servers_conf "${HA_NSTATIC:-$HA_NBE}"
		printf '[ha]\ninterface = eth0\nvrid = 51\npriority = %s\nadvert_interval = %s\n' "$2" "$HA_ADVERT"
		printf 'vip = %s/24\nkey_file = %s/cluster.key\n%b\n' "$HA_VIP" "$LAB_DIR" "${HA_EXTRA:-}"
		printf '%b\n' "${HA_MORE:-}"
	} >"$f"
	echo "$f"
}

# ha_start I PRIORITY: start node lbI in its namespace.
ha_start() {
	local conf
	conf=$(ha_conf "$1" "$2")
	timeout 10 "$ANDROMEDA" -t -c "$conf" >/dev/null || return 1
	lab_spawn "lb$1" "lb$1" ${HA_WRAP:-} "$ANDROMEDA" -c "$conf"
	# The socket file of a killed run may still be there: wait for an answer.
	lab_wait_for 5 ha_ctl "$1" status >/dev/null
}

# The timeout only guards against a hung daemon: starting andromedactl
# alone took 2 s on a loaded machine (ASan build, load 20 on 2 cores).
ha_ctl() { timeout 20 "$ANDROMEDACTL" -s "$LAB_DIR/lb$1.sock" "${@:2}" 2>/dev/null; }
ha_role() { ha_ctl "$1" status --json 2>/dev/null | jq -r .role 2>/dev/null; }
ha_role_is() { [[ "$(ha_role "$1")" == "$2" ]]; }
# ha_wait_role I ROLE SECONDS
ha_wait_role() { lab_wait_for "$3" ha_role_is "$1" "$2"; }

# ha_has_vip I: node lbI has the VIP on eth0.
ha_has_vip() { lab_exec "lb$1" ip -4 -o addr show dev eth0 | grep -q " $HA_VIP/"; }

# ha_lacks_vip I: lbI's eth0 address list was read (it holds the node's own
# address) and has no VIP: a failed `ip` cannot pass for "released".
ha_lacks_vip() {
	local a
	a=$(lab_exec "lb$1" ip -4 -o addr show dev eth0) || return 1
	grep -q " $(ha_lb_ip "$1")/" <<<"$a" && ! grep -q " $HA_VIP/" <<<"$a"
}

# ha_vip_holders N: the live nodes (of 1..N) holding the VIP.  (A node
# killed with -9 keeps its address until `andromeda --release` or a restart.)
ha_vip_holders() {
	local i out=
	for ((i = 1; i <= $1; i++)); do
		lab_alive "lb$i" && ha_has_vip "$i" && out+="lb$i "
	done
	echo "${out% }"
}

# ha_masters N: the list of live nodes that say MASTER.
ha_masters() {
	local i out=
	for ((i = 1; i <= $1; i++)); do
		lab_alive "lb$i" && ha_role_is "$i" MASTER && out+="lb$i "
	done
	echo "${out% }"
}

ha_mac() { lab_exec "lb$1" cat /sys/class/net/eth0/address; }
# The client's neighbour entry for the VIP (MAC).
ha_client_vip_mac() { lab_exec client ip neigh show "$HA_VIP" | awk '{for (i=1;i<NF;i++) if ($i=="lladdr") print $(i+1)}'; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ha_probe_start [INTERVAL_MS] [TIMEOUT_MS]: probe the VIP from the client
# into $LAB_DIR/probe.log, bounded (600 s, 60000 probes at most).  The
# bound must outlast the test on a loaded machine: a probe that has ended
# reports no failure, and a check on it passes for nothing.
ha_probe_start() {
	: >"$LAB_DIR/probe.log"
	lab_spawn client probe sh -c "exec '$PROBE' $HA_VIP 80 ${1:-10} ${2:-500} 600000 60000 >'$LAB_DIR/probe.log'"
}

ha_probe_stop() { lab_stop probe 5 >/dev/null; }

# ha_takeover_ms T_KILL NODE: ms from T_KILL to the first good answer
# served by NODE after it (empty if none).
ha_takeover_ms() {
	awk -v t="$1" -v n="$2" '$1 >= t && $2 == "ok" && $3 == n { print $1 - t; exit }' "$LAB_DIR/probe.log"
}

# ha_failed_since T_FROM [T_TO]: failed probes in that window.
ha_failed_since() {
	awk -v a="$1" -v b="${2:-9999999999999}" '$1 >= a && $1 <= b && $2 == "fail" { n++ } END { print n + 0 }' \
		"$LAB_DIR/probe.log"
}

# ha_probe_flush: wait until every probe started before now is in the log.
# The probe is sequential and logs each request when it ends, so a line
# stamped now or later means the one in flight now has been written too:
# only then may a count of failures in a window that ends now be read.
ha_probe_flush() {
	local t
	t=$(now_ms)
	lab_wait_for 5 awk -v t="$t" 'BEGIN { r = 1 } $1 >= t { r = 0 } END { exit r }' "$LAB_DIR/probe.log"
}

# ha_last_takeover I: the reason node lbI logged for its last move to
# MASTER ("master lost (sync session reset), ...", "no advert for ...").
# The reason names the mechanism; how long it took is a bench's business.
ha_last_takeover() {
	sed -n 's/.*vrrp [0-9]*: [A-Z]* -> MASTER (\(.*\))$/\1/p' "$LAB_DIR/lb$1.log" | tail -n1
}

# ha_wait_served_by NODE SECONDS: the probe log shows NODE answering.
ha_wait_served_by() {
	local since=$(now_ms)
	lab_wait_for "$2" awk -v t="$since" -v n="$1" 'BEGIN { r = 1 } $1 >= t && $2 == "ok" && $3 == n { r = 0 } END { exit r }' \
		"$LAB_DIR/probe.log"
}

# ha_bridge_port I: the lab bridge's port that leads to node lbI.
ha_bridge_port() {
	local idx
	idx=$(lab_exec "lb$1" ip -o link show eth0 | sed -n 's/^[0-9]*: eth0@if\([0-9]*\):.*/\1/p')
	ip -n "$LAB_BRNS" -o link show | sed -n "s/^$idx: \([^@:]*\)[@:].*/\1/p"
}

# ha_vrrp_block I on|off: stop (or resume) multicast - and so VRRP adverts -
# reaching node lbI through the bridge.  ARP (broadcast) and unicast
# traffic still pass: only the election is partitioned.
ha_vrrp_block() {
	local flood=on
	[[ "$2" == on ]] && flood=off
	bridge -n "$LAB_BRNS" link set dev "$(ha_bridge_port "$1")" mcast_flood "$flood"
}

# ha_agent I [INTERVAL]: run andromeda-agent next to backend beI's fakesrv.
AGENT=${AGENT:-$BUILD_DIR/andromeda-agent}
ha_agent() {
	local i=$1 f="$LAB_DIR/agent$1.conf" ip
	ip=$(lab_be_ip "$i")
	printf '[agent]\nname = be%d\nservice = %s:80\nhealth_url = http://%s:80/healthz\ninterface = eth0\nannounce_interval = %s\nkey_file = %s/cluster.key\nstate_file = %s/agent%d.epoch\n' \
		"$i" "$ip" "$ip" "${2:-500ms}" "$LAB_DIR" "$LAB_DIR" "$i" >"$f"
	timeout 5 "$AGENT" -t -c "$f" >/dev/null || return 1
	lab_spawn "be$i" "agent$i" ${AGENT_WRAP:-} "$AGENT" -c "$f"
}

# ha_servers I: node lbI's pool as sorted "name address source state" lines.
ha_servers() {
	ha_ctl "$1" servers --json 2>/dev/null | jq -r '.[] | "\(.name) \(.address) \(.source) \(.state)"' | sort
}
ha_lists() { ha_servers "$1" | grep -q "^$2 "; }
