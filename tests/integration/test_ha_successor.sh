#!/usr/bin/env bash
# test_ha_successor.sh - issue 15: the MASTER names one successor among
# its BACKUPs (highest priority, then highest address, only once it holds
# the state); on kill -9 of the MASTER that one takes over at once, the
# others keep the RFC timer.  Orders of events: a better backup joins, a
# session reset while the MASTER lives, kill -9, successor dead too.
set -u
source "$(dirname "$0")/../lib/lab.sh"
source "$(dirname "$0")/../lib/ha.sh"

ha_setup 4 2
IP2=$(ha_lb_ip 2) IP3=$(ha_lb_ip 3)
succ_is() { [[ "$(ha_ctl "$1" status --json | jq -r .sync.successor)" == "$2" ]]; }
takeover_is() { [[ "$(ha_last_takeover "$1")" == $2 ]]; }
never_master() { ! grep -q -- '-> MASTER' "$LAB_DIR/lb$1.log"; }
masters_in_log() { grep -c -- '-> MASTER' "$LAB_DIR/lb$1.log"; }

require "lb1 starts" ha_start 1 200
check "lb1 (priority 200) becomes MASTER" ha_wait_role 1 MASTER 3
require "lb3 starts" ha_start 3 90
require "lb4 starts" ha_start 4 80
check "lb3 is BACKUP" ha_wait_role 3 BACKUP 3
check "lb4 is BACKUP" ha_wait_role 4 BACKUP 3

# --- the choice, and a better backup joining -------------------------------
check "lb1 names lb3 (the best of 90 and 80)" lab_wait_for 3 succ_is 1 "$IP3"
check "lb4 is told lb3" lab_wait_for 3 succ_is 4 "$IP3"
check "lb3 is told itself" lab_wait_for 3 succ_is 3 "$IP3"
require "lb2 (priority 100) joins" ha_start 2 100
check "lb2 is BACKUP" ha_wait_role 2 BACKUP 3
check "lb1 names lb2 now" lab_wait_for 3 succ_is 1 "$IP2"
check "lb3 learns it" lab_wait_for 3 succ_is 3 "$IP2"
check "lb4 learns it" lab_wait_for 3 succ_is 4 "$IP2"
check "lb2 learns it" lab_wait_for 3 succ_is 2 "$IP2"
# lb2 must hold lb1's state before it may be named.
named_after_snapshot() {
	awk '/sync: following/ && !f { f = NR } /names its successor: .* \(us\)/ && !n { n = NR }
	     END { exit !(f && n && f < n) }' "$LAB_DIR/lb2.log"
}
check "lb2 applied lb1's snapshot before it was named" named_after_snapshot

# --- a session reset while the MASTER lives: no early takeover -------------
ha_probe_start 5 500
check "probe sees lb1" ha_wait_served_by lb1 3
# lb1's kernel aborts its end of lb2's session: lb2 reads a reset, as on
# a crash, but lb1's sync port still answers.
require "reset lb2's session from lb1's side" lab_exec lb1 ss -K -t state established "( sport = :7788 and dst $IP2 )"
check "lb2 checked lb1's sync port and found it alive" \
	lab_wait_for 2 grep -q "198.18.0.11 still answers on its sync port" "$LAB_DIR/lb2.log"
check "lb2 did not become MASTER" never_master 2
check_eq "lb1 is the only MASTER" "lb1" "$(ha_masters 4)"
check "lb2 reconnects and is named again" lab_wait_for 3 succ_is 2 "$IP2"
check "lb1 held the VIP throughout (no failed probe)" test "$(ha_failed_since 0)" -eq 0

# --- kill -9 of the MASTER: only the successor moves early ----------------
t_kill=$(now_ms)
lab_kill lb1 KILL
check "lb2 takes over after kill -9 of lb1" ha_wait_role 2 MASTER 3
check "clients are served by lb2" ha_wait_served_by lb2 3
ms=$(ha_takeover_ms "$t_kill" lb2)
echo "# kill -9 lb1 -> first success via its successor lb2: ${ms:-none} ms ($(ha_failed_since "$t_kill") failed probes)"
echo "# killed at $(date -d "@$((t_kill / 1000)).$(printf %03d $((t_kill % 1000)))" +%T.%3N); lb2:"
grep -E "closed by its kernel|sync: MASTER|-> MASTER" "$LAB_DIR/lb2.log" | sed 's/^/#   /'
check "lb2 took over as the named successor ($(ha_last_takeover 2))" \
	takeover_is 2 'master lost (sync session reset), named successor'
for i in 3 4; do
	check "lb$i kept the RFC timer" grep -q "its named successor $IP2 moves first" "$LAB_DIR/lb$i.log"
	check "lb$i never became MASTER" never_master "$i"
done
check_eq "lb2 became MASTER once" 1 "$(masters_in_log 2)"
check_eq "lb2 is the only MASTER" "lb2" "$(ha_masters 4)"

# --- the successor dies with the MASTER: RFC timing, one MASTER -----------
check "lb2 names lb3" lab_wait_for 3 succ_is 2 "$IP3"
check "lb4 is told lb3" lab_wait_for 3 succ_is 4 "$IP3"
# One kill(2) after the other, successor first: a successor that
# outlived the MASTER by a few ms would rightly take over.
kill -KILL -- "-$(lab_pid lb3)" "-$(lab_pid lb2)"
check "lb4 takes over" ha_wait_role 4 MASTER 3
check "lb4 waited Master_Down_Interval ($(ha_last_takeover 4))" takeover_is 4 'no advert for*'
check "lb4 kept the RFC timer on the crash signal" grep -q "its named successor $IP3 moves first" "$LAB_DIR/lb4.log"
check "clients are served by lb4" ha_wait_served_by lb4 3
check_eq "lb4 became MASTER once" 1 "$(masters_in_log 4)"
check "lb3 never became MASTER" never_master 3
check_eq "lb4 is the only MASTER" "lb4" "$(ha_masters 4)"
check "lb4 names nobody (no backup left)" lab_wait_for 3 succ_is 4 ""

ha_probe_stop
lab_stop lb4 10
check_eq "lb4 exits 0 on SIGTERM" 0 "$?"
for i in 1 2 3 4; do
	check "no sanitizer report from lb$i" lab_no_sanitizer_report "$LAB_DIR/lb$i.log"
done
lab_finish
