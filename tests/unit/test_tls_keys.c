/* test_tls_keys.c - the session-ticket key ring: rotation (next, current,
 * previous, dropped), leaders and followers, the encrypted wire form
 * (round trip, every byte tampered, wrong cluster key, truncation), and
 * real resumption through OpenSSL in memory: a ticket issued by one
 * server context resumes on another that imported the ring, and not on
 * one with a ring of its own; the process ring attached to a default
 * context whose connections SNI moves to another; a due leader rotated
 * by the ticket callback itself. */
#include <criterion/criterion.h>

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <string.h>

#include "loop.h"
#include "tls_keys.h"
#include "tls_ticket.h"

#define PERIOD 1000u
#define HOUR   (3600u * 1000u)

static const uint8_t cluster[32] = "0123456789abcdef0123456789abcde";
static const uint8_t other[32] = "fedcba9876543210fedcba987654321";

static size_t names(struct tls_keys *r, uint8_t n[TLS_KEYS_MAX][TLS_KEY_NAME_LEN])
{
	return tls_keys_names(r, n, TLS_KEYS_MAX);
}

/* ---- the ring ---- */

Test(tls_keys, new_ring_has_next_and_current)
{
	struct tls_keys *r = tls_keys_create(PERIOD, 0);
	uint8_t n[TLS_KEYS_MAX][TLS_KEY_NAME_LEN];
	struct tls_key cur, k;

	cr_assert_not_null(r);
	cr_assert_eq(names(r, n), 2);
	cr_assert_neq(memcmp(n[0], n[1], TLS_KEY_NAME_LEN), 0);
	tls_keys_current(r, &cur);
	cr_assert_eq(memcmp(cur.name, n[1], TLS_KEY_NAME_LEN), 0, "current is the second");
	cr_assert_eq(tls_keys_find(r, n[1], &k), 1);
	cr_assert_eq(memcmp(&k, &cur, sizeof(k)), 0);
	cr_assert_eq(tls_keys_find(r, n[0], &k), 2, "next decrypts, not current yet");
	memset(n[0], 0x5a, TLS_KEY_NAME_LEN);
	cr_assert_eq(tls_keys_find(r, n[0], &k), 0);
	tls_keys_free(r);
}

Test(tls_keys, rotation_moves_next_to_current_and_drops_the_oldest)
{
	struct tls_keys *r = tls_keys_create(PERIOD, 100);
	uint8_t first[TLS_KEYS_MAX][TLS_KEY_NAME_LEN], n[TLS_KEYS_MAX][TLS_KEY_NAME_LEN];
	struct tls_key k;
	uint64_t g = tls_keys_generation(r);

	names(r, first);
	cr_assert_not(tls_keys_tick(r, 100 + PERIOD - 1), "not due before a period");
	cr_assert(tls_keys_tick(r, 100 + PERIOD));
	cr_assert_gt(tls_keys_generation(r), g);
	cr_assert_eq(names(r, n), 3);
	cr_assert_eq(memcmp(n[1], first[0], TLS_KEY_NAME_LEN), 0, "next became current");
	cr_assert_eq(tls_keys_find(r, first[1], &k), 2, "old current still decrypts");
	cr_assert_not(tls_keys_tick(r, 100 + PERIOD + 10), "the period restarts");
	cr_assert(tls_keys_tick(r, 100 + 2 * PERIOD));
	cr_assert_eq(names(r, n), 4);
	cr_assert_eq(tls_keys_find(r, first[1], &k), 2, "two periods: still decrypts");
	cr_assert(tls_keys_tick(r, 100 + 3 * PERIOD));
	cr_assert_eq(names(r, n), TLS_KEYS_MAX, "never more than the maximum");
	cr_assert_eq(tls_keys_find(r, first[1], &k), 0, "three periods: gone");
	tls_keys_free(r);
}

