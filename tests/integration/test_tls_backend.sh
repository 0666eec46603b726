#!/usr/bin/env bash
# test_tls_backend.sh - issue 13: HTTPS to a backend ([server] tls = yes).
# be1 runs Apache with mod_ssl on port 443 only, with a certificate for
# be1.example.test signed by a CA the test makes with openssl; a second
# CA signed nothing of it.  Clients talk plain HTTP to the balancer.
#   1. tls_ca = the right CA: be1 is UP (https health checks), requests
#      are served (3 MB byte for byte, to a fast and a slow client), the
#      backend connections are kept alive and new ones resume their TLS
#      session;
#   2. reload with the wrong CA: the health check fails ("tls error") and
#      be1 goes DOWN: 503;  3. reload with the right CA: UP again;
#   4. the wrong CA and no health check in sight (interval 1 h): the
#      proxy's own connects fail the certificate check, logged with
#      OpenSSL's reason, counted as connect failures: DOWN after `fall`;
#   5. tls_verify = no with that wrong CA: served;
#   6. mode tcp: each client connection's bytes carried in TLS to be1;
#   7. andromeda -t refuses a missing tls_ca with "FILE: reason".
# Apache's access log says per request whether the connection's TLS
# session was resumed, and the request's number on its connection.
set -uo pipefail
source "$(dirname "$0")/../lib/lab.sh"
source "$SRC_DIR/tests/lib/lab-apache.sh"

BE_IP=$(lab_be_ip 1)
NAME=be1.example.test
URL="http://$LAB_LB_IP"
PKI="$LAB_DIR/pki"

# make_pki: CA "good" (signs be1's certificate) and CA "bad" (signs nothing).
make_pki() {
	local ca
	mkdir -p "$PKI" || return 1
	for ca in good bad; do
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
			-subj "/CN=andromeda test CA $ca" -keyout "$PKI/$ca-ca.key" \
			-out "$PKI/$ca-ca.pem" 2>/dev/null || return 1
	done
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$NAME" \
		-keyout "$PKI/be1.key" -out "$PKI/be1.csr" 2>/dev/null || return 1
	printf 'subjectAltName = DNS:%s\n' "$NAME" >"$PKI/be1.ext"
	openssl x509 -req -in "$PKI/be1.csr" -CA "$PKI/good-ca.pem" -CAkey "$PKI/good-ca.key" \
		-CAcreateserial -days 2 -extfile "$PKI/be1.ext" -out "$PKI/be1.pem" 2>/dev/null
}

# apache_tls_start: be1's Apache (lab-apache.sh's), on 443 with TLS only;
# at most 2 requests per connection, so both reuse and reconnects happen;
# its access log says, per request, whether the TLS session was resumed
# and the connection's request number (%k: 0 = its first).
apache_tls_start() {
	local d="$LAB_DIR/be1"
	lab_apache_conf be1 "$BE_IP" || return 1
	head -c 3000000 /dev/urandom >"$d/htdocs/www.example.test/big.bin" || return 1
	chmod 755 "$PKI"
	chmod 644 "$PKI"/be1.key
	sed -i -e "s|^Listen $BE_IP:80\$|Listen $BE_IP:443 https|" \
		-e 's|^MaxKeepAliveRequests 0$|MaxKeepAliveRequests 2|' \
		-e 's|<VirtualHost \*:80>|<VirtualHost *:443>|' "$d/httpd.conf"
	cat >>"$d/httpd.conf" <<-EOF
		LoadModule ssl_module $APACHE_MODULES/mod_ssl.so
		LoadModule socache_shmcb_module $APACHE_MODULES/mod_socache_shmcb.so
		SSLSessionCache shmcb:$d/run/ssl_scache(512000)
		SSLEngine on
		SSLCertificateFile $PKI/be1.pem
		SSLCertificateKeyFile $PKI/be1.key
		LogFormat "%U %{SSL_SESSION_RESUMED}x %{SSL_PROTOCOL}x %k" tlslog
		CustomLog "$d/logs/access.log" tlslog
	EOF
	# Every vhost speaks TLS (SSLEngine is per vhost in Apache).
	sed -i 's|^\([[:space:]]*\)DocumentRoot \(.*\)$|&\n\1SSLEngine on|' "$d/httpd.conf"
	if ! "$APACHE_BIN" -t -f "$d/httpd.conf" >"$d/configtest.log" 2>&1; then
		cat "$d/configtest.log" >&2
		return 1
	fi
	lab_spawn be1 apache "$APACHE_BIN" -f "$d/httpd.conf" -DFOREGROUND || return 1
	lab_wait_for 10 lab_exec client curl -sf -o /dev/null --max-time 1 \
		--cacert "$PKI/good-ca.pem" --resolve "$NAME:443:$BE_IP" "https://$NAME/healthz"
}

