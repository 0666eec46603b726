/* test_tls_backend.c - the client side of HTTPS to a server
 * (core/proxy/tls_backend.c) over a socketpair, against an OpenSSL
 * server in the same process: the handshake with and without
 * verification and the reason a failed one gives, SNI, the session kept
 * per thread and offered again (resumption), a TLS 1.3 ticket offered
 * once only (RFC 8446 C.4), recv/send with the socket
 * contract, bytes decrypted ahead of the socket (pending), a
 * configuration that cannot load its CA file. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "tls_backend.h"

static EVP_PKEY *pkey;
static X509 *cert;
static SSL_CTX *server;
static char sni_seen[64];

/* The test server's tickets: each made with its own IV, so the IVs of the
 * tickets it is offered tell whether one came twice. */
#define IVS_MAX 16
static unsigned char ivs[IVS_MAX][16];
static int nivs, reused;
static unsigned char tkey[32], tmac[32];

static int on_ticket(SSL *s, unsigned char name[16], unsigned char *iv, EVP_CIPHER_CTX *cctx,
		     EVP_MAC_CTX *hctx, int enc)
{
	OSSL_PARAM p[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};

	(void)s;
	if (enc) {
		memset(name, 'k', 16);
		if (RAND_bytes(iv, 16) != 1)
			return -1;
	} else {
		for (int i = 0; i < nivs; i++)
			reused += !memcmp(ivs[i], iv, 16);
		if (nivs < IVS_MAX)
			memcpy(ivs[nivs++], iv, 16);
	}
	if (EVP_CipherInit_ex(cctx, EVP_aes_256_cbc(), NULL, tkey, iv, enc) != 1 ||
	    EVP_MAC_init(hctx, tmac, sizeof(tmac), p) != 1)
		return -1;
	return enc ? 1 : 2; /* 2: send new tickets after a resumption too */
}

static int on_sni(SSL *s, int *alert, void *arg)
{
	const char *n = SSL_get_servername(s, TLSEXT_NAMETYPE_host_name);

	(void)alert;
	(void)arg;
	snprintf(sni_seen, sizeof(sni_seen), "%s", n ? n : "");
	return SSL_TLSEXT_ERR_OK;
}

/* A self-signed P-256 certificate for "be.test", and a server on it. */
static void setup(void)
{
	X509_NAME *nm;

	pkey = EVP_EC_gen("P-256");
	cert = X509_new();
	cr_assert(pkey && cert);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(cert), -60);
	X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
	X509_set_pubkey(cert, pkey);
	nm = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"be.test", -1,
				   -1, 0);
	X509_set_issuer_name(cert, nm);
	cr_assert(X509_sign(cert, pkey, EVP_sha256()) > 0);
	server = SSL_CTX_new(TLS_server_method());
	cr_assert(server);
	cr_assert_eq(SSL_CTX_use_certificate(server, cert), 1);
	cr_assert_eq(SSL_CTX_use_PrivateKey(server, pkey), 1);
	SSL_CTX_set_tlsext_servername_callback(server, on_sni);
	SSL_CTX_set_tlsext_ticket_key_evp_cb(server, on_ticket);
	nivs = reused = 0;
}

static void teardown(void)
{
	tls_backend_clear();
	SSL_CTX_free(server);
	X509_free(cert);
	EVP_PKEY_free(pkey);
}

/* One [server s] with tls = yes. */
static void configure(bool verify, const char *ca, const char *sni)
{
	static struct cfg_server cs;
	struct config cfg = { .servers = &cs, .nservers = 1 };
	char err[256] = "";

	memset(&cs, 0, sizeof(cs));
	snprintf(cs.name, sizeof(cs.name), "s");
	snprintf(cs.addr.text, sizeof(cs.addr.text), "127.0.0.1:443");
	cs.tls = true;
	cs.tls_verify = verify;
	snprintf(cs.tls_ca, sizeof(cs.tls_ca), "%s", ca);
	snprintf(cs.tls_sni, sizeof(cs.tls_sni), "%s", sni);
	cr_assert_eq(tls_backend_configure(&cfg, err, sizeof(err)), 0, "%s", err);
}

struct conn {
	int fd[2];
	struct tls_server *ts;
	SSL *c, *s;
};