Test(tls_keys, follower_does_not_rotate_until_it_leads)
{
	struct tls_keys *r = tls_keys_create(PERIOD, 0);

	tls_keys_set_leader(r, false);
	cr_assert_not(tls_keys_tick(r, 10 * PERIOD));
	tls_keys_set_leader(r, true);
	cr_assert(tls_keys_tick(r, 10 * PERIOD));
	tls_keys_free(r);
}

Test(tls_keys, process_ring_is_one_ring)
{
	cr_assert_not_null(tls_keys_process());
	cr_assert_eq(tls_keys_process(), tls_keys_process());
}

/* ---- the wire form ---- */

static int export_ring(struct tls_keys *r, uint64_t now, uint8_t *buf)
{
	int n = tls_keys_export(r, cluster, sizeof(cluster), now, buf, TLS_KEYS_WIRE_MAX);

	cr_assert_gt(n, 0, "export: %d", n);
	return n;
}

Test(tls_keys, export_import_round_trip_keeps_keys_and_schedule)
{
	struct tls_keys *a = tls_keys_create(HOUR, 0), *b = tls_keys_create(HOUR, 5000);
	uint8_t buf[TLS_KEYS_WIRE_MAX], na[TLS_KEYS_MAX][TLS_KEY_NAME_LEN],
		nb[TLS_KEYS_MAX][TLS_KEY_NAME_LEN];
	struct tls_key ka, kb;
	int len;

	tls_keys_rotate(a, 0);
	len = export_ring(a, 1000, buf); /* a's current is 1 s old */
	cr_assert_eq(len, TLS_KEYS_WIRE_HDR + 8 + 3 * 80 + TLS_KEYS_WIRE_TAG);
	cr_assert_eq(tls_keys_import(b, cluster, sizeof(cluster), 5000, buf, (size_t)len), 1);
	cr_assert_eq(names(b, nb), names(a, na));
	cr_assert_eq(memcmp(na, nb, 3 * TLS_KEY_NAME_LEN), 0);
	tls_keys_current(a, &ka);
	tls_keys_current(b, &kb);
	cr_assert_eq(memcmp(&ka, &kb, sizeof(ka)), 0);
	cr_assert_eq(tls_keys_import(b, cluster, sizeof(cluster), 5000, buf, (size_t)len), 0,
		     "the same ring again: no change");
	/* b's current is 1 s old at its 5000 ms: due at 4000 + HOUR. */
	cr_assert_not(tls_keys_tick(b, 4000 + HOUR - 1));
	cr_assert(tls_keys_tick(b, 4000 + HOUR));
	tls_keys_free(a);
	tls_keys_free(b);
}

Test(tls_keys, key_material_is_not_in_clear_on_the_wire)
{
	struct tls_keys *a = tls_keys_create(HOUR, 0);
	uint8_t buf[TLS_KEYS_WIRE_MAX];
	struct tls_key k;
	int len = export_ring(a, 0, buf);

	tls_keys_current(a, &k);
	cr_assert_null(memmem(buf, (size_t)len, k.name, sizeof(k.name)));
	cr_assert_null(memmem(buf, (size_t)len, k.aes, sizeof(k.aes)));
	cr_assert_null(memmem(buf, (size_t)len, k.hmac, sizeof(k.hmac)));
	tls_keys_free(a);
}

