#!/usr/bin/env bash
# test_tls_resume_failover.sh - issue 13: a TLS client resumes its session
# on the balancer that took over.  lb1 (MASTER) and lb2 (BACKUP) terminate
# TLS on the VIP; the session-ticket key ring is lb1's on both (replicated
# over sync, docs/tls-keys.md).  A client (openssl s_client) gets a ticket
# from lb1; after kill -9 of lb1 it resumes on lb2 ("Reused"); with lb1
# back (preempting) it resumes there too.  Control: a node started alone,
# with a ring of its own, does not resume that ticket ("New").
# Certificates: tests/lib/tls_certs.sh.

set -u
source "$(dirname "$0")/../lib/lab.sh"
source "$(dirname "$0")/../lib/ha.sh"
source "$(dirname "$0")/../lib/tls_ha.sh"

require "lb1 starts (TLS on the VIP)" tls_start 1 150
require "lb1 is MASTER" ha_wait_role 1 MASTER 3
require "lb2 starts" tls_start 2 100
check "lb2 is BACKUP" ha_wait_role 2 BACKUP 3
k1=$(sed -n 's/.*leading the TLS ticket keys (current key \([0-9a-f]*\)).*/\1/p' "$LAB_DIR/lb1.log" | tail -n1)
check "lb2 has lb1's ticket keys ($k1)" \
	lab_wait_for 3 grep -qF "TLS ticket keys from $(ha_lb_ip 1) (current key $k1)" "$LAB_DIR/lb2.log"

tls_ok() { grep -q '^be1' <<<"$(hello)"; }
require "lb1 answers over TLS" lab_wait_for 5 tls_ok
out=$(hello -sess_out "$LAB_DIR/s1.pem")
check "a full handshake with lb1: $(proto_line "$out")" grep -q '^New, TLSv1.3' <<<"$out"
check "the session has a ticket" grep -q 'TLS session ticket:' <<<"$(openssl sess_id -in "$LAB_DIR/s1.pem" -text -noout 2>/dev/null)"
check "it resumes on lb1" resumes "$LAB_DIR/s1.pem"
hello -sess_out "$LAB_DIR/s2.pem" >/dev/null

lab_kill lb1 KILL
check "lb2 takes over" ha_wait_role 2 MASTER 3
check "lb2 holds the VIP" lab_wait_for 3 ha_has_vip 2
check "the ticket from lb1 resumes on lb2 after kill -9 of lb1" resumes "$LAB_DIR/s2.pem"
hello -sess_out "$LAB_DIR/s3.pem" >/dev/null

require "lb1 restarts" tls_start 1 150
check "lb1 preempts" ha_wait_role 1 MASTER 10
check "lb1 holds the VIP" lab_wait_for 3 ha_has_vip 1
check "a ticket from lb2 resumes on lb1 back" resumes "$LAB_DIR/s3.pem"

# Control: the same ticket on a node with keys of its own.
lab_stop lb1 10 >/dev/null
lab_stop lb2 10 >/dev/null
require "lb2 starts alone (a new ring)" tls_start 2 100
check "lb2 is MASTER" ha_wait_role 2 MASTER 5
check "lb2 holds the VIP" lab_wait_for 3 ha_has_vip 2
out=$(hello -sess_in "$LAB_DIR/s3.pem")
check "a ring of its own does not resume it: $(proto_line "$out")" grep -q '^New, ' <<<"$out"

check "no sanitizer report from lb1" lab_no_sanitizer_report "$LAB_DIR/lb1.log"
check "no sanitizer report from lb2" lab_no_sanitizer_report "$LAB_DIR/lb2.log"
lab_finish