static struct conn conn_new(unsigned tid)
{
	struct conn k;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, k.fd), 0);
	k.ts = tls_server_get("s");
	cr_assert_not_null(k.ts);
	k.c = tls_server_ssl(k.ts, k.fd[0], tid);
	k.s = SSL_new(server);
	cr_assert(k.c && k.s);
	SSL_set_fd(k.s, k.fd[1]);
	SSL_set_accept_state(k.s);
	return k;
}

/* Both ends until the client's handshake ends: 1 done, -1 failed (why). */
static int handshake(struct conn *k, char *why, size_t len)
{
	unsigned want;
	int rc = 0;

	for (int i = 0; i < 50 && rc == 0; i++) {
		rc = tls_backend_handshake(k->c, &want, why, len);
		SSL_do_handshake(k->s);
	}
	return rc;
}

static void conn_free(struct conn *k)
{
	tls_backend_close(k->c);
	SSL_free(k->s);
	tls_server_put(k->ts);
	close(k->fd[0]);
	close(k->fd[1]);
}

/* A request and an answer, the way the proxy moves them; the server's
 * answer also carries TLS 1.3's session tickets to the client. */
static void exchange(struct conn *k)
{
	char buf[64];
	ssize_t n;

	cr_assert_eq(tls_backend_send(k->c, "GET / HTTP/1.1\r\n\r\n", 18), 18);
	cr_assert_eq(SSL_read(k->s, buf, sizeof(buf)), 18);
	cr_assert_eq(SSL_write(k->s, "HTTP/1.1 204 No Content\r\n\r\n", 27), 27);
	n = tls_backend_recv(k->c, buf, sizeof(buf));
	cr_assert_eq(n, 27);
	errno = 0;
	cr_assert_eq(tls_backend_recv(k->c, buf, sizeof(buf)), -1);
	cr_assert_eq(errno, EAGAIN, "nothing more: EAGAIN as recv(2) says it");
}

Test(tls_backend, no_verify_connects_sends_sni_and_resumes_per_thread, .init = setup,
     .fini = teardown)
{
	char why[256] = "";
	struct conn k;

	configure(false, "", "be.test");
	k = conn_new(0);
	cr_assert_eq(handshake(&k, why, sizeof(why)), 1, "%s", why);
	cr_assert_str_eq(sni_seen, "be.test");
	exchange(&k);
	cr_assert_not(SSL_session_reused(k.c));
	conn_free(&k);
	k = conn_new(0);
	cr_assert_eq(handshake(&k, why, sizeof(why)), 1, "%s", why);
	cr_assert(SSL_session_reused(k.c), "thread 0's session offered and taken");
	exchange(&k);
	conn_free(&k);
	k = conn_new(1);
	cr_assert_eq(handshake(&k, why, sizeof(why)), 1, "%s", why);
	cr_assert_not(SSL_session_reused(k.c), "thread 1 has no session of its own yet");
	conn_free(&k);
}

/* Two connections opened at once (a burst of requests needing new
 * backend connections), after a full handshake that brought two tickets,
 * from a server that sends none after a resumption: each offers a ticket
 * of its own; a third has none left and makes a full handshake.  Before,
 * both offered the latest ticket. */
Test(tls_backend, a_tls13_ticket_is_offered_once, .init = setup, .fini = teardown)
{
	char why[256] = "";
	struct conn k, two[2];
	unsigned want;

	configure(false, "", "be.test");
	k = conn_new(0);
	cr_assert_eq(handshake(&k, why, sizeof(why)), 1, "%s", why);
	cr_assert_eq(SSL_version(k.c), TLS1_3_VERSION);
	exchange(&k); /* the two tickets come with the answer */
	conn_free(&k);
	SSL_CTX_set_num_tickets(server, 0);
	two[0] = conn_new(0);
	two[1] = conn_new(0);
	for (int i = 0; i < 2; i++) /* both ClientHellos go out */
		cr_assert_eq(tls_backend_handshake(two[i].c, &want, why, sizeof(why)), 0);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(handshake(&two[i], why, sizeof(why)), 1, "%s", why);
		cr_assert(SSL_session_reused(two[i].c), "connection %d: a ticket of the first",
			  i + 2);
	}
	cr_assert_eq(nivs, 2, "tickets offered: %d", nivs);
	cr_assert_eq(reused, 0, "one ticket offered by both connections");
	for (int i = 0; i < 2; i++)
		conn_free(&two[i]);
	k = conn_new(0);
	cr_assert_eq(handshake(&k, why, sizeof(why)), 1, "%s", why);
	cr_assert_not(SSL_session_reused(k.c), "both tickets used: a full handshake");
	conn_free(&k);
	cr_assert_eq(reused, 0, "a ticket offered twice");
}

