#!/usr/bin/env bash
# test_abuse_http.sh - issue #7 "Bad input, end to end", HTTP part: one
# running balancer against hostile clients (tests/tools/abuse.c) and hostile
# backends (tests/tools/badsrv.c), while a well-behaved client (probe, a new
# connection every 50 ms) must get nothing but 200s from start to end.
#
#   client cases   request smuggling shapes, header floods (100k fields, a
#                  1 MB URI, a 1 MB head), slowloris, slow POST, pipelined
#                  garbage, half-close, resets mid-upload (fd leak check)
#   backend cases  one badsrv per mode, added to the pool by SIGHUP reload
#                  (weight 256 next to two good fakesrvs of weight 1, so
#                  nearly every request tries it first) and removed after:
#                  status each client gets, the connection closed, the
#                  failure counted and the server down after `fall` (a
#                  burst of timeouts counts once: never-answer stays up), the
#                  backend connection closed, memory bounded
#   the end        still serving, no more fds than at the start (+ margin),
#                  exit 0 on SIGTERM, no sanitizer report
#
# Hostile requests to badsrv are POSTs to /bad: not idempotent, so once sent
# they cannot be replayed and the client sees the failure.  The same GET
# is replayed on a good server (SPEC "Failure detection"), which is checked
# too.  Paths other than /bad get normal answers from badsrv, so the probe
# never meets a hostile answer and its failures must stay at 0.
set -uo pipefail
source "$(dirname "$0")/../lib/lab.sh"

ABUSE=${ABUSE:-$BUILD_DIR/tests/abuse}
BADSRV=${BADSRV:-$BUILD_DIR/tests/badsrv}
PROBE=${PROBE:-$BUILD_DIR/tests/probe}
BAD_IP=$(lab_be_ip 3)
FALL=2
SERVER_TIMEOUT_MS=1000
FD_MARGIN=4
RSS_LIMIT_KB=$((32 * 1024))

# ---------------------------------------------------------------- helpers --

# write_conf [BAD]: the configuration, with the hostile server when BAD=1.
write_conf() {
	{
		lab_node_conf lb1
		printf '[frontend]\nlisten = %s:80\nheader_timeout = 1s\nclient_timeout = 1s\n\n' "$LAB_LB_IP"
		printf '[backend]\nserver_timeout = %dms\nconnect_timeout = 500ms\nretries = 2\n' "$SERVER_TIMEOUT_MS"
		# rise 4 x 500 ms: a server taken down by failures stays down ~2 s,
		# long enough to be seen in status.
		printf 'health_check = /healthz\nhealth_interval = 500ms\nrise = 4\nfall = %d\n\n' "$FALL"
		lab_servers_conf 2
		if [[ "${1:-0}" == 1 ]]; then
			printf '[server bad]\naddress = %s:80\nweight = 256\n\n' "$BAD_IP"
		fi
	} >"$LAB_DIR/lb.conf.new"
	mv "$LAB_DIR/lb.conf.new" "$LAB_DIR/lb.conf"
}

# abuse ARGS... : one raw client run from the client host; prints its line.
abuse() { lab_exec client timeout 60 "$ABUSE" "$LAB_LB_IP" 80 "$@"; }

# field NAME LINE: a key=value field of an abuse output line.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p; s/^$1=\([^ ]*\).*/\1/p" <<<"$2" | head -n1; }

closed() { [[ "$(field closed "$1")" == eof || "$(field closed "$1")" == reset ]]; }

# expect_closed DESC STATUS LINE: the client got exactly STATUS and the
# server closed the connection.
expect_closed() {
	local st c
	st=$(field statuses "$3")
	c=$(field closed "$3")
	[[ "$c" == reset ]] && c=eof # a reset after the answer is a close too
	check_eq "$1 -> $2, connection closed" "$2|eof" "$st|$c"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }
