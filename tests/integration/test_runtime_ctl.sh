#!/usr/bin/env bash
# andromedactl weight / add / remove (issue 14): runtime changes on the
# MASTER, replicated to the BACKUP, journalled, refused with a clear error
# when wrong, and kept across a restart of the MASTER.  remove drains
# first: a request in flight on the server finishes before it goes.
set -u
source "$(dirname "$0")/../lib/lab.sh"
source "$(dirname "$0")/../lib/ha.sh"

HA_NSTATIC=2 # be1, be2 in the configuration; be3, be4 added at runtime
ha_setup 2 4
require "lb1 starts" ha_start 1 150
require "lb1 is MASTER" ha_wait_role 1 MASTER 3
require "lb2 starts" ha_start 2 100
require "lb2 is BACKUP" ha_wait_role 2 BACKUP 3

# srv I NAME FIELD: one field of server NAME on lbI.
srv() { ha_ctl "$1" servers --json | jq -r --arg n "$2" ".[] | select(.name == \$n) | .$3"; }
srv_is() { [[ "$(srv "$1" "$2" "$3")" == "$4" ]]; }
gone() { ! ha_lists "$1" "$2"; }
# err I ARGS...: andromedactl's error line (it exits 1).
err() { timeout 20 "$ANDROMEDACTL" -s "$LAB_DIR/lb$1.sock" "${@:2}" 2>&1 >/dev/null; }
served_by() { lab_exec client curl -s --max-time 1 "http://$HA_VIP/?n=[1-12]" | grep -q "^$1$"; }

# --- add --------------------------------------------------------------------
check "add web3 on lb1" ha_ctl 1 add web3 "$(lab_be_ip 3):80" 3
check_eq "lb1: web3 added with weight 3" "registered 3" "$(srv 1 web3 source) $(srv 1 web3 weight)"
check "lb2 lists web3 within 2 s" lab_wait_for 2 ha_lists 2 web3
check_eq "lb2: weight 3" 3 "$(srv 2 web3 weight)"
check "web3 passes its checks" lab_wait_for 5 srv_is 1 web3 state up
check "web3 gets traffic" lab_wait_for 3 served_by be3
check "add web4" ha_ctl 1 add web4 "$(lab_be_ip 4):80"
check "web4 up" lab_wait_for 5 srv_is 1 web4 state up

# --- an IPv6 server (issue 16): replicated with its address --------------------
# Nothing listens there (no IPv6 route in the lab: its checks fail at home).
check "add web6 [2001:db8:18::26]:80" ha_ctl 1 add web6 "[2001:db8:18::26]:80"
check "lb2 lists web6 within 2 s" lab_wait_for 2 ha_lists 2 web6
check_eq "lb2 has web6's IPv6 address" "[2001:db8:18::26]:80" "$(srv 2 web6 address)"
check "remove web6" ha_ctl 1 remove web6
check "web6 removed on lb1" lab_wait_for 3 gone 1 web6
check "and on lb2" lab_wait_for 3 gone 2 web6

# --- clear errors --------------------------------------------------------------
check_eq "duplicate name" "andromedactl: server web3 already exists (198.18.0.23:80)" \
	"$(err 1 add web3 198.18.0.24:80)"
check_eq "duplicate address" "andromedactl: address 198.18.0.21:80 is already server be1" \
	"$(err 1 add web9 198.18.0.21:80)"
check_eq "bad address" "andromedactl: invalid address (want a.b.c.d:port or [v6]:port): web9" \
	"$(err 1 add web9 198.18.0.29)"
check_eq "unknown server" "andromedactl: unknown server: nosuch" "$(err 1 weight nosuch 2)"
check_eq "bad weight" "andromedactl: invalid weight (1..256): be1" "$(err 1 weight be1 0)"
check_eq "unknown server to remove" "andromedactl: unknown server: nosuch" "$(err 1 remove nosuch)"
check "a BACKUP refuses: the MASTER's pool wins" \
	grep -q "not the MASTER" <<<"$(err 2 weight be1 2)"
timeout 20 "$ANDROMEDACTL" -s "$LAB_DIR/lb1.sock" weight nosuch 2 >/dev/null 2>&1
check_eq "an error exits 1" 1 $?

