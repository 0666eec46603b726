/* tls_backend.c - client TLS to the servers with `tls = yes`.  See
 * tls_backend.h; what a user sets is in docs/configuration.md.
 *
 * One SSL_CTX per such server (its CA and verify setting), made when the
 * configuration is read, never on the data path.  Sessions: the context
 * hands each new session (TLS 1.2 at the handshake's end, TLS 1.3 with
 * each of the server's NewSessionTickets) to new_session(), which keeps
 * them per server and thread; the next connection of that thread offers
 * one, so a reconnect to a keep-alive server costs a resumption, not a
 * full handshake.  A TLS 1.3 ticket is offered once and then dropped
 * (RFC 8446 appendix C.4: reuse lets an observer link the connections;
 * OpenSSL's own client cache does the same): the connection that used it
 * gets new ones from a server that sends them after a resumption, and
 * the TICKETS_KEPT latest (OpenSSL servers send two after a full
 * handshake) serve connections opened before those arrive.  A TLS 1.2
 * session is reusable (RFC 5077 3.4 lets the client keep its ticket):
 * the latest stays until a newer one replaces it. */
#include "tls_backend.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "loop.h"
#include "netaddr.h"

#define TICKETS_KEPT 4

/* One thread's sessions with a server: all TLS 1.3 (newest last), or one
 * TLS 1.2 session. */
struct tls_sessions {
	SSL_SESSION *s[TICKETS_KEPT];
	unsigned n;
};

struct tls_server {
	char name[CFG_NAME_MAX];
	SSL_CTX *ctx;
	char host[CFG_HOST_MAX];                   /* SNI and the name to verify; "" = none */
	char ip[CFG_ADDR_TEXT_MAX];                /* without a host: the address to verify */
	unsigned refs;                             /* atomic: the table's + one per connection */
	struct tls_server *next;                   /* in the table */
	struct tls_sessions sess[CFG_MAX_THREADS]; /* per proxy thread */
};

/* The servers' contexts.  Written by the main thread only while no proxy
 * thread runs (start) or all are parked (reload): the parking's lock
 * orders it before their next read. */
static struct tls_server *table;
static int ex_slot = -1; /* an SSL's &ts->sess[its thread] */

static void sessions_clear(struct tls_sessions *ss)
{
	while (ss->n)
		SSL_SESSION_free(ss->s[--ss->n]);
}

static bool is_tls13(const SSL_SESSION *sess)
{
	return SSL_SESSION_get_protocol_version(sess) == TLS1_3_VERSION;
}

static void server_free(struct tls_server *ts)
{
	for (size_t i = 0; i < CFG_MAX_THREADS; i++)
		sessions_clear(&ts->sess[i]);
	SSL_CTX_free(ts->ctx);
	free(ts);
}

void tls_server_put(struct tls_server *ts)
{
	if (ts && __atomic_sub_fetch(&ts->refs, 1, __ATOMIC_ACQ_REL) == 0)
		server_free(ts);
}

struct tls_server *tls_server_get(const char *name)
{
	for (struct tls_server *ts = table; ts; ts = ts->next)
		if (!strcmp(ts->name, name)) {
			__atomic_add_fetch(&ts->refs, 1, __ATOMIC_ACQ_REL);
			return ts;
		}
	return NULL;
}

/* Keep a new session of (server, thread): 1, we hold its reference.  A
 * TLS 1.3 ticket joins the others (the oldest goes when TICKETS_KEPT are
 * kept); a TLS 1.2 session replaces them all. */
static int new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct tls_sessions *ss = SSL_get_ex_data(ssl, ex_slot);

	if (!ss)
		return 0;
	if (!is_tls13(sess) || (ss->n && !is_tls13(ss->s[0])))
		sessions_clear(ss);
	if (ss->n == TICKETS_KEPT) {
		SSL_SESSION_free(ss->s[0]);
		for (unsigned i = 1; i < TICKETS_KEPT; i++)
			ss->s[i - 1] = ss->s[i];
		ss->n--;
	}
	ss->s[ss->n++] = sess;
	return 1;
}

/* Offer the newest session of ss on ssl (it takes its own reference); a
 * TLS 1.3 one is used up.  0 when OpenSSL refuses it. */
