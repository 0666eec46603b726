#!/bin/bash
# tls_certs.sh DIR - a test CA and certificates, generated at test time
# with openssl (nothing secret is committed):
#   DIR/ca.pem                      the CA (what clients trust)
#   DIR/a.pem                       a.test + *.a.test, chain (leaf, intermediate) + key
#   DIR/b.pem                       b.test, chain + key
#   DIR/b2.pem                      b.test again, another key (a reload swaps to it)
#   DIR/le/fullchain.pem, privkey.pem   certbot's layout (c.test)
#   DIR/expired.pem                 expired leaf + key
#   DIR/mismatch.pem                a.test's chain with b.test's key
#   DIR/garbage.pem                 not PEM
#   DIR/nokey.pem                   a chain without any key
# ECDSA P-256 keys: quick to make, and what a Let's Encrypt user gets today.
set -euo pipefail
d=$1
mkdir -p "$d/le"
cd "$d"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
key ca.key
openssl req -x509 -new -key ca.key -days 30 -subj "/CN=andromeda test CA" -out ca.pem \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
key int.key
openssl req -new -key int.key -subj "/CN=andromeda test intermediate" -out int.csr 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign\n' >int.ext
openssl x509 -req -in int.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
	-extfile int.ext -out int.pem 2>/dev/null
# leaf NAME SANS DAYS [KEYFILE]: NAME.crt signed by the intermediate.
leaf() {
	local name=$1 sans=$2 days=$3 k=${4:-$1.key}
	[ -f "$k" ] || key "$k"
	openssl req -new -key "$k" -subj "/CN=${1}.test" -out "$name.csr" 2>/dev/null
	printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$sans" >"$name.ext"
	openssl x509 -req -in "$name.csr" -CA int.pem -CAkey int.key -CAcreateserial \
		-days "$days" -extfile "$name.ext" -out "$name.crt" 2>/dev/null
}
leaf a "DNS:a.test,DNS:*.a.test" 30
leaf b "DNS:b.test" 30
leaf b2 "DNS:b.test" 30
leaf c "DNS:c.test" 30
cat a.crt int.pem a.key >a.pem
cat b.crt int.pem b.key >b.pem
cat b2.crt int.pem b2.key >b2.pem
cat c.crt int.pem >le/fullchain.pem
cp c.key le/privkey.pem
cat a.crt int.pem b.key >mismatch.pem
cat a.crt int.pem >nokey.pem
echo "this is not a certificate" >garbage.pem
# Expired: valid from 3 days ago to 1 day ago (x509 -days cannot go back;
# openssl ca can set both dates).
key expired.key
openssl req -new -key expired.key -subj "/CN=expired.test" -out expired.csr 2>/dev/null
mkdir -p ca.db && : >ca.db/index && echo 01 >ca.db/serial
cat >ca.cnf <<CNF
[ca]
default_ca = c
[c]
database = ca.db/index
serial = ca.db/serial
new_certs_dir = ca.db
default_md = sha256
policy = p
[p]
commonName = supplied
CNF
openssl ca -batch -config ca.cnf -cert int.pem -keyfile int.key -in expired.csr \
	-startdate 20200101000000Z -enddate 20200102000000Z -out expired.crt -notext 2>/dev/null
cat expired.crt int.pem expired.key >expired.pem