Test(tls_keys, tampering_wrong_key_and_truncation_are_refused)
{
	struct tls_keys *a = tls_keys_create(HOUR, 0), *b = tls_keys_create(HOUR, 0);
	uint8_t buf[TLS_KEYS_WIRE_MAX], before[TLS_KEYS_MAX][TLS_KEY_NAME_LEN],
		after[TLS_KEYS_MAX][TLS_KEY_NAME_LEN];
	int len = export_ring(a, 0, buf);
	uint64_t g = tls_keys_generation(b);

	names(b, before);
	for (int i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			buf[i] ^= (uint8_t)(1u << bit);
			cr_assert_eq(
				tls_keys_import(b, cluster, sizeof(cluster), 0, buf, (size_t)len),
				-EBADMSG, "byte %d bit %d flipped", i, bit);
			buf[i] ^= (uint8_t)(1u << bit);
		}
	}
	for (int l = 0; l < len; l++)
		cr_assert_eq(tls_keys_import(b, cluster, sizeof(cluster), 0, buf, (size_t)l),
			     -EBADMSG, "truncated to %d", l);
	cr_assert_eq(tls_keys_import(b, other, sizeof(other), 0, buf, (size_t)len), -EBADMSG);
	cr_assert_eq(tls_keys_generation(b), g, "the ring was not touched");
	names(b, after);
	cr_assert_eq(memcmp(before, after, 2 * TLS_KEY_NAME_LEN), 0);
	cr_assert_eq(tls_keys_import(b, cluster, sizeof(cluster), 0, buf, (size_t)len), 1);
	tls_keys_free(a);
	tls_keys_free(b);
}

Test(tls_keys, two_exports_differ_by_nonce)
{
	struct tls_keys *a = tls_keys_create(HOUR, 0);
	uint8_t b1[TLS_KEYS_WIRE_MAX], b2[TLS_KEYS_WIRE_MAX];
	int l1 = export_ring(a, 0, b1), l2 = export_ring(a, 0, b2);

	cr_assert_eq(l1, l2);
	cr_assert_neq(memcmp(b1 + 4, b2 + 4, 12), 0, "a fresh nonce each time");
	tls_keys_free(a);
}

/* ---- resumption through OpenSSL, in memory ---- */

static EVP_PKEY *pkey;
static X509 *cert;

/* A self-signed P-256 certificate for "tls.test", made once per test. */
static void make_cert(void)
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
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"tls.test", -1,
				   -1, 0);
	X509_set_issuer_name(cert, nm);
	cr_assert(X509_sign(cert, pkey, EVP_sha256()) > 0);
}

static SSL_CTX *server_ctx(struct tls_keys *ring, int version)
{
	SSL_CTX *c = SSL_CTX_new(TLS_server_method());

	cr_assert_not_null(c);
	cr_assert_eq(SSL_CTX_use_certificate(c, cert), 1);
	cr_assert_eq(SSL_CTX_use_PrivateKey(c, pkey), 1);
	SSL_CTX_set_min_proto_version(c, version);
	SSL_CTX_set_max_proto_version(c, version);
	/* No server-side cache: resumption can only come from the ticket. */
	SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
	if (ring)
		cr_assert_eq(tls_keys_attach_ring(c, ring), 0);
	return c;
}

struct pair {
	SSL *c, *s;
};

/* Client and server joined by two memory BIO pairs. */
static struct pair pair_new(SSL_CTX *cctx, SSL_CTX *sctx, SSL_SESSION *sess)
{
	struct pair p = { SSL_new(cctx), SSL_new(sctx) };
	BIO *c_io, *s_io;

	cr_assert(p.c && p.s);
	cr_assert_eq(BIO_new_bio_pair(&c_io, 0, &s_io, 0), 1);
	SSL_set_bio(p.c, c_io, c_io);
	SSL_set_bio(p.s, s_io, s_io);
	SSL_set_connect_state(p.c);
	SSL_set_accept_state(p.s);
	if (sess)
		cr_assert_eq(SSL_set_session(p.c, sess), 1);
	return p;
}

/* Handshake, then one byte from the server, which the client reads:
 * that read also takes TLS 1.3's NewSessionTicket.  Returns the client's
 * session (a ticket in it). */
static SSL_SESSION *pair_run(struct pair *p)
{
	int cdone = 0, sdone = 0;
	char b;

	for (int i = 0; i < 20 && !(cdone && sdone); i++) {
		cdone = cdone || SSL_do_handshake(p->c) == 1;
		sdone = sdone || SSL_do_handshake(p->s) == 1;
	}
	cr_assert(cdone && sdone, "handshake did not complete");
	cr_assert_eq(SSL_write(p->s, "x", 1), 1);
	cr_assert_eq(SSL_read(p->c, &b, 1), 1);
	return SSL_get1_session(p->c);
}