static int offer_session(SSL *ssl, struct tls_sessions *ss)
{
	SSL_SESSION *sess;
	int ok;

	if (!ss->n)
		return 1;
	sess = ss->s[ss->n - 1];
	ok = SSL_set_session(ssl, sess);
	if (is_tls13(sess)) {
		ss->n--;
		SSL_SESSION_free(sess);
	}
	return ok;
}

/* "host[:port]" without the port; an address is not a host name (no SNI
 * for it, RFC 6066 3). */
static void host_of(const char *hp, char *out, size_t cap)
{
	size_t n = strcspn(hp, ":");

	if (n >= cap || strspn(hp, "0123456789.") >= n)
		n = 0;
	memcpy(out, hp, n);
	out[n] = '\0';
}

static int ctx_setup(SSL_CTX *ctx, const struct cfg_server *cs, char *err, size_t errlen)
{
	static const unsigned char alpn[] = "\x08http/1.1";
	int ok;

	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* send()-like partial writes from buffers that move (compaction),
	 * and no buffers held by an idle keep-alive connection. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				      SSL_MODE_RELEASE_BUFFERS);
	/* A server that closes without close_notify ends the stream as TCP would:
	 * HTTP framing (Content-Length, chunked) is what detects a truncation. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1);
	SSL_CTX_set_session_cache_mode(ctx,
				       SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, new_session);
	SSL_CTX_set_verify(ctx, cs->tls_verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	if (!cs->tls_verify)
		return 0;
	ok = cs->tls_ca[0] ? SSL_CTX_load_verify_file(ctx, cs->tls_ca)
			   : SSL_CTX_set_default_verify_paths(ctx);
	if (!ok) {
		char why[160];

		ERR_error_string_n(ERR_get_error(), why, sizeof(why));
		snprintf(err, errlen, "%s: %s", cs->tls_ca[0] ? cs->tls_ca : "system CA store",
			 why);
		ERR_clear_error();
		return -EINVAL;
	}
	return 0;
}

static int server_new(const struct config *cfg, const struct cfg_server *cs,
		      struct tls_server **out, char *err, size_t errlen)
{
	struct tls_server *ts = calloc(1, sizeof(*ts));
	const char *hp = cs->tls_sni[0]       ? cs->tls_sni
			 : cs->health_host[0] ? cs->health_host
					      : cfg->backend.health_host;

	if (!hp[0])
		hp = cs->host; /* a server by name: the name */
	int rc;

	if (!ts || !(ts->ctx = SSL_CTX_new(TLS_client_method()))) {
		free(ts);
		snprintf(err, errlen, "[server %s]: cannot create a TLS context", cs->name);
		return -ENOMEM;
	}
	if ((rc = ctx_setup(ts->ctx, cs, err, errlen)) < 0) {
		server_free(ts);
		return rc;
	}
	snprintf(ts->name, sizeof(ts->name), "%s", cs->name);
	host_of(hp, ts->host, sizeof(ts->host));
	netaddr_ip(&cs->addr.sa, ts->ip, sizeof(ts->ip));
	ts->refs = 1;
	*out = ts;
	return 0;
}

static void table_free(struct tls_server *ts)
{
	while (ts) {
		struct tls_server *next = ts->next;

		tls_server_put(ts);
		ts = next;
	}
}

int tls_backend_configure(const struct config *cfg, char *err, size_t errlen)
{
	struct tls_server *head = NULL, **tail = &head;
	int rc = 0;

	if (ex_slot < 0)
		ex_slot = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	for (size_t i = 0; i < cfg->nservers && rc == 0; i++)
		if (cfg->servers[i].tls &&
		    (rc = server_new(cfg, &cfg->servers[i], tail, err, errlen)) == 0)
			tail = &(*tail)->next;
	if (rc < 0) {
		table_free(head);
		return rc;
	}
	table_free(table);
	table = head;
	return 0;
}

void tls_backend_clear(void)
{
	table_free(table);
	table = NULL;
}