daemon_pid() { lab_pid andromeda; }
fd_count() { ls "/proc/$(daemon_pid)/fd" 2>/dev/null | wc -l; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$(daemon_pid)/status" 2>/dev/null; }

# fds_at_most MAX: the daemon holds at most MAX fds.
fds_at_most() { (($(fd_count) <= $1)); }

reload() {
	lab_kill andromeda HUP
}

srv_field() { lab_server_field "$1" "$2"; }
srv_listed() { [[ -n "$(srv_field "$1" name)" ]]; }
srv_gone() { ! srv_listed "$1"; }

bad_stats() { lab_exec client curl -s --max-time 2 "http://$BAD_IP/stats" | jq -r ".$1"; }
bad_active_is() { [[ "$(bad_stats active)" == "$1" ]]; }

# Failures before T (default: all).  The probe reports the request its
# SIGTERM interrupts as failed: the count stops at the moment we stop it.
probe_failures() { awk -v t="${1:-9999999999999}" '$1 < t && $2 == "fail"' "$LAB_DIR/probe.log" | wc -l; }
probe_oks() { grep -c ' ok ' "$LAB_DIR/probe.log"; }

# Sample the daemon's VmRSS every 50 ms while $LAB_DIR/sampling exists.
rss_sampler() {
	local pid=$1 max=0 n=0 kb
	while [[ -e "$LAB_DIR/sampling" ]]; do
		kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || break
		[[ -n "$kb" ]] || break
		((kb > max)) && max=$kb
		n=$((n + 1))
		echo "$max $n" >"$LAB_DIR/rss.max"
		sleep 0.05
	done
}

# ------------------------------------------------------------------ setup --

# Sanitizer builds: ASan holds freed memory back (its quarantine, 256 MB by
# default), so RSS growth there measures how much was freed, not what is
# held: bound it, and allow for it below (as tests/soak/soak.sh does).
ASAN_QUARANTINE_MB=16
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=$ASAN_QUARANTINE_MB"
lab_common_setup 2
require "abuse tool is built ($ABUSE)" test -x "$ABUSE"
require "badsrv is built ($BADSRV)" test -x "$BADSRV"
require "probe is built ($PROBE)" test -x "$PROBE"
require "tcpdump is installed" lab_have tcpdump
require "host be3 for the hostile backends" lab_host be3 "$BAD_IP/24"
write_conf 0
require "andromeda starts" lab_start_andromeda "$LAB_DIR/lb.conf"
check "be1 and be2 up" lab_wait_for 5 lab_all_up 2
sleep 0.5
FD0=$(fd_count)
RSS0=$(rss_kb)
echo "# daemon at start: $FD0 fds, VmRSS $RSS0 kB"

# The well-behaved client, for the whole test (bounded: 800 s, 16000
# probes; the test stops it, and the bound must outlast a slow run, or the
# probe would end early and its checks pass for nothing).
: >"$LAB_DIR/probe.log"
lab_spawn client probe sh -c "exec '$PROBE' $LAB_LB_IP 80 50 3000 800000 16000 >'$LAB_DIR/probe.log'"
check "the probe gets answers" lab_wait_for 3 bash -c "grep -q ' ok ' '$LAB_DIR/probe.log'"

H='Host: abuse.test\r\n'

# -------------------------------------------------------- request smuggling --
# Every one is refused from its head (or its first chunk-size line) with 400
# and the connection closed.  The head-refused ones must not reach a
# backend: each carries an X-Test-Id the fake backends log for any POST.
smuggle() { # DESC PAYLOAD (after the request line and Host)
	local out
	out=$(abuse -p "POST /smuggle HTTP/1.1\r\n${H}X-Test-Id: smug-$SMUG_N\r\n$2" --wait 3000)
	expect_closed "smuggling: $1" 400 "$out"
	SMUG_N=$((SMUG_N + 1))
}
SMUG_N=1
# What reaches the backends, as seen on their wire.  A control request
# proves the sniffers see test ids.
for i in 1 2; do
	lab_spawn "be$i" "sniff$i" tcpdump -i eth0 -l -n -A -s 0 'tcp dst port 80'
done
# Both sniffers must see a control request (round-robin sends one to each
# backend): sent again at each poll, so a tcpdump that starts late is
# waited for instead of slept for.
sniffing() {
	local i
	for i in 1 2; do
		lab_exec client curl -s -o /dev/null --max-time 2 -H 'X-Test-Id: sniff-control' "http://$LAB_LB_IP/"
	done
	grep -aq 'X-Test-Id: sniff-control' "$LAB_DIR/sniff1.log" &&
		grep -aq 'X-Test-Id: sniff-control' "$LAB_DIR/sniff2.log"
}
require "tcpdump on be1 and be2 sees requests reaching the backends" lab_wait_for 10 sniffing
smuggle "Content-Length then Transfer-Encoding" \
	'Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX'
smuggle "Transfer-Encoding then Content-Length" \
	'Transfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n0\r\n\r\nX'
smuggle "two equal Content-Length lines" \
	'Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello'
smuggle "two different Content-Length lines" \
	'Content-Length: 5\r\nContent-Length: 50\r\n\r\nhello'
smuggle "Transfer-Encoding value on an obs-fold line" \
	'Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n'
smuggle "Transfer-Encoding: chunked, then a second line 'identity'" \
	'Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n'
smuggle "Transfer-Encoding: chunked on two lines (chunked twice)" \
	'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
smuggle "space before the colon (Transfer-Encoding :)" \
	'Transfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\nhello'
smuggle "NUL inside a header value" \
	'X-Nul: a\0b\r\nContent-Length: 5\r\n\r\nhello'
lab_stop sniff1 3 >/dev/null
lab_stop sniff2 3 >/dev/null
check_eq "no head-refused request reached a backend (tcpdump on be1, be2)" "" \
	"$(grep -aho 'X-Test-Id: smug-[0-9]*' "$LAB_DIR"/sniff*.log | sort -u | paste -sd' ')"

# Refused at the chunk-size line (the head may have gone ahead).
smuggle "chunk size overflowing 64 bits" \
	'Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nhello\r\n0\r\n\r\n'
smuggle "chunk size with leading junk (space)" \
	'Transfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n'
smuggle "chunk size with leading junk (0x)" \
	'Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n'
smuggle "chunk size with trailing junk (5z)" \
	'Transfer-Encoding: chunked\r\n\r\n5z\r\nhello\r\n0\r\n\r\n'
smuggle "chunk size with trailing junk after a space (5 junk)" \
	'Transfer-Encoding: chunked\r\n\r\n5 junk\r\nhello\r\n0\r\n\r\n'
smuggle "chunk size with a sign (+5)" \
	'Transfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n'

# ---------------------------------------------------------- header floods --
{
	printf 'GET /flood HTTP/1.1\r\nHost: abuse.test\r\n'
	awk 'BEGIN { for (i = 0; i < 100000; i++) printf "X-F%d: v\r\n", i }'
	printf '\r\n'
} >"$LAB_DIR/100k-headers.req"
out=$(abuse -f "$LAB_DIR/100k-headers.req" --wait 5000)
expect_closed "100k header fields ($(stat -c %s "$LAB_DIR/100k-headers.req") bytes)" 431 "$out"

{
	printf 'GET /'
	head -c $((1024 * 1024)) /dev/zero | tr '\0' u
	printf ' HTTP/1.1\r\nHost: abuse.test\r\n\r\n'
} >"$LAB_DIR/1m-uri.req"
out=$(abuse -f "$LAB_DIR/1m-uri.req" --wait 5000)
expect_closed "1 MB request-target" 414 "$out"

{
	printf 'GET /bighead HTTP/1.1\r\nHost: abuse.test\r\n'
	for ((i = 0; i < 50; i++)); do
		printf 'X-Big-%d: %s\r\n' "$i" "$(head -c 20960 /dev/zero | tr '\0' b)"
	done
	printf '\r\n'
} >"$LAB_DIR/1m-head.req"
out=$(abuse -f "$LAB_DIR/1m-head.req" --wait 5000)
expect_closed "1 MB header block (50 fields of 20 kB)" 431 "$out"

# ------------------------------------------------------- slow clients -----
out=$(abuse -p "GET /slow HTTP/1.1\r\n${H}X-Slow: yes\r\n\r\n" --drip 1000 --timeout 10000)
expect_closed "slowloris: the head at 1 byte/s" 408 "$out"
ms=$(field first_ms "$out")
check_ge "slowloris: 408 not before header_timeout (ms)" "$ms" 900
check_le "slowloris: 408 within header_timeout + 1.5 s (ms)" "$ms" 2500

head="POST /slowpost HTTP/1.1\r\n${H}X-Test-Id: slowpost\r\nContent-Length: 20\r\n\r\n"
hl=$(printf "%b" "$head" | wc -c)
out=$(abuse -p "${head}abcdefghijklmnopqrst" --drip-from "$hl" --drip 1500 --timeout 10000)
expect_closed "slow POST: the body at 1 byte per 1.5 s" 408 "$out"
ms=$(field first_ms "$out")
check_ge "slow POST: 408 not before client_timeout (ms)" "$ms" 900
check_le "slow POST: 408 within client_timeout + 1 s (ms)" "$ms" 2000
check_eq "slow POST: the truncated body was not logged by a backend" "" \
	"$(cat "$LAB_DIR"/be*.posts 2>/dev/null | grep ' slowpost ' | paste -sd' ')"

# ------------------------------------------------ pipelining, half-close --
out=$(abuse -p "GET /first HTTP/1.1\r\n${H}\r\nGARBAGE IN THE PIPE\r\n\r\n" --wait 3000)
check_eq "pipelined garbage after a good request -> 200 then 400, closed" "200,400|eof" \
	"$(field statuses "$out")|$(closed "$out" && echo eof)"
check_eq "... the 200 is complete and comes from a backend" "2|be" \
	"$(field complete "$out")|$(field server "$out" | cut -c1-2)"

out=$(abuse -p "GET /halfclose HTTP/1.1\r\n${H}\r\n" --shut-wr --wait 3000)
check_eq "half-closed client after a complete request still gets 200, then close" "200|1|eof" \
	"$(field statuses "$out")|$(field complete "$out")|$(closed "$out" && echo eof)"

out=$(abuse -p "POST /halfclose HTTP/1.1\r\n${H}X-Test-Id: half-post\r\nContent-Length: 5\r\n\r\nhello" --shut-wr --wait 3000)
check_eq "half-closed client after a complete POST still gets 200" "200|1" \
	"$(field statuses "$out")|$(field complete "$out")"

# ------------------------------------------- resets in the middle of uploads --
fd_before=$(fd_count)
head_big="POST /upload HTTP/1.1\r\n${H}X-Test-Id: rst\r\nContent-Length: 10485760\r\n\r\n"
head -c 200000 /dev/zero | tr '\0' r >"$LAB_DIR/rst.body"
{ printf "%b" "$head_big"; cat "$LAB_DIR/rst.body"; } >"$LAB_DIR/rst.req"
rst_ok=0
for ((i = 1; i <= 40; i++)); do
	# Alternate: reset inside the head, just after it, and well into the body.
	case $((i % 3)) in
	0) n=20 ;;
	1) n=$(($(printf "%b" "$head_big" | wc -c) + 10)) ;;
	2) n=150000 ;;
	esac
	out=$(abuse -f "$LAB_DIR/rst.req" --rst-after "$n" --timeout 5000)
	[[ "$(field closed "$out")" == client ]] && rst_ok=$((rst_ok + 1))