/* Closed properly (close_notify): OpenSSL makes the session of a
 * connection freed without it unresumable. */
static void pair_free(struct pair *p)
{
	SSL_shutdown(p->c);
	SSL_shutdown(p->s);
	SSL_free(p->c);
	SSL_free(p->s);
}

/* A ticket from a server using ring a; does a server using ring b
 * resume it? */
static bool resumes(struct tls_keys *a, struct tls_keys *b, int version)
{
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX *sa = server_ctx(a, version), *sb = server_ctx(b, version);
	struct pair p1, p2;
	SSL_SESSION *sess;
	bool reused;

	SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_CLIENT);
	p1 = pair_new(cctx, sa, NULL);
	sess = pair_run(&p1);
	cr_assert_not_null(sess);
	cr_assert(SSL_SESSION_has_ticket(sess), "the server issued a ticket");
	cr_assert_not(SSL_session_reused(p1.c));
	p2 = pair_new(cctx, sb, sess);
	SSL_SESSION_free(pair_run(&p2));
	reused = SSL_session_reused(p2.c) && SSL_session_reused(p2.s);
	pair_free(&p1);
	pair_free(&p2);
	SSL_SESSION_free(sess);
	SSL_CTX_free(sa);
	SSL_CTX_free(sb);
	SSL_CTX_free(cctx);
	return reused;
}

static void cert_free(void)
{
	X509_free(cert);
	EVP_PKEY_free(pkey);
}

/* The ticket callback ticks the ring on the monotonic clock: rings
 * made now, so that none is due during the test. */
static void resumption_case(int version)
{
	uint64_t t = loop_clock_ms();
	struct tls_keys *a = tls_keys_create(HOUR, t), *b = tls_keys_create(HOUR, t);
	struct tls_keys *c = tls_keys_create(HOUR, t);
	uint8_t buf[TLS_KEYS_WIRE_MAX];
	int len = export_ring(a, t, buf);

	cr_assert_eq(tls_keys_import(b, cluster, sizeof(cluster), t, buf, (size_t)len), 1);
	cr_assert(resumes(a, a, version), "same server resumes");
	cr_assert(resumes(a, b, version), "the imported ring resumes");
	cr_assert_not(resumes(a, c, version), "a ring of its own does not");
	/* After one rotation of the importer's ring the issuer's tickets still
	 * resume there (renewed under the new current), after three not. */
	tls_keys_rotate(b, t);
	cr_assert(resumes(a, b, version), "old current still decrypts");
	tls_keys_rotate(b, t);
	tls_keys_rotate(b, t);
	cr_assert_not(resumes(a, b, version), "dropped after three rotations");
	tls_keys_free(a);
	tls_keys_free(b);
	tls_keys_free(c);
}

Test(tls_resume, tls13_ticket_resumes_on_imported_ring, .init = make_cert, .fini = cert_free)
{
	resumption_case(TLS1_3_VERSION);
}

Test(tls_resume, tls12_ticket_resumes_on_imported_ring, .init = make_cert, .fini = cert_free)
{
	resumption_case(TLS1_2_VERSION);
}

/* A client that keeps the session of its last connection only (wrk,
 * a browser): each resumed connection must bring it a new ticket, in
 * TLS 1.3 above all, whose client uses a ticket once; without one, every
 * other connection was a full handshake. */
static void resumes_in_a_chain(int version)
{
	struct tls_keys *ring = tls_keys_create(HOUR, loop_clock_ms());
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX *sctx = server_ctx(ring, version);
	SSL_SESSION *sess = NULL;

	SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_CLIENT);
	for (int i = 0; i < 4; i++) {
		struct pair p = pair_new(cctx, sctx, sess);
		SSL_SESSION *next = pair_run(&p);

		cr_assert_eq(SSL_session_reused(p.s), i > 0, "connection %d: resumed %d", i,
			     SSL_session_reused(p.s));
		cr_assert(next && SSL_SESSION_is_resumable(next),
			  "connection %d left the client a resumable session", i);
		pair_free(&p);
		SSL_SESSION_free(sess);
		sess = next;
	}
	SSL_SESSION_free(sess);
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
	tls_keys_free(ring);
}

