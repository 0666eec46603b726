#!/usr/bin/env bash
# TLS termination (docs/tls.md): plain and TLS listeners at once; TLS 1.2
# and 1.3; ALPN http/1.1; SNI picks the certificate (exact name,
# wildcard, default), the full chain is sent; X-Forwarded-Proto says
# https; bad input on the TLS port (plain HTTP, garbage, a truncated or
# stalled ClientHello, old versions, no shared cipher) is closed and
# counted by cause; 1000 half-open handshakes time out with bounded
# memory; SIGHUP swaps a certificate while a keep-alive TLS connection
# goes on, and a bad one at reload keeps the old; andromeda -t refuses a
# missing, unparsable or expired certificate and a key that does not match,
# with "file: reason".  Certificates are made here (tests/lib/tls_certs.sh).
set -uo pipefail
source "$(dirname "$0")/../lib/lab.sh"

TLSC=$SRC_DIR/tests/tools/tls_client.py
LB=$LAB_LB_IP

lab_common_setup 1
require "openssl and python3 are installed" lab_have openssl python3
CERTS=$LAB_DIR/tls
require "test certificates" bash "$SRC_DIR/tests/lib/tls_certs.sh" "$CERTS"
cp "$CERTS/b.pem" "$CERTS/b-live.pem"

# write_conf FILE CERTS...: plain on 80, TLS on 443 and 8443.
write_conf() {
	local f=$1 list
	shift
	list=$(printf '%s, ' "$@")
	{
		lab_node_conf lb1
		printf '[frontend]\nlisten = %s:80\ntls_listen = %s:443, %s:8443\n' "$LB" "$LB" "$LB"
		printf 'tls_cert = %s\ntls_handshake_timeout = 1s\nkeepalive_timeout = 30s\n\n' "${list%, }"
		printf '[backend]\nhealth_check = /healthz\nhealth_interval = 500ms\nrise = 1\n\n'
		lab_servers_conf 1
	} >"$f"
}
CONF=$LAB_DIR/lb.conf
write_conf "$CONF" "$CERTS/a.pem" "$CERTS/b-live.pem" "$CERTS/le/fullchain.pem"

# --- andromeda -t: each bad file is named, with the reason --------------------
t_error() { # t_error FILE: andromeda -t on a config with FILE as second cert
	write_conf "$LAB_DIR/bad.conf" "$CERTS/a.pem" "$1"
	timeout 10 "$ANDROMEDA" -t -c "$LAB_DIR/bad.conf" 2>&1 >/dev/null
	echo "rc=$?"
}
for c in "missing.pem:No such file" "garbage.pem:no PEM certificate" \
	"expired.pem:certificate expired" "mismatch.pem:the private key does not match" \
	"nokey.pem:no private key"; do
	out=$(t_error "$CERTS/${c%%:*}")
	check "-t refuses ${c%%:*}: \"$CERTS/${c%%:*}: ${c#*:}...\", exit 2" \
		grep -q "^$CERTS/${c%%:*}: ${c#*:}.*rc=2" <<<"$(tr '\n' ' ' <<<"$out")"
done

require "andromeda starts (plain 80, TLS 443 + 8443)" lab_start_andromeda "$CONF"
check "be1 up" lab_wait_for 5 lab_all_up 1
require "TLS listener 8443 answers" lab_wait_tcp client "$LB" 8443 5

# curl_tls NAME [PORT] [curl args...]: GET https://NAME:PORT/ (NAME resolved
# to the balancer, the test CA trusted); verbose output in $LAB_DIR/v.
curl_tls() {
	local name=$1 port=${2:-443}
	shift 2
	lab_exec client timeout 10 curl -sS -v --resolve "$name:$port:$LB" --cacert "$CERTS/ca.pem" \
		"$@" "https://$name:$port/${PATHQ:-}" 2>"$LAB_DIR/v"
}
# subject NAME: the CN of the certificate the balancer sends for SNI NAME.
subject() {
	lab_exec client timeout 5 openssl s_client -connect "$LB:443" ${1:+-servername "$1"} \
		</dev/null 2>/dev/null | openssl x509 -noout -subject 2>/dev/null | sed 's/.*CN *= *//'
}
tls_failures() { lab_status_json | jq -r ".proxy.tls.failures.$1"; }

