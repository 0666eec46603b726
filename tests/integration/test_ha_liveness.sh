#!/usr/bin/env bash
# test_ha_liveness.sh - issue 15, fast liveness ([ha] liveness_interval,
# default 20 ms): the short form of the no-false-failover soak
# (tests/soak/no_false_failover.sh) and the power cut.
#
#   1. the exchange runs: sync.liveness up on the MASTER and its BACKUPs;
#      a bad value is refused with file:line by `andromeda -t`;
#   2. no false failover: 5 % random loss on the MASTER's link while wrk
#      -c512 saturates it, then a CPU hog pinned with the successor: no
#      role change on any node (their notify scripts), the VIP never moves
#      (sampled from the host, about 17 times a second);
#   3. power cut of the MASTER (its cable dead, then kill -9): the named
#      successor takes over on liveness, the third node keeps the RFC timer;
#   4. SIGSTOP of the MASTER (kernel alive): liveness falls silent but its
#      kernel answers the successor's SYN: no early takeover, the RFC's
#      Master_Down_Interval decides.
#
# Adverts every 1 s, the default (RFC 5798 and [ha] advert_interval): the
# RFC's own timer (3.6 s) then moves nothing when a loaded 2-core box
# stalls a daemon for a few hundred ms (at 100 ms adverts such a stall is
# a Master_Down_Interval, with or without liveness), and liveness, which
# does not depend on the advert interval, is what is under test; its
# advert rule (none during the silence) is then nearly always met, so the
# SYN check alone keeps a live MASTER.
set -u
source "$(dirname "$0")/../lib/lab.sh"
source "$(dirname "$0")/../lib/ha.sh"
source "$(dirname "$0")/../lib/liveness.sh"
# shellcheck disable=SC2034 # read by ha_conf (tests/lib/ha.sh)
HA_ADVERT=1s
LOAD_S=${LOAD_S:-25}
HOG_S=${HOG_S:-12}

require "nft is installed (package nftables)" lab_have nft
require "wrk is installed" lab_have wrk
ha_setup 3 2
IP1=$(ha_lb_ip 1) IP2=$(ha_lb_ip 2)
live_notify
never_master() { ! grep -q -- '-> MASTER' "$LAB_DIR/lb$1.log"; }
succ_is() { [[ "$(ha_ctl "$1" status --json | jq -r .sync.successor)" == "$2" ]]; }
live_is() { [[ "$(live_stat "$1" state)" == "$2" ]]; }

# --- 1. the exchange, the key -----------------------------------------------
printf '[node]\nname = x\n[frontend]\nlisten = 198.18.0.10:80\n[ha]\ninterface = eth0\nvrid = 51\npriority = 100\nvip = 198.18.0.10/24\nkey_file = %s/cluster.key\nliveness_interval = fast\n' \
	"$LAB_DIR" >"$LAB_DIR/bad.conf"
bad_out=$("$ANDROMEDA" -t -c "$LAB_DIR/bad.conf" 2>&1)
bad_rc=$?
check "andromeda -t refuses liveness_interval = fast" test "$bad_rc" -ne 0
check "... saying file:line ($bad_out)" grep -q "^$LAB_DIR/bad.conf:11: .*liveness_interval" <<<"$bad_out"

require "lb1 starts" ha_start 1 150
check "lb1 is MASTER" ha_wait_role 1 MASTER 6
require "lb2 starts" ha_start 2 100
require "lb3 starts" ha_start 3 50
check "lb2 is BACKUP" ha_wait_role 2 BACKUP 3
check "lb3 is BACKUP" ha_wait_role 3 BACKUP 3
check "lb1 names lb2 its successor" lab_wait_for 3 succ_is 2 "$IP2"
check "lb2's liveness path to lb1 is up" lab_wait_for 3 live_is 2 up
check "lb3's liveness path to lb1 is up" lab_wait_for 3 live_is 3 up
check "lb1 sees its successor's path up" lab_wait_for 3 live_is 1 up
check_eq "lb2 watches lb1" "$IP1" "$(live_stat 2 peer)"
check_eq "lb2: 20 ms, detection 60 ms" "20 60" "$(live_stat 2 interval_ms) $(live_stat 2 detect_ms)"
check "lb2 heard lb1 within the detection time" test "$(live_stat 2 last_seen_ms)" -lt 60
paths_up_is() { [[ "$(live_stat "$1" paths_up)" == "$2" ]]; }
check "lb1 hears both BACKUPs (every 100 ms each)" lab_wait_for 5 paths_up_is 1 2
check "andromedactl status shows the liveness line" \
	bash -c "timeout 10 '$ANDROMEDACTL' -s '$LAB_DIR/lb2.sock' status | grep -q 'liveness.*up, every 20 ms (detect 60 ms), $IP1'"

