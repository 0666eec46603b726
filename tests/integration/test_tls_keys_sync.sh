#!/usr/bin/env bash
# test_tls_keys_sync.sh - issue 13: the TLS session-ticket key ring is the
# MASTER's on every balancer, and survives failovers.  lb1 (MASTER) leads
# the ring; lb2 (BACKUP) takes it over sync (encrypted, MSG_TLS_KEYS);
# after kill -9 of lb1, lb2 leads the same keys (tickets issued by lb1
# still decrypt); lb1 restarted follows lb2's ring, then preempts and
# leads it again.  The log lines name the current key by the first bytes
# of its name (public: every ticket carries it), never the key itself.
# A real resumed handshake across a failover needs the TLS listeners:
# tests/unit/test_tls_keys.c resumes a ticket on an imported ring.
set -u
source "$(dirname "$0")/../lib/lab.sh"
source "$(dirname "$0")/../lib/ha.sh"

ha_setup 2 1

# key_in I WHAT: the current key named in lbI's last "WHAT" line.
key_in() {
	grep -F "$2" "$LAB_DIR/lb$1.log" | tail -n1 | sed -n 's/.*(current key \([0-9a-f]\{8\}\)).*/\1/p'
}
has_line() { grep -qF "$2" "$LAB_DIR/lb$1.log"; }
key_is() { [[ "$(key_in "$1" "$2")" == "$3" ]]; }

require "lb1 starts" ha_start 1 150
require "lb1 is MASTER" ha_wait_role 1 MASTER 3
require "lb1 leads the ticket keys" lab_wait_for 3 has_line 1 "leading the TLS ticket keys"
k1=$(key_in 1 "leading the TLS ticket keys")
echo "# lb1's current key: $k1"
require "lb2 starts" ha_start 2 100
check "lb2 is BACKUP" ha_wait_role 2 BACKUP 3
check "lb2 takes lb1's keys within 3 s" \
	lab_wait_for 3 key_is 2 "TLS ticket keys from $(ha_lb_ip 1)" "$k1"

lab_kill lb1 KILL
check "lb2 takes over" ha_wait_role 2 MASTER 3
check "lb2 leads lb1's keys, not new ones" \
	lab_wait_for 3 key_is 2 "leading the TLS ticket keys" "$k1"

mv "$LAB_DIR/lb1.log" "$LAB_DIR/lb1.first.log"
require "lb1 restarts" ha_start 1 150
check "lb1 (back) takes lb2's keys" \
	lab_wait_for 5 key_is 1 "TLS ticket keys from $(ha_lb_ip 2)" "$k1"
check "lb1 preempts" ha_wait_role 1 MASTER 10
check "lb1 leads the same keys again" \
	lab_wait_for 3 key_is 1 "leading the TLS ticket keys" "$k1"
check "lb2 took no new keys of lb1's making" \
	bash -c "! grep -F 'TLS ticket keys from' '$LAB_DIR/lb2.log' | grep -vqF '$k1'"
check "no sanitizer report from lb2" lab_no_sanitizer_report "$LAB_DIR/lb2.log"
check "no sanitizer report from lb1" lab_no_sanitizer_report "$LAB_DIR/lb1.log"
lab_finish