# --- weight -----------------------------------------------------------------------
check "weight be1 5 on lb1" ha_ctl 1 weight be1 5
check_eq "lb1: be1 weight 5" 5 "$(srv 1 be1 weight)"
check "lb2: be1 weight 5 within 2 s" lab_wait_for 2 srv_is 2 be1 weight 5
check "weight web3 4" ha_ctl 1 weight web3 4
check "lb2: web3 weight 4" lab_wait_for 2 srv_is 2 web3 weight 4
# Smooth WRR at once: weights 5+1+4+1, so be1 answers 10 of 22 requests
# (one off: the round-robin's position when the weights changed); with
# its old weight 1 it would answer 3.
n_be1=$(lab_exec client curl -s --max-time 5 "http://$HA_VIP/?w=[1-22]" | grep -cx be1)
check "be1 answers 10 of 22 requests, +-1 (got $n_be1)" test "$n_be1" -ge 9 -a "$n_be1" -le 11

# --- remove drains first ------------------------------------------------------------
# Only web4 in rotation, two requests held in flight on it.
for s in be1 be2 web3; do ha_ctl 1 drain "$s" >/dev/null; done
lab_gate_close
for k in 1 2; do
	lab_spawn client "held$k" curl -s --max-time 30 -o "$LAB_DIR/held$k.out" -w '%{http_code}' \
		"http://$HA_VIP/?hold=1&k=$k"
done
inflight2() { [[ "$(srv 1 web4 inflight)" == 2 ]]; }
check "two requests in flight on web4" lab_wait_for 5 inflight2
for s in be1 be2 web3; do ha_ctl 1 enable "$s" >/dev/null; done
check "remove web4" ha_ctl 1 remove web4
check_eq "web4 drains first" drain "$(srv 1 web4 state)"
check "lb2 shows web4 draining" lab_wait_for 2 srv_is 2 web4 state drain
sleep 0.5
check "web4 still there while its requests are in flight" ha_lists 1 web4
check_eq "remove twice is an error" "andromedactl: server web4 is already being removed" \
	"$(err 1 remove web4)"
lab_gate_open
lab_wait_gone held1 10
lab_wait_gone held2 10
check_eq "the held requests finished on web4" "be4 be4" "$(cat "$LAB_DIR/held1.out" "$LAB_DIR/held2.out" | tr '\n' ' ' | sed 's/ $//')"
check_eq "... with 200" "200200" "$(cat "$LAB_DIR/held1.log" "$LAB_DIR/held2.log")"
check "then web4 is removed on lb1" lab_wait_for 3 gone 1 web4
check "and on lb2" lab_wait_for 3 gone 2 web4

# --- journalled ------------------------------------------------------------------------
jr() { ha_ctl 1 journal --json | jq -r '.[] | "\(.event) \(.server)"' 2>/dev/null; }
check "journal: web3 registered" grep -qx "server-registered web3" <<<"$(jr)"
check "journal: be1 updated" grep -qx "server-updated be1" <<<"$(jr)"
check "journal: web4 drained" grep -qx "server-drained web4" <<<"$(jr)"
check "journal: web4 withdrawn" grep -qx "server-withdrawn web4" <<<"$(jr)"

# --- a restart of the MASTER keeps them ----------------------------------------------------
lab_stop lb1 10 >/dev/null
check "lb2 takes over" ha_wait_role 2 MASTER 3
require "lb1 restarts" ha_start 1 150
check "lb1 logged the restore of web3 from its journal" \
	grep -q "journal: restored 1 registered" "$LAB_DIR/lb1.log"
check_eq "lb1: web3 is back with weight 4" 4 "$(srv 1 web3 weight)"
check_eq "lb1: be1 kept its runtime weight 5" 5 "$(srv 1 be1 weight)"
check "lb1: web4 stays removed" gone 1 web4
check "lb1 is MASTER again" ha_wait_role 1 MASTER 5
check "web3 gets traffic through lb1" lab_wait_for 5 served_by be3
check "lb2 still has web3" ha_lists 2 web3

lab_finish