done
check_eq "40 uploads reset by the client (SO_LINGER 0) mid-head and mid-body" 40 "$rst_ok"
check "daemon fds back to where they were within 3 s (before: $fd_before)" \
	lab_wait_for 3 fds_at_most $((fd_before + FD_MARGIN))
echo "# fds after the resets: $(fd_count) (before $fd_before)"
check "andromeda alive after the client cases" lab_alive andromeda
check_eq "probe failures during the client cases" 0 "$(probe_failures)"

# ------------------------------------------------------- hostile backends --

# bad_start MODE [badsrv args]: start badsrv, put it in the pool, wait until up.
bad_start() {
	local mode=$1
	shift
	lab_spawn be3 "bad-$mode" "$BADSRV" -l "$BAD_IP:80" -n bad "--$mode" -t /bad "$@" || return 1
	lab_wait_tcp client "$BAD_IP" 80 5 || return 1
	write_conf 1
	reload
	lab_wait_for 8 lab_server_state_is bad up
}

# bad_stop MODE: out of the pool first (nothing new goes there), then stop it.
bad_stop() {
	write_conf 0
	reload
	check "$1: the hostile server leaves the pool on reload" lab_wait_for 5 srv_gone bad
	lab_stop "bad-$1" 5 >/dev/null
}