SSL *tls_server_ssl(struct tls_server *ts, int fd, unsigned tid)
{
	SSL *ssl = SSL_new(ts->ctx);
	int ok;

	if (!ssl)
		return NULL;
	ok = tid < CFG_MAX_THREADS && SSL_set_fd(ssl, fd) == 1 &&
	     SSL_set_ex_data(ssl, ex_slot, &ts->sess[tid]) == 1;
	if (ok && ts->host[0])
		ok = SSL_set_tlsext_host_name(ssl, ts->host) == 1 &&
		     SSL_set1_host(ssl, ts->host) == 1;
	else if (ok)
		ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ts->ip) == 1;
	/* A session from an earlier connection of this thread: resumption. */
	if (ok)
		ok = offer_session(ssl, &ts->sess[tid]) == 1;
	if (!ok) {
		log_warnx("server %s: cannot set up a TLS connection", ts->name);
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_connect_state(ssl);
	return ssl;
}

/* Why the handshake failed, as an operator reads it. */
static void failure(SSL *ssl, int e, char *why, size_t len)
{
	long vr = SSL_get_verify_result(ssl);
	unsigned long code = ERR_peek_last_error();
	char ossl[160] = "";

	if (code)
		ERR_error_string_n(code, ossl, sizeof(ossl));
	if (vr != X509_V_OK)
		snprintf(why, len, "certificate verify failed: %s",
			 X509_verify_cert_error_string(vr));
	else if (e == SSL_ERROR_SYSCALL && !code)
		snprintf(why, len, "connection closed during the TLS handshake");
	else
		snprintf(why, len, "TLS handshake failed: %s", ossl[0] ? ossl : "unknown error");
	ERR_clear_error();
}

int tls_backend_handshake(SSL *ssl, unsigned *want, char *why, size_t len)
{
	int rc, e;

	ERR_clear_error();
	if ((rc = SSL_connect(ssl)) == 1)
		return 1;
	e = SSL_get_error(ssl, rc);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		*want = e == SSL_ERROR_WANT_READ ? LOOP_READ : LOOP_WRITE;
		return 0;
	}
	failure(ssl, e, why, len);
	return -1;
}

/* errno for an SSL_read or SSL_write that returned rc <= 0; 0 for a
 * clean close_notify. */
static int io_errno(SSL *ssl, int rc)
{
	int e = SSL_get_error(ssl, rc);

	ERR_clear_error();
	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		return errno ? errno : ECONNRESET; /* EOF without close_notify */
	default:
		return EPROTO;
	}
}

ssize_t tls_backend_recv(SSL *ssl, void *buf, size_t len)
{
	size_t n = 0;
	int rc, err;

	ERR_clear_error();
	if ((rc = SSL_read_ex(ssl, buf, len, &n)) == 1)
		return (ssize_t)n;
	if (!(err = io_errno(ssl, rc)))
		return 0;
	errno = err;
	return -1;
}

ssize_t tls_backend_send(SSL *ssl, const void *buf, size_t len)
{
	size_t n = 0;
	int rc;

	ERR_clear_error();
	if ((rc = SSL_write_ex(ssl, buf, len, &n)) == 1)
		return (ssize_t)n;
	errno = io_errno(ssl, rc);
	if (!errno)
		errno = EPIPE; /* the server sent close_notify */
	return -1;
}

bool tls_backend_pending(const SSL *ssl) { return SSL_pending(ssl) > 0; }

bool tls_backend_idle_ok(SSL *ssl)
{
	char c;
	size_t n = 0;
	int rc;

	ERR_clear_error();
	rc = SSL_read_ex(ssl, &c, 1, &n);
	if (rc == 1)
		return false; /* data on an idle connection: out of step */
	return io_errno(ssl, rc) == EAGAIN;
}

void tls_backend_shutdown(SSL *ssl)
{
	ERR_clear_error();
	if (SSL_is_init_finished(ssl))
		SSL_shutdown(ssl);
	ERR_clear_error();
}

void tls_backend_close(SSL *ssl)
{
	if (!ssl)
		return;
	/* One close_notify if the socket takes it: a TLS 1.2 server keeps the
	 * session resumable only after a clean close (RFC 5246 7.2.1). */
	tls_backend_shutdown(ssl);
	SSL_free(ssl);
}