/* A server that sends one ticket after each resumption: a chain of
 * resumptions, each on a fresh ticket. */
Test(tls_backend, each_resumption_uses_the_ticket_it_was_sent, .init = setup, .fini = teardown)
{
	char why[256] = "";
	struct conn k;

	configure(false, "", "be.test");
	SSL_CTX_set_num_tickets(server, 1);
	for (int i = 0; i < 5; i++) {
		k = conn_new(0);
		cr_assert_eq(handshake(&k, why, sizeof(why)), 1, "%s", why);
		cr_assert_eq(SSL_session_reused(k.c), i > 0, "connection %d", i + 1);
		exchange(&k);
		conn_free(&k);
	}
	cr_assert_eq(nivs, 4);
	cr_assert_eq(reused, 0, "a ticket offered twice");
}

Test(tls_backend, verify_failure_gives_the_reason, .init = setup, .fini = teardown)
{
	char why[256] = "";
	struct conn k;

	configure(true, "", "be.test"); /* the system's store: does not know our CA */
	k = conn_new(0);
	cr_assert_eq(handshake(&k, why, sizeof(why)), -1);
	cr_assert(strstr(why, "certificate verify failed: ") != NULL, "%s", why);
	cr_assert(strstr(why, "self-signed") != NULL, "%s", why);
	conn_free(&k);
}

Test(tls_backend, verify_against_its_ca_file_and_name, .init = setup, .fini = teardown)
{
	char path[] = "/tmp/andromeda-test-ca-XXXXXX", why[256] = "";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	struct conn k;

	cr_assert(f && PEM_write_X509(f, cert) == 1);
	fclose(f);
	configure(true, path, "be.test");
	k = conn_new(0);
	cr_assert_eq(handshake(&k, why, sizeof(why)), 1, "%s", why);
	conn_free(&k);
	configure(true, path, "other.test");
	k = conn_new(0);
	cr_assert_eq(handshake(&k, why, sizeof(why)), -1, "a certificate for another name");
	cr_assert(strstr(why, "hostname mismatch") != NULL, "%s", why);
	conn_free(&k);
	unlink(path);
}

Test(tls_backend, bytes_decrypted_ahead_of_the_socket_are_pending, .init = setup, .fini = teardown)
{
	static char big[8000], got[8000];
	char why[256] = "";
	size_t have = 0;
	struct conn k;

	configure(false, "", "be.test");
	k = conn_new(0);
	cr_assert_eq(handshake(&k, why, sizeof(why)), 1, "%s", why);
	memset(big, 'x', sizeof(big));
	cr_assert_eq(SSL_write(k.s, big, sizeof(big)), (int)sizeof(big)); /* one record */
	cr_assert_eq(tls_backend_recv(k.c, got, 100), 100);
	cr_assert(tls_backend_pending(k.c), "the rest of the record waits inside TLS");
	while (have < sizeof(big) - 100) {
		ssize_t n = tls_backend_recv(k.c, got + have, sizeof(got) - 100 - have);

		cr_assert_gt(n, 0);
		have += (size_t)n;
	}
	cr_assert_not(tls_backend_pending(k.c));
	conn_free(&k);
}

Test(tls_backend, a_ca_file_that_cannot_load_is_refused_with_its_name, .init = setup,
     .fini = teardown)
{
	static struct cfg_server cs = {
		.name = "s", .tls = true, .tls_verify = true, .tls_ca = "/nonexistent/ca.pem"
	};
	struct config cfg = { .servers = &cs, .nservers = 1 };
	char err[256] = "";

	cr_assert_lt(tls_backend_configure(&cfg, err, sizeof(err)), 0);
	cr_assert(strncmp(err, "/nonexistent/ca.pem: ", 21) == 0, "%s", err);
	cr_assert_null(tls_server_get("s"), "nothing installed");
}