# --- 2. no false failover: loss and load on the MASTER, a hog on the successor
phase_s=$((LOAD_S + HOG_S + 10))
t_phase=$(now_ms)
live_vip_sample 3 "$phase_s"
require "5 % loss on lb1's link" live_loss 1 5
lab_spawn client wrk timeout $((LOAD_S + 20)) wrk -t2 -c512 -d"${LOAD_S}s" --timeout 5s "http://$HA_VIP/"
lab_wait_gone wrk $((LOAD_S + 25))
check "wrk -c512 ran ${LOAD_S} s through lb1" grep -q 'requests in' "$LAB_DIR/wrk.log"
echo "# wrk through lb1 at 5 % loss: $(grep -E 'requests in|Requests/sec' "$LAB_DIR/wrk.log" | tr -s ' ' | paste -sd' ')"
require "a CPU hog pinned with lb2 for ${HOG_S} s" live_hog 2 "$HOG_S"
lab_wait_gone hog2 $((HOG_S + 10))
live_loss 1 0
lab_wait_gone vipsample $((phase_s + 10))
for i in 1 2 3; do
	check_eq "lb$i changed role 0 times (notify)" 0 "$(live_role_changes "$i" "$t_phase")"
done
check "the VIP was sampled ($(live_vip_samples) samples)" test "$(live_vip_samples)" -gt 100
check_eq "the VIP never moved off lb1 alone" 0 "$(live_vip_moves)"
check_eq "lb1 is the only MASTER" lb1 "$(ha_masters 3)"
echo "# lb2 liveness: silences $(live_stat 2 silences), SYN checks $(live_stat 2 confirms), vetoed $(live_stat 2 vetoed), takeovers $(live_stat 2 takeovers)"
check_eq "no liveness takeover" 0 "$(live_stat 2 takeovers)"

# --- 3. power cut of the MASTER -------------------------------------------
check "lb2's path is up again" lab_wait_for 3 live_is 2 up
t_cut=$(now_ms)
require "lb1's cable dies" live_cut 1
lab_kill lb1 KILL
check "lb2 takes over after the power cut (not after 3.x s)" ha_wait_role 2 MASTER 2
echo "# cut at $(date -d "@$((t_cut / 1000)).$(printf %03d $((t_cut % 1000)))" +%T.%3N); lb2:"
grep -E "liveness:|-> MASTER" "$LAB_DIR/lb2.log" | tail -n 2 | sed 's/^/#   /'
check_eq "lb2 took over on liveness as the named successor" \
	"master silent (liveness and advert), named successor" "$(ha_last_takeover 2)"
check "lb3 kept the RFC timer (not the successor)" \
	lab_wait_for 2 grep -q "liveness: MASTER $IP1 silent .*not its named successor" "$LAB_DIR/lb3.log"
check "lb3 never became MASTER" never_master 3
check_eq "lb2 is the only MASTER" lb2 "$(ha_masters 3)"

# --- 4. SIGSTOP of the MASTER: its kernel answers, no early takeover ------
check "lb2 names lb3" lab_wait_for 3 succ_is 2 "$(ha_lb_ip 3)"
check "lb3's path to lb2 is up" lab_wait_for 3 live_is 3 up
lab_kill lb2 STOP
check "lb3 takes over from the frozen lb2" ha_wait_role 3 MASTER 8
check "lb3 found lb2's kernel alive" grep -q "liveness: MASTER $IP2 is silent but its kernel answers" "$LAB_DIR/lb3.log"
check "lb3 waited Master_Down_Interval ($(ha_last_takeover 3))" \
	bash -c "[[ '$(ha_last_takeover 3)' == 'no advert for'* ]]"
lab_kill lb2 CONT
one_master() { [[ "$(ha_masters 3)" =~ ^lb[23]$ ]]; }
check "one MASTER once lb2 runs again" lab_wait_for 5 one_master

lab_finish
