# tls_ha.sh - sourced after lab.sh and ha.sh by the tests of TLS on a VIP
# (test_tls_resume_failover.sh, test_tls_resume_upgrade.sh): a two-node
# cluster whose balancers terminate TLS on the VIP with the test
# certificates (tests/lib/tls_certs.sh in $CERTS), and an s_client
# request to it.

ha_setup 2 1
require "openssl is installed" lab_have openssl
CERTS=$LAB_DIR/tls
require "test certificates" bash "$SRC_DIR/tests/lib/tls_certs.sh" "$CERTS"

# tls_start I PRIORITY: ha_start with a TLS listener on the VIP.
tls_start() {
	local conf
	conf=$(ha_conf "$1" "$2")
	sed -i "s|^threads = .*|&\ntls_listen = $HA_VIP:443\ntls_cert = $CERTS/a.pem|" "$conf"
	timeout 10 "$ANDROMEDA" -t -c "$conf" >/dev/null || return 1
	lab_spawn "lb$1" "lb$1" ${HA_WRAP:-} "$ANDROMEDA" -c "$conf"
	lab_wait_for 5 ha_ctl "$1" status >/dev/null
}

# hello [-sess_in F | -sess_out F]: one HTTPS request to the VIP with
# s_client; prints its output ("New, ..." or "Reused, ...").  With
# -sess_out, the session saved includes the ticket (read with the answer).
hello() {
	printf 'GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n' |
		lab_exec client timeout 10 openssl s_client -connect "$HA_VIP:443" \
			-servername a.test -CAfile "$CERTS/ca.pem" -ign_eof "$@" 2>&1
}
proto_line() { grep -E '^(New|Reused), ' <<<"$1" | head -n1; }
resumes() { [[ "$(proto_line "$(hello -sess_in "$1")")" == Reused,* ]]; }