# write_conf CA [INTERVAL] [VERIFY] [MODE]
write_conf() {
	{
		lab_node_conf lb1
		printf '[frontend]\nlisten = %s:80\nmode = %s\n' "$LAB_LB_IP" "${4:-http}"
		# The threads lab_start_andromeda added: a reload that dropped
		# them would change a start-up key (a new process).
		[[ -n "${LAB_THREADS:-}" ]] && printf 'threads = %s\n' "$LAB_THREADS"
		printf '\n'
		printf '[backend]\nhealth_check = /healthz\nhealth_interval = %s\n' "${2:-200ms}"
		printf 'health_timeout = 200ms\nrise = 1\nfall = 2\nretries = 0\n'
		# No server: a request waits queue_timeout for one, then 503.
		printf 'queue_timeout = 1s\n\n'
		printf '[server be1]\naddress = %s:443\ntls = yes\ntls_ca = %s\n' "$BE_IP" "$1"
		printf 'tls_sni = %s\ntls_verify = %s\n' "$NAME" "${3:-yes}"
	} >"$LAB_DIR/lb.conf"
}

code() { lab_exec client curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$URL/?n=$1"; }
reloads() { grep -c "reload: .* applied" "$LAB_DIR/andromeda.log"; }
more_reloads() { (($(reloads) > $1)); }
reload() {
	local n
	n=$(reloads)
	lab_kill andromeda HUP && lab_wait_for 5 more_reloads "$n"
}
is_5xx() { [[ "$1" =~ ^50[23]$ ]]; }
logged() { grep -qF "$1" "$LAB_DIR/andromeda.log"; }
proxied() { grep -c "^/index.html " "$LAB_DIR/be1/logs/access.log"; }

require "running as root" test "$EUID" -eq 0
require "andromeda is built ($ANDROMEDA)" test -x "$ANDROMEDA"
require "apache2 with mod_ssl is installed" test -x "$APACHE_BIN" -a -f "$APACHE_MODULES/mod_ssl.so"
require "jq, curl and openssl are installed" lab_have jq curl openssl
lab_trap
require "lab namespace and bridge" lab_init
require "lab topology: client, lb, be1" lab_topology 1
require "a CA and be1's certificate (openssl)" make_pki
require "be1 serves HTTPS (Apache, mod_ssl)" apache_tls_start

# --- 1. the right CA ---------------------------------------------------------
write_conf "$PKI/good-ca.pem"
require "andromeda starts" lab_start_andromeda "$LAB_DIR/lb.conf"
check "be1 passes its https health checks" lab_wait_for 5 lab_server_state_is be1 up
body=$(lab_exec client curl -s --max-time 3 "$URL/")
check_eq "a request is served by be1 over TLS" "be1 www.example.test" "$body"
ok=0
for ((i = 0; i < 20; i++)); do
	[[ "$(lab_exec client curl -s --max-time 3 "$URL/")" == "be1 www.example.test" ]] && ok=$((ok + 1))
done
check_eq "20 more requests, each served" 20 "$ok"
check "Apache saw our requests over TLS 1.2 or 1.3" \
	grep -qE '^/index.html (Initial|Resumed) TLSv1\.[23] ' "$LAB_DIR/be1/logs/access.log"
check "a backend connection carried a second request (keep-alive)" \
	grep -qE '^/index.html [A-Za-z]+ TLSv1\.[23] [1-9]' "$LAB_DIR/be1/logs/access.log"
check "a new backend connection resumed its TLS session" \
	grep -qE '^/index.html Resumed ' "$LAB_DIR/be1/logs/access.log"
# Larger than every buffer on the way: TLS records decrypted ahead of the
# socket's readiness, the reader stopped and resumed by a full buffer.
want=$(sha256sum <"$LAB_DIR/be1/htdocs/www.example.test/big.bin")
got=$(lab_exec client curl -s --max-time 20 "$URL/big.bin" | sha256sum)
check_eq "3 MB through TLS, byte for byte" "$want" "$got"
got=$(lab_exec client curl -s --max-time 20 --limit-rate 300k "$URL/big.bin" | sha256sum)
check_eq "the same to a slow client (the proxy stops and resumes reading)" "$want" "$got"
echo "# Apache, proxied requests: $(grep -c '^/index.html Initial' "$LAB_DIR/be1/logs/access.log") on new sessions, $(grep -c '^/index.html Resumed' "$LAB_DIR/be1/logs/access.log") on resumed ones"

# --- 2. reload with a CA that did not sign be1's certificate -------------------
write_conf "$PKI/bad-ca.pem"
check "reload (SIGHUP)" reload
check "be1 goes DOWN (its health check fails the certificate)" \
	lab_wait_for 5 lab_server_state_is be1 down
check "the health check says why" \
	grep -qE 'be1 .* check failed: tls error .*\[SSL certificate problem' "$LAB_DIR/andromeda.log"
check_eq "requests get 503" 503 "$(code down)"

# --- 3. and back ---------------------------------------------------------------
write_conf "$PKI/good-ca.pem"
check "reload (SIGHUP)" reload
check "be1 is UP again" lab_wait_for 5 lab_server_state_is be1 up
check_eq "requests are served again" 200 "$(code back)"
lab_stop_andromeda

# --- 4. the proxy's own connects fail the certificate check ---------------------
mv "$LAB_DIR/andromeda.log" "$LAB_DIR/andromeda.1.log"
write_conf "$PKI/bad-ca.pem" 1h
require "andromeda starts (checks every hour)" lab_start_andromeda "$LAB_DIR/lb.conf"
before=$(proxied)
c1=$(code v1)
c2=$(code v2)
check "the first request is refused as for a dead server (502/503): $c1" is_5xx "$c1"
check "and the second: $c2" is_5xx "$c2"
check_eq "nothing reached Apache's application" "$before" "$(proxied)"
check "the proxy logged OpenSSL's reason" \
	logged "server be1: certificate verify failed: unable to get local issuer certificate"
check "counted as connect failures: be1 DOWN after fall = 2" lab_server_state_is be1 down
check "the DOWN line names the cause" logged "is DOWN (2 consecutive failed requests, last: tls error)"
failures=$(lab_server_field be1 failures)
check "status counts the failures ($failures)" test "${failures:-0}" -ge 2
lab_stop_andromeda

# --- 5. tls_verify = no --------------------------------------------------------
mv "$LAB_DIR/andromeda.log" "$LAB_DIR/andromeda.2.log"
write_conf "$PKI/bad-ca.pem" 200ms no
require "andromeda starts (tls_verify = no)" lab_start_andromeda "$LAB_DIR/lb.conf"
check "be1 is UP without verification" lab_wait_for 5 lab_server_state_is be1 up
check_eq "served without verification" 200 "$(code noverify)"
lab_stop_andromeda

# --- 6. mode tcp: the bytes of each client connection, in TLS to be1 -------------
mv "$LAB_DIR/andromeda.log" "$LAB_DIR/andromeda.3.log"
write_conf "$PKI/good-ca.pem" 200ms yes tcp
require "andromeda starts (mode tcp)" lab_start_andromeda "$LAB_DIR/lb.conf"
check "be1 is UP" lab_wait_for 5 lab_server_state_is be1 up
body=$(lab_exec client curl -s --max-time 3 "$URL/")
check_eq "a plain HTTP connection is carried in TLS to be1" "be1 www.example.test" "$body"
got=$(lab_exec client curl -s --max-time 20 "$URL/big.bin" | sha256sum)
check_eq "3 MB through the TLS tunnel, byte for byte" "$want" "$got"
lab_stop_andromeda

# --- 7. andromeda -t -----------------------------------------------------------
write_conf "$LAB_DIR/nonexistent-ca.pem"
out=$("$ANDROMEDA" -t -c "$LAB_DIR/lb.conf" 2>&1)
rc=$?
check_eq "andromeda -t refuses a missing tls_ca (exit 2)" 2 "$rc"
check "and names the file: $out" grep -qF "$LAB_DIR/nonexistent-ca.pem: " <<<"$out"

lab_finish