# --- protocol versions, ALPN, chain -------------------------------------------
check_eq "TLS 1.3 to a.test: 200 from be1" be1 "$(curl_tls a.test 443 --tlsv1.3)"
check "  negotiated TLSv1.3" grep -q "SSL connection using TLSv1.3" "$LAB_DIR/v"
check "  ALPN: the server accepted http/1.1" grep -q "ALPN: server accepted http/1.1" "$LAB_DIR/v"
check_eq "TLS 1.2 to b.test on 8443: 200 from be1" be1 "$(curl_tls b.test 8443 --tlsv1.2 --tls-max 1.2)"
check "  negotiated TLSv1.2 with an ECDHE AEAD suite" \
	grep -qE "SSL connection using TLSv1.2 / ECDHE-[A-Z]+-(AES[0-9]+-GCM-SHA[0-9]+|CHACHA20-POLY1305)" "$LAB_DIR/v"
chain=$(lab_exec client timeout 5 openssl s_client -connect "$LB:443" -servername a.test -showcerts \
	</dev/null 2>/dev/null | grep -c 'BEGIN CERTIFICATE')
check_eq "the full chain is sent (leaf + intermediate)" 2 "$chain"
check "a client trusting only the root verifies it" \
	eval "lab_exec client timeout 5 openssl s_client -connect $LB:443 -servername a.test \
		-CAfile $CERTS/ca.pem -verify_return_error </dev/null 2>&1 | grep -q 'Verify return code: 0 (ok)'"
alpn=$(lab_exec client timeout 5 openssl s_client -connect "$LB:443" -servername a.test -alpn h2 \
	</dev/null 2>&1)
check "a client offering only h2: handshake without ALPN, not a failure" \
	grep -q "No ALPN negotiated" <<<"$alpn"

# --- SNI -----------------------------------------------------------------------
check_eq "SNI b.test gets b.test's certificate" b.test "$(subject b.test)"
check_eq "SNI c.test gets certbot's fullchain.pem (key in privkey.pem)" c.test "$(subject c.test)"
check_eq "SNI x.a.test gets a.test's (*.a.test)" a.test "$(subject x.a.test)"
check_eq "an unknown name gets the default (the first file)" a.test "$(subject unknown.test)"
check_eq "no SNI gets the default" a.test "$(subject "")"
check_eq "curl verifies c.test against the test CA" be1 "$(curl_tls c.test 443)"

# --- resumption: session tickets (TLS 1.3 and 1.2) -------------------------
for v in tls1_3 tls1_2; do
	lab_exec client bash -c "sleep 0.5 | timeout 5 openssl s_client -$v -connect $LB:443 \
		-servername b.test -sess_out $LAB_DIR/sess.$v" >/dev/null 2>&1
	re=$(lab_exec client bash -c "sleep 0.3 | timeout 5 openssl s_client -$v -connect $LB:443 \
		-servername b.test -sess_in $LAB_DIR/sess.$v" 2>/dev/null | grep -Eo '^(Reused|New),')
	check_eq "$v: a second connection resumes the session from its ticket" "Reused," "$re"
done
# TLS 1.3 clients use a ticket once: the resumed connection must bring a
# new one, or the client's next connection is a full handshake.
lab_exec client bash -c "sleep 0.5 | timeout 5 openssl s_client -tls1_3 -connect $LB:443 \
	-servername b.test -sess_in $LAB_DIR/sess.tls1_3 -sess_out $LAB_DIR/sess.again" >/dev/null 2>&1
re=$(lab_exec client bash -c "sleep 0.3 | timeout 5 openssl s_client -tls1_3 -connect $LB:443 \
	-servername b.test -sess_in $LAB_DIR/sess.again" 2>/dev/null | grep -Eo '^(Reused|New),')
check_eq "tls1_3: a resumed connection gets a new ticket, which resumes the next" "Reused," "$re"
check "status counts the resumed handshakes" \
	eval '[[ $(lab_status_json | jq .proxy.tls.resumed) -ge 3 ]]'

# --- a response's head and body in one TLS record ----------------------------
# Records the client receives after the session ticket: the response's,
# then close_notify's (openssl -msg prints a header line for each).
msgs=$(lab_exec client bash -c "(printf 'GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n'; \
	sleep 0.5) | timeout 5 openssl s_client -tls1_3 -connect $LB:443 -servername a.test -msg -ign_eof" \
	2>/dev/null)