# hostile REQUEST_TAIL ARGS...: send "POST /bad" until it lands on badsrv
# (a response naming be1/be2 landed on a good server), at most 8 tries.
# Prints the abuse line of the one that reached badsrv.
hostile() {
	local tail=$1 out i before
	shift
	for ((i = 0; i < 8; i++)); do
		lab_wait_for 8 lab_server_state_is bad up || break
		before=$(bad_stats hostile)
		out=$(abuse -p "POST /bad HTTP/1.1\r\n${H}X-Test-Id: hostile\r\n$tail" "$@")
		if [[ "$(bad_stats hostile)" != "$before" ]]; then
			echo "$out"
			return 0
		fi
	done
	echo "statuses=never-reached-badsrv"
}

POST_TAIL='Content-Length: 5\r\n\r\nhello'

# fall_check MODE: `fall` hostile POSTs at once (abuse --parallel: all
# connected before any is sent), then the server must be down in status.
# At once, because the probe runs throughout and badsrv answers it: a
# request that succeeds on badsrv between two failures resets the count of
# consecutive failed requests (core/pool/pool.c), and failures sent one after
# the other, or by processes started one after the other, leave a window
# as wide as a loaded machine makes it.  A probe success in the
# microseconds between failures sent together is still possible, hence up
# to 3 rounds.
fall_check() {
	local r
	for ((r = 0; r < 3; r++)); do
		lab_wait_for 8 lab_server_state_is bad up || break
		abuse -p "POST /bad HTTP/1.1\r\n${H}X-Test-Id: fall\r\n$POST_TAIL" --parallel "$FALL" --wait 4000 >/dev/null
		if lab_wait_for 1 lab_server_state_is bad down; then
			check "$1: marked down after $FALL failures (failures=$(srv_field bad failures))" true
			return
		fi
	done
	check "$1: marked down after $FALL failures in a row (state $(srv_field bad state), failures $(srv_field bad failures))" false
}

