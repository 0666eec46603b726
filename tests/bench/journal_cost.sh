#!/usr/bin/env bash
# journal_cost.sh - what the access log's journal entries cost journald
# (issue 14), without a proxy, wrk or backends competing for the CPU: the
# figure tests/bench/accesslog.sh cannot hold steady on a shared machine.
# For each entry design, a fresh journald of the bench's own (a private
# mount namespace, tests/lib/journald.sh) takes REQUESTS synthetic
# requests from tests/tools/alog_jload, sent as the writer sends them;
# the bench reads journald's CPU time (/proc/PID/stat, once it is idle
# again) and the journal's size, per request.  ROUNDS rounds, medians.
#
#   sudo bash tests/bench/journal_cost.sh
#   sudo REQUESTS=200000 ROUNDS=5 bash tests/bench/journal_cost.sh
#
# The designs (alog_jload's options; CLIENTS=1000 for many clients):
#   single    -b 1      one entry per request, every field (modest rates)
#   ids64     -b 64 -i  entries of 64 lines, one REQUEST_ID per line and
#                       no other field (before every field was written)
#   msg128    -b 128 -m 128 lines and no field: the lines' own cost
#   msg256    -b 256 -m the same, 256 lines
#   id256     -b 256 -i 256 lines, MESSAGE and REQUEST_ID only
#   batch256  -b 256    256 lines, the filter fields' distinct values
#                       (REQUEST_ID, CLIENT, FRONTEND, SERVER, METHOD,
#                       STATUS, TERMINATION): what the writer sends
#   id256v, batch256v   the same with -v: values that vary per request
#                       as on a real site (sizes, times, paths)
# (Entries of 256 lines with every field's values, the design before
# 2026-12-07 12:00, are what alog_jload -b 256 sends at cc6a673.)
# Environment: REQUESTS (100000; single: a tenth), ROUNDS (3), CLIENTS
# (64: the clients' ports the requests cycle through), DESIGNS, LOAD
# (another alog_jload, e.g. an earlier commit's build: its entries).
set -uo pipefail
source "$(dirname "$0")/../lib/journald.sh"
journald_private "$0" "$@"
SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$SRC_DIR/build}
LOAD=${LOAD:-$BUILD_DIR/tests/alog_jload}
REQUESTS=${REQUESTS:-100000}
ROUNDS=${ROUNDS:-3}
CLIENTS=${CLIENTS:-64}
DESIGNS=${DESIGNS:-single msg256 id256 batch256 id256v batch256v}
declare -A OPTS=([single]="-b 1" [msg128]="-b 128 -m" [ids64]="-b 64 -i" [msg256]="-b 256 -m"
	[id256]="-b 256 -i" [batch256]="-b 256" [id256v]="-b 256 -v -i" [batch256v]="-b 256 -v")

die() { printf 'journal_cost: %s\n' "$*" >&2; exit 1; }
[[ $EUID -eq 0 ]] || die "run as root"
[[ -x "$LOAD" ]] || die "$LOAD is not built"
[[ -x "$JOURNALD" ]] || die "no $JOURNALD"
journald_start || die "cannot start a private journald"
kill "$JOURNALD_PID" && wait "$JOURNALD_PID" 2>/dev/null
trap 'rm -f "${TMPDIR:-/tmp}/journal_cost.$$"; [[ -n "${JOURNALD_PID:-}" ]] && kill "$JOURNALD_PID" 2>/dev/null' EXIT

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) * 1000 / hz }' "/proc/$1/stat"; }

# one DESIGN: journald's CPU us and journal bytes per request.
one() {
	local d=$1 n=$REQUESTS c0 c1 prev b0 b1
	[[ $d == single ]] && n=$((REQUESTS / 10))
	rm -rf /run/log/journal/*
	"$JOURNALD" >/dev/null 2>&1 </dev/null &
	JOURNALD_PID=$!
	for ((i = 0; i < 100; i++)); do
		[[ -S /run/systemd/journal/socket ]] && break
		sleep 0.05
	done
	sleep 0.3
	c0=$(cpu_ms "$JOURNALD_PID")
	b0=$(du -sb /run/log/journal | cut -f1)
	# shellcheck disable=SC2086
	"$LOAD" -n "$n" -c "$CLIENTS" ${OPTS[$d]} >/dev/null || {
		kill "$JOURNALD_PID" # one() runs in a pipeline: the EXIT trap is not ours
		die "alog_jload $d"
	}
	c1=$(cpu_ms "$JOURNALD_PID")
	prev=-1
	while [[ $c1 != "$prev" ]]; do # until journald has taken every entry
		prev=$c1
		sleep 0.3
		c1=$(cpu_ms "$JOURNALD_PID")
	done
	b1=$(du -sb /run/log/journal | cut -f1)
	kill "$JOURNALD_PID" && wait "$JOURNALD_PID" 2>/dev/null
	JOURNALD_PID=
	awk -v d="$d" -v a="$c0" -v b="$c1" -v x="$b0" -v y="$b1" -v n="$n" \
		'BEGIN { printf "%s %.2f %.0f\n", d, (b - a) * 1000 / n, (y - x) / n }'
}

: >"${TMPDIR:-/tmp}/journal_cost.$$"
for ((r = 1; r <= ROUNDS; r++)); do
	for d in $DESIGNS; do
		one "$d" | tee -a "${TMPDIR:-/tmp}/journal_cost.$$" | sed "s/^/  round $r  /" || exit 1
	done
done
printf '\n| entries | journald CPU us/request | journal bytes/request |\n|---|---:|---:|\n'
for d in $DESIGNS; do
	printf '| %s | %s | %s |\n' "$d" \
		"$(awk -v d="$d" '$1 == d { print $2 }' "${TMPDIR:-/tmp}/journal_cost.$$" | median)" \
		"$(awk -v d="$d" '$1 == d { print $3 }' "${TMPDIR:-/tmp}/journal_cost.$$" | median)"
done
rm -f "${TMPDIR:-/tmp}/journal_cost.$$"