recs=$(awk '/^<<< .*NewSessionTicket/ { on = 1; n = 0; next }
	on && /^<<< .*RecordHeader/ { n++ }
	on && /^<<< .*close_notify/ { print n - 1; exit }' <<<"$msgs")
check_eq "a response's head and body come in one TLS record" 1 "$recs"
check "  with the body" grep -q '^be1' <<<"$msgs"

# --- headers: X-Forwarded-Proto ---------------------------------------------
PATHQ=headers curl_tls a.test 443 >"$LAB_DIR/h_tls"
check "the backend sees X-Forwarded-Proto: https over TLS" grep -q "^X-Forwarded-Proto: https" "$LAB_DIR/h_tls"
lab_exec client timeout 5 curl -s "http://$LB/headers" >"$LAB_DIR/h_plain"
check "and X-Forwarded-Proto: http on the plain listener" grep -q "^X-Forwarded-Proto: http" "$LAB_DIR/h_plain"
check "X-Forwarded-For names the client" grep -q "^X-Forwarded-For: $LAB_CLIENT_IP" "$LAB_DIR/h_tls"
big=$(PATHQ="x?bytes=3000000" curl_tls a.test 443 | wc -c)
check_eq "a 3 MB response over TLS arrives whole" 3000000 "$big"
head -c 2000000 /dev/urandom >"$LAB_DIR/up.bin"
up=$(curl_tls a.test 443 --data-binary "@$LAB_DIR/up.bin")
check_eq "a 2 MB upload over TLS arrives whole" "be1 got 2000000 bytes" "$up"

# s_client_raw PAYLOAD [LATER]: PAYLOAD (printf %b) over TLS to a.test:443,
# LATER half a second after, then the client closes 1.5 s later; what came
# back, CR stripped.
s_client_raw() {
	lab_exec client timeout 8 bash -c '(printf "%b" "$2"; sleep 0.5; printf "%b" "$3"; sleep 1.5) |
		openssl s_client -quiet -no_ign_eof -connect "$1:443" -servername a.test 2>/dev/null |
		tr -d "\r"' \
		_ "$LB" "$1" "${2:-}"
}
pipe=$(s_client_raw 'GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
check_eq "three pipelined requests in one TLS record: three answers" 3 "$(grep -c '^HTTP/1.1 200' <<<"$pipe")"
ws=$(s_client_raw 'GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n' 'hello-over-tls\n')
check "an Upgrade over TLS: 101, then the tunnel echoes through TLS" \
	eval "grep -q '^HTTP/1.1 101' <<<\"\$ws\" && grep -q '^hello-over-tls' <<<\"\$ws\""

# --- bad input on the TLS port --------------------------------------------
# raw443 PAYLOAD [close]: send bytes to :443; print "eof" when the balancer
# closes within 3 s (a FIN, or a reset if more bytes arrived after it gave
# up), nothing when it keeps the connection open.
raw443() {
	lab_exec client timeout 5 bash -c '
		trap "" PIPE # the balancer may close before all bytes are written
		exec 3<>"/dev/tcp/$1/443" || exit 1
		printf "%b" "$2" >&3 2>/dev/null
		if [[ -n "$3" ]]; then exec 3>&-; exit 0; fi
		timeout 3 cat <&3 >/dev/null 2>&1
		[[ $? != 124 ]] && echo eof' _ "$LB" "$1" "${2:-}"
}
check_eq "plain HTTP on the TLS port: closed" eof "$(raw443 'GET / HTTP/1.1\r\nHost: a\r\n\r\n')"
check "  counted as plain_http" lab_wait_for 3 eval '[[ $(tls_failures plain_http) -ge 1 ]]'
check_eq "garbage on the TLS port: closed" eof "$(raw443 '\x01\x02\x03\x04\x05garbage\r\n\r\n')"
check "  counted as not_tls" lab_wait_for 3 eval '[[ $(tls_failures not_tls) -ge 1 ]]'
raw443 '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' close >/dev/null
check "a truncated ClientHello then close: counted as client_closed" \
	lab_wait_for 3 eval '[[ $(tls_failures client_closed) -ge 1 ]]'
t0=$(lab_now_ms)
out=$(raw443 '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03')
t1=$(lab_now_ms)
check_eq "a stalled handshake is closed by the balancer" eof "$out"
check "  after tls_handshake_timeout (1 s): took $((t1 - t0)) ms" test $((t1 - t0)) -ge 900
check "  counted as timeout" lab_wait_for 3 eval '[[ $(tls_failures timeout) -ge 1 ]]'
lab_exec client timeout 5 openssl s_client -connect "$LB:443" -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' \
	</dev/null >/dev/null 2>&1
check "TLS 1.1 is refused: counted as protocol_version" \
	lab_wait_for 3 eval '[[ $(tls_failures protocol_version) -ge 1 ]]'
lab_exec client timeout 5 openssl s_client -connect "$LB:443" -tls1_2 -cipher 'AES128-SHA' \
	</dev/null >/dev/null 2>&1
check "a client with only RSA key exchange: counted as no_shared_cipher" \
	lab_wait_for 3 eval '[[ $(tls_failures no_shared_cipher) -ge 1 ]]'
check "a failed handshake is logged once per cause" \
	grep -q "TLS handshake from $LAB_CLIENT_IP:[0-9]* failed: plain_http" "$LAB_DIR/andromeda.log"
check_eq "andromedactl status shows the counters" 1 \
	"$(lab_ctl status | grep -c 'plain_http=[1-9]')"

# --- 1000 half-open handshakes: closed at the timeout, memory bounded --------
pid=$(lab_pid andromeda)
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
rss0=$(rss)
lab_exec client python3 "$TLSC" halfopen "$LB" 443 1000 3 >"$LAB_DIR/halfopen" &
hpid=$!
check "1000 half-open handshakes are accepted" \
	lab_wait_for 20 eval "grep -q '^open 1000' $LAB_DIR/halfopen"
rss1=$(rss)
wait "$hpid"
check_eq "the balancer closed every one of them" "closed 1000" "$(grep '^closed' "$LAB_DIR/halfopen")"
lab_log "RSS: $rss0 kB before, $rss1 kB with 1000 half-open handshakes"
limit=150000
lab_is_sanitize_build && limit=600000
check_le "RSS with 1000 half-open handshakes stays bounded (kB)" "$rss1" "$limit"
check "no client left open" lab_wait_for 5 eval '[[ $(lab_status_json | jq .proxy.clients) == 0 ]]'
check_eq "and it still serves TLS" be1 "$(curl_tls a.test 443)"

# --- SIGHUP: new certificate for new connections, the old connection goes on
fp() { openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1; }
rm -f "$LAB_DIR/flag"
lab_exec client python3 "$TLSC" keepalive "$LB" 443 b.test "$CERTS/ca.pem" "$LAB_DIR/flag" \
	>"$LAB_DIR/ka" 2>&1 &
kpid=$!
check "a keep-alive TLS connection got its first answer" \
	lab_wait_for 10 eval "grep -q '^first 200' $LAB_DIR/ka"
check_eq "  with b.pem's certificate" "cert $(fp "$CERTS/b.crt")" "$(grep '^cert' "$LAB_DIR/ka")"
cp "$CERTS/b2.pem" "$CERTS/b-live.pem"
lab_kill andromeda HUP
check "the reload loads the new certificate" \
	lab_wait_for 5 eval "grep -q 'TLS: reloaded certificate 2: b.test' $LAB_DIR/andromeda.log"
newfp=$(lab_exec client timeout 5 openssl s_client -connect "$LB:443" -servername b.test </dev/null \
	2>/dev/null | openssl x509 -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)
check_eq "a new connection gets b2.pem's certificate" "$(fp "$CERTS/b2.crt")" "$newfp"
touch "$LAB_DIR/flag"
wait "$kpid"
check_eq "the connection open across the reload still gets 200" "second 200" \
	"$(grep '^second' "$LAB_DIR/ka")"
cp "$CERTS/expired.pem" "$CERTS/b-live.pem"
lab_kill andromeda HUP
check "a reload with an expired certificate logs it and keeps the old ones" \
	lab_wait_for 5 eval "grep -q 'reload: TLS: $CERTS/b-live.pem: certificate expired.*keeping the certificates in use' $LAB_DIR/andromeda.log"
newfp=$(lab_exec client timeout 5 openssl s_client -connect "$LB:443" -servername b.test </dev/null \
	2>/dev/null | openssl x509 -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)
check_eq "b.test still gets b2.pem's certificate" "$(fp "$CERTS/b2.crt")" "$newfp"
check_eq "plain HTTP still works" be1 "$(lab_exec client timeout 5 curl -s "http://$LB/")"

lab_stop_andromeda

# --- mode tcp on a TLS listener: TLS offload of a TCP service ---------------
cp "$CERTS/b.pem" "$CERTS/b-live.pem"
write_conf "$CONF" "$CERTS/a.pem" "$CERTS/b-live.pem"
sed -i 's/^\[frontend\]$/&\nmode = tcp/' "$CONF"
require "andromeda starts in mode tcp with TLS listeners" lab_start_andromeda "$CONF"
check "be1 up" lab_wait_for 5 lab_all_up 1
check_eq "HTTPS through a TLS-terminating TCP tunnel reaches be1" be1 "$(curl_tls a.test 8443)"
PATHQ=headers curl_tls b.test 443 >"$LAB_DIR/h_tcp"
check "the bytes pass unchanged (no X-Forwarded-Proto added)" \
	eval "grep -q '^GET /headers' $LAB_DIR/h_tcp && ! grep -qi '^X-Forwarded-Proto' $LAB_DIR/h_tcp"
lab_stop_andromeda
lab_finish