# burst_check MODE: FALL hostile requests that time out together are one
# piece of evidence (issue 19, docs/health-checks.md "Passive health"):
# each is counted, but the server stays in rotation.
burst_check() {
	local f0
	lab_wait_for 8 lab_server_state_is bad up
	f0=$(srv_field bad failures)
	abuse -p "POST /bad HTTP/1.1\r\n${H}X-Test-Id: burst\r\n$POST_TAIL" --parallel "$FALL" --wait 4000 >/dev/null
	check_ge "$1: the timeouts of the burst are counted" "$(srv_field bad failures)" $((f0 + 1))
	check "$1: $FALL timeouts together do not take it out (a burst counts once)" \
		lab_holds 1 lab_server_state_is bad up
}

# Each hostile answer's connection is closed by the proxy in the end.
backend_conns_closed() {
	check "$1: the proxy closed every hostile backend connection" lab_wait_for 4 bad_active_is 0
}

# --- malformed status line -> 502; a GET is replayed elsewhere
require "malformed: badsrv in the pool" bad_start malformed
out=$(hostile "$POST_TAIL" --wait 3000)
expect_closed "malformed status line from the backend" 502 "$out"
check_ge "malformed: the failure is counted" "$(srv_field bad failures)" 1
before=$(bad_stats hostile)
out=$(abuse -p "GET /bad HTTP/1.1\r\n${H}\r\n" --wait 2000)
check_eq "malformed: a GET is replayed on a good server (200 from be*)" "200|be" \
	"$(field statuses "$out")|$(field server "$out" | cut -c1-2)"