Test(tls_resume, tls13_resumed_connection_gets_a_new_ticket, .init = make_cert, .fini = cert_free)
{
	resumes_in_a_chain(TLS1_3_VERSION);
}

Test(tls_resume, tls12_resumes_in_a_chain, .init = make_cert, .fini = cert_free)
{
	resumes_in_a_chain(TLS1_2_VERSION);
}

/* ---- the process ring, on a context whose connections SNI switches ---- */

/* The listener's way: the default context has the ring; the servername
 * callback moves the connection to another context (another
 * certificate), which has none. */
static int switch_ctx(SSL *s, int *alert, void *arg)
{
	(void)alert;
	SSL_set_SSL_CTX(s, arg);
	return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *sni_server(SSL_CTX *sw, bool process_ring)
{
	SSL_CTX *c = server_ctx(NULL, TLS1_3_VERSION);

	if (process_ring)
		cr_assert_eq(tls_keys_attach(c), 0);
	SSL_CTX_set_tlsext_servername_callback(c, switch_ctx);
	SSL_CTX_set_tlsext_servername_arg(c, sw);
	return c;
}

Test(tls_resume, process_ring_on_the_default_context_survives_sni, .init = make_cert,
     .fini = cert_free)
{
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX *sw = server_ctx(NULL, TLS1_3_VERSION);
	SSL_CTX *s1 = sni_server(sw, true), *s2 = sni_server(sw, true);
	SSL_CTX *s3 = sni_server(sw, false);
	struct pair p;
	SSL_SESSION *sess;

	SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_CLIENT);
	p = pair_new(cctx, s1, NULL);
	SSL_set_tlsext_host_name(p.c, "other.test");
	sess = pair_run(&p);
	cr_assert_eq(SSL_get_SSL_CTX(p.s), sw, "SNI switched the context");
	cr_assert(SSL_SESSION_has_ticket(sess));
	pair_free(&p);
	p = pair_new(cctx, s2, sess);
	SSL_set_tlsext_host_name(p.c, "other.test");
	SSL_SESSION_free(pair_run(&p));
	cr_assert(SSL_session_reused(p.s), "another context on the process ring resumes");
	pair_free(&p);
	p = pair_new(cctx, s3, sess);
	SSL_set_tlsext_host_name(p.c, "other.test");
	SSL_SESSION_free(pair_run(&p));
	cr_assert_not(SSL_session_reused(p.s), "OpenSSL's own keys do not");
	pair_free(&p);
	SSL_SESSION_free(sess);
	SSL_CTX_free(s1);
	SSL_CTX_free(s2);
	SSL_CTX_free(s3);
	SSL_CTX_free(sw);
	SSL_CTX_free(cctx);
}

/* A leader whose period is over rotates inside the handshake that issues
 * a ticket: no timer needed on a node without [ha]. */
Test(tls_resume, a_due_leader_rotates_in_the_ticket_callback, .init = make_cert, .fini = cert_free)
{
	struct tls_keys *due = tls_keys_create(1000, loop_clock_ms() - 5000);
	struct tls_keys *follower = tls_keys_create(1000, loop_clock_ms() - 5000);
	uint64_t g = tls_keys_generation(due), gf = tls_keys_generation(follower);

	tls_keys_set_leader(follower, false);
	cr_assert(resumes(due, due, TLS1_3_VERSION));
	cr_assert_gt(tls_keys_generation(due), g, "rotated by the callback");
	cr_assert(resumes(follower, follower, TLS1_3_VERSION));
	cr_assert_eq(tls_keys_generation(follower), gf, "a follower never rotates itself");
	tls_keys_free(due);
	tls_keys_free(follower);
}
