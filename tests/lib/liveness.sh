# shellcheck shell=bash
# liveness.sh - what the fast-liveness test, soak and bench share (issue
# 15): a dead cable, random loss, a CPU hog, role changes counted by the
# notify script, the VIP sampled.  Source after tests/lib/lab.sh and
# tests/lib/ha.sh.
#
#   live_notify                 # HA_EXTRA gets a notify script (before ha_start)
#   live_cut I / live_mend I    # lbI's cable dead (every packet and ARP frame) / back
#   live_loss I PCT             # PCT % of lbI's packets dropped at random, each way (0: none)
#   live_hog I SECONDS          # a busy loop pinned with lbI's daemon to one CPU
#   live_vip_sample N SECONDS   # background: the VIP holders of lb1..lbN, sampled
#   live_role_changes I MS      # role changes lbI's notify script saw since MS
#   live_vip_moves              # samples whose holders differ from the first ("" or two: a move)

# live_notify: every node appends "ms ROLE" to $LAB_DIR/notify-NODE.log.
live_notify() {
	cat >"$LAB_DIR/live-notify.sh" <<-'EOF'
		#!/bin/sh
		echo "$(date +%s%3N) $2" >>"${0%/*}/notify-$ANDROMEDA_NODE.log"
	EOF
	chmod 755 "$LAB_DIR/live-notify.sh"
	HA_EXTRA="${HA_EXTRA:+$HA_EXTRA\n}notify = $LAB_DIR/live-notify.sh"
}

# live_role_changes I SINCE_MS: the notify calls of lbI at or after
# SINCE_MS: each one is a role change.
live_role_changes() {
	awk -v t="$2" '$1 >= t { n++ } END { print n + 0 }' "$LAB_DIR/notify-lb$1.log" 2>/dev/null || echo 0
}

live_cut() {
	ip netns exec "$(lab_ns "lb$1")" nft -f - <<-EOF
		table inet powercut {
			chain i { type filter hook input priority -300; policy drop; }
			chain o { type filter hook output priority -300; policy drop; }
		}
		table arp powercut {
			chain i { type filter hook input priority -300; policy drop; }
			chain o { type filter hook output priority -300; policy drop; }
		}
	EOF
}

live_mend() {
	lab_exec "lb$1" nft delete table inet powercut 2>/dev/null
	lab_exec "lb$1" nft delete table arp powercut 2>/dev/null
	return 0
}

# live_loss I PCT: this kernel has no netem; nftables' numgen drops PCT %
# of every packet in and out of lbI's namespace (VRRP, sync, liveness,
# the proxied traffic alike).
live_loss() {
	lab_exec "lb$1" nft delete table inet loss 2>/dev/null
	(($2 > 0)) || return 0
	ip netns exec "$(lab_ns "lb$1")" nft -f - <<-EOF
		table inet loss {
			chain i { type filter hook input priority -200; policy accept;
				numgen random mod 100 < $2 drop; }
			chain o { type filter hook output priority -200; policy accept;
				numgen random mod 100 < $2 drop; }
		}
	EOF
}

# live_hog I SECONDS: lbI's daemon and a busy loop share one CPU for
# SECONDS (the loop at the same nice level): its loop wakes late, by a
# scheduler slice (a few ms).  Bounded by timeout; registered as hogI.
live_hog() {
	local cpu=$(($(nproc) - 1))
	taskset -a -p -c "$cpu" "$(lab_pid "lb$1")" >/dev/null || return 1
	lab_spawn "lb$1" "hog$1" timeout "$2" taskset -c "$cpu" sh -c 'while :; do :; done'
}

# live_vip_sample N SECONDS: "ms holders" every 10 ms plus N `ip` runs
# (about 17 samples a second on the lab machine) into
# $LAB_DIR/vip.samples (holders: the lbI of 1..N with the VIP on eth0,
# space-separated).  Bounded by SECONDS; registered as vipsample.
live_vip_sample() {
	local n=$1 d=$2 i cmd=''
	for ((i = 1; i <= n; i++)); do
		cmd+="ip -n $(lab_ns "lb$i") -4 -o addr show dev eth0 2>/dev/null | grep -q ' $HA_VIP/' && h=\"\$h lb$i\"; "
	done
	: >"$LAB_DIR/vip.samples"
	lab_spawn client vipsample timeout "$d" bash -c \
		"while :; do h=''; $cmd echo \"\$(date +%s%3N)\${h:- none}\"; sleep 0.01; done >>'$LAB_DIR/vip.samples'"
}

# live_vip_moves: samples whose holder list is not the first sample's.
live_vip_moves() {
	awk 'NR == 1 { first = substr($0, index($0, " ")) } substr($0, index($0, " ")) != first { n++ } END { print n + 0 }' \
		"$LAB_DIR/vip.samples"
}

live_vip_samples() { wc -l <"$LAB_DIR/vip.samples"; }

# live_stat I KEY: sync.liveness.KEY of lbI.
live_stat() { ha_ctl "$1" status --json | jq -r ".sync.liveness.$2"; }