check_ge "... after badsrv answered it" "$(bad_stats hostile)" $((before + 1))
fall_check malformed
backend_conns_closed malformed
bad_stop malformed

# --- never answers -> 504 after server_timeout, counted
require "never-answer: badsrv in the pool" bad_start never-answer
out=$(hostile "$POST_TAIL" --wait 5000)
expect_closed "backend that never answers" 504 "$out"
ms=$(field first_ms "$out")
check_ge "never-answer: 504 not before server_timeout (ms)" "$ms" $((SERVER_TIMEOUT_MS - 100))
check_le "never-answer: 504 within server_timeout + 1 s (ms)" "$ms" $((SERVER_TIMEOUT_MS + 1000))
check_ge "never-answer: the failure is counted" "$(srv_field bad failures)" 1
out=$(abuse -p "GET /bad HTTP/1.1\r\n${H}\r\n" --wait 5000)
check_eq "never-answer: a GET gets 200 from a good server after the timeout" "200|be" \
	"$(field statuses "$out")|$(field server "$out" | cut -c1-2)"
burst_check never-answer
backend_conns_closed never-answer
bad_stop never-answer

# --- reset mid-body -> the client's connection is cut, the response short
require "reset-mid-body: badsrv in the pool" bad_start reset-mid-body
out=$(hostile "$POST_TAIL" --wait 5000)
check_eq "reset mid-body: client got the head, then the connection closed (no complete response)" \
	"200|0|eof" "$(field statuses "$out")|$(field complete "$out")|$(closed "$out" && echo eof)"
check_le "reset mid-body: truncated body (bytes)" "$(field body "$out")" 99999
check_ge "reset mid-body: the failure is counted" "$(srv_field bad failures)" 1
fall_check reset-mid-body
bad_stop reset-mid-body

# --- endless headers -> 502
require "endless-headers: badsrv in the pool" bad_start endless-headers
out=$(hostile "$POST_TAIL" --wait 5000)
expect_closed "endless response head from the backend" 502 "$out"
check_ge "endless-headers: the failure is counted" "$(srv_field bad failures)" 1
fall_check endless-headers
backend_conns_closed endless-headers
bad_stop endless-headers

# --- a 100 kB header line -> 502
require "huge-header: badsrv in the pool" bad_start huge-header
out=$(hostile "$POST_TAIL" --wait 5000)
expect_closed "100 kB response header line" 502 "$out"
check_ge "huge-header: the failure is counted" "$(srv_field bad failures)" 1
fall_check huge-header
backend_conns_closed huge-header
bad_stop huge-header

# --- Content-Length larger than the body, then close
require "wrong-length: badsrv in the pool" bad_start wrong-length
out=$(hostile "$POST_TAIL" --wait 5000)
check_eq "wrong Content-Length: client got the head and the short body, then close" \
	"200|0|eof|100" \
	"$(field statuses "$out")|$(field complete "$out")|$(closed "$out" && echo eof)|$(field body "$out")"
check_ge "wrong-length: the failure is counted" "$(srv_field bad failures)" 1
fall_check wrong-length
bad_stop wrong-length

# --- a chunked body that never ends: bytes flow, memory stays bounded
require "endless-body: badsrv in the pool" bad_start endless-body --chunk 65536 --every 2
pid=$(daemon_pid)
# Growth is the endless bodies' own: from just before them, not from the
# start (the floods above may leave the allocator's high-water mark up).
RSS_EB0=$(rss_kb)
touch "$LAB_DIR/sampling"
rss_sampler "$pid" &
sampler=$!
out=$(hostile "$POST_TAIL" --max-body $((64 * 1024 * 1024)) --timeout 60000)
check_eq "endless body: the client reads 64 MB, then closes" "200|client" \
	"$(field statuses "$out")|$(field closed "$out")"
