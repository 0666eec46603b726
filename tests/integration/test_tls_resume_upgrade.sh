#!/usr/bin/env bash
# test_tls_resume_upgrade.sh - issue 13's leftover, issue 15: a TLS client
# resumes its session across a hitless upgrade of the MASTER.  The old
# process hands its session-ticket key ring to the new one with the
# listeners (core/daemon/upgrade_ring.h, docs/tls-keys.md).  lb1 (MASTER)
# and lb2 (BACKUP) terminate TLS on the VIP; a client (openssl s_client)
# gets a ticket from lb1; after `andromedactl upgrade` of lb1 it resumes
# on the new process ("Reused"), and again after a SIGHUP that changes
# `threads` (a new process too).  lb2 keeps the same ring throughout and
# sees no role change.  Certificates: tests/lib/tls_certs.sh.
set -u
source "$(dirname "$0")/../lib/lab.sh"
source "$(dirname "$0")/../lib/ha.sh"
source "$(dirname "$0")/../lib/tls_ha.sh"
lb1_pid() { ha_ctl 1 upgrade status --json | jq -r .pid; }
adopt_pid() { echo "$1 $(lab_starttime "$1")" >"$LAB_DIR/pids/lb1"; }
pid_gone() { ! kill -0 "$1" 2>/dev/null || [[ "$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null)" == Z ]]; }
# The current key lb2 last logged taking from lb1.
lb2_key() { sed -n 's/.*TLS ticket keys from .* (current key \([0-9a-f]*\)).*/\1/p' "$LAB_DIR/lb2.log" | tail -n1; }

require "lb1 starts (TLS on the VIP)" tls_start 1 150
require "lb1 is MASTER" ha_wait_role 1 MASTER 3
require "lb2 starts" tls_start 2 100
check "lb2 is BACKUP" ha_wait_role 2 BACKUP 3
k1=$(sed -n 's/.*leading the TLS ticket keys (current key \([0-9a-f]*\)).*/\1/p' "$LAB_DIR/lb1.log" | tail -n1)
check "lb2 has lb1's ticket keys ($k1)" lab_wait_for 3 bash -c "grep -qF '(current key $k1)' '$LAB_DIR/lb2.log'"
tls_ok() { grep -q '^be1' <<<"$(hello)"; }
require "lb1 answers over TLS" lab_wait_for 5 tls_ok
out=$(hello -sess_out "$LAB_DIR/s1.pem")
check "a full handshake with lb1: $(proto_line "$out")" grep -q '^New, TLSv1.3' <<<"$out"
check "it resumes on lb1" resumes "$LAB_DIR/s1.pem"
hello -sess_out "$LAB_DIR/s2.pem" >/dev/null

# --- andromedactl upgrade -----------------------------------------------
old=$(lb1_pid)
out=$(ha_ctl 1 upgrade)
check_eq "andromedactl upgrade of lb1 exits 0 ($out)" 0 "$?"
check "the old process $old exits" lab_wait_for 10 pid_gone "$old"
adopt_pid "$(lb1_pid)"
check "lb1 is MASTER" ha_role_is 1 MASTER
check "the new process took the ring over" grep -q "upgrade: took the TLS ticket key ring over" "$LAB_DIR/lb1.log"
check "the ticket from before the upgrade resumes on the new process" resumes "$LAB_DIR/s1.pem"
hello -sess_out "$LAB_DIR/s3.pem" >/dev/null

# --- SIGHUP that needs a new process (threads) ----------------------------
old=$(lb1_pid)
sed -i "s/^threads = .*/threads = 2/" "$LAB_DIR/lb1.conf"
kill -HUP "$old"
check "the reload's old process $old exits" lab_wait_for 10 pid_gone "$old"
adopt_pid "$(lb1_pid)"
check "lb1 is MASTER" ha_role_is 1 MASTER
check "a ticket from the first upgrade resumes after the reload" resumes "$LAB_DIR/s3.pem"
check "a ticket from the first process still resumes" resumes "$LAB_DIR/s2.pem"

check_eq "lb2 still has the first ring's current key" "$k1" "$(lb2_key)"
check_eq "lb2 logged no role change" 0 "$(grep -c -- "vrrp [0-9]*: .* -> " "$LAB_DIR/lb2.log" | awk '{print $1 - 1}')"

# The upgraded lb1 is no child of this shell: no exit status.
pid=$(lb1_pid)
kill -TERM "$pid"
check "lb1 ($pid) exits on SIGTERM" lab_wait_for 15 pid_gone "$pid"
check "no sanitizer report from lb1" lab_no_sanitizer_report "$LAB_DIR/lb1.log"
check "no sanitizer report from lb2" lab_no_sanitizer_report "$LAB_DIR/lb2.log"
lab_finish