check_ge "endless body: bytes received" "$(field body "$out")" $((64 * 1024 * 1024))
# A client that pauses shorter than client_timeout: back-pressure holds the
# stream (nothing is buffered beyond the socket buffers), then it resumes.
out=$(hostile "$POST_TAIL" --read-delay 800 --max-body $((8 * 1024 * 1024)) --timeout 30000)
check_eq "endless body to a client that pauses 0.8 s: streams on after the pause" "200|client" \
	"$(field statuses "$out")|$(field closed "$out")"
check_ge "... and reads its 8 MB (bytes)" "$(field body "$out")" $((8 * 1024 * 1024))
# A client that stops reading for longer than client_timeout is cut, and the
# backend connection goes with it (while the client still sleeps).
paused_cut() {
	local before apid
	before=$(bad_stats hostile)
	lab_exec client timeout 30 "$ABUSE" "$LAB_LB_IP" 80 -p "POST /bad HTTP/1.1\r\n${H}X-Test-Id: pause\r\n$POST_TAIL" \
		--read-delay 6000 --max-body $((64 * 1024 * 1024)) --timeout 30000 >"$LAB_DIR/pause.out" &
	apid=$!
	if ! lab_wait_for 2 bash -c "[[ \$(curl -s --max-time 1 http://$BAD_IP/stats | jq .hostile) != $before ]]" 2>/dev/null; then
		wait "$apid"
		return 2 # landed on a good server: try again
	fi
	lab_wait_for 5 bad_active_is 0
	local rc=$?
	wait "$apid"
	return $rc
}
rc=2
for ((i = 0; i < 3 && rc == 2; i++)); do
	paused_cut
	rc=$?
done
check_eq "endless body to a client that stops reading 6 s: cut within 5 s (backend connection closed)" 0 "$rc"
out=$(cat "$LAB_DIR/pause.out")
check_eq "... the client finds its connection closed" "200|eof" \
	"$(field statuses "$out")|$(closed "$out" && echo eof)"
check_le "... short of the 64 MB it wanted (bytes)" "$(field body "$out")" $((64 * 1024 * 1024 - 1))
rm -f "$LAB_DIR/sampling"
wait "$sampler"
read -r max samples <"$LAB_DIR/rss.max" || max=-1 samples=0
check_ge "VmRSS sampled during the endless bodies" "$samples" 20
if lab_is_sanitize_build; then
	check_le "endless body: VmRSS growth (kB; from $RSS_EB0 to $max; + ASan quarantine)" \
		$((max - RSS_EB0)) $(((16 + ASAN_QUARANTINE_MB) * 1024))
else
	check_le "endless body: VmRSS growth (kB; from $RSS_EB0 to $max)" $((max - RSS_EB0)) $((16 * 1024))
fi
if lab_is_sanitize_build; then
	check_le "sanitizer build: VmRSS peak under 64 MB (kB)" "$max" $((64 * 1024))
else
	check_le "endless body: VmRSS stays under 32 MB (kB)" "$max" "$RSS_LIMIT_KB"
fi
backend_conns_closed endless-body
bad_stop endless-body

# ------------------------------------------------------------------ the end --
check "andromeda still running" lab_alive andromeda
check_eq "a normal request still works" "200" \
	"$(lab_exec client curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://$LAB_LB_IP/")"
t_stop=$(now_ms)
lab_stop probe 5 >/dev/null
echo "# probe: $(probe_oks) ok, $(probe_failures "$t_stop") failed"
check_ge "the probe ran throughout" "$(probe_oks)" 200
check_eq "the well-behaved client never failed" 0 "$(probe_failures "$t_stop")"
awk -v t="$t_stop" '$1 < t && $2 == "fail"' "$LAB_DIR/probe.log" | head -n 5
check "no more fds than at the start + $FD_MARGIN (start $FD0)" lab_wait_for 3 fds_at_most $((FD0 + FD_MARGIN))
echo "# daemon at the end: $(fd_count) fds, VmRSS $(rss_kb) kB"
lab_stop_andromeda
lab_finish
