/* tls_conn.c - TLS sessions on client sockets (tls_conn.h). */
#include "tls_conn.h"

#include <errno.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tls_ctx.h"

struct ssl_st *tls_conn_new(struct tls_ctx *t, int fd)
{
	SSL *ssl = SSL_new(tls_ctx_default(t));

	if (!ssl)
		return NULL;
	if (SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		ERR_clear_error();
		return NULL;
	}
	SSL_set_accept_state(ssl);
	return ssl;
}

void tls_conn_free(struct ssl_st *ssl) { SSL_free(ssl); }

/* The cause of a failed handshake, from the first error OpenSSL queued
 * (the queue is left empty, as the next call on this thread needs it). */
static enum tls_fail fail_cause(int err)
{
	unsigned long e = ERR_get_error();
	int reason = ERR_GET_REASON(e);

	ERR_clear_error();
	if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN || !e)
		return TLS_FAIL_CLOSED;
	switch (reason) {
	case SSL_R_UNEXPECTED_EOF_WHILE_READING:
		return TLS_FAIL_CLOSED;
	case SSL_R_HTTP_REQUEST:
	case SSL_R_HTTPS_PROXY_REQUEST:
		return TLS_FAIL_PLAIN_HTTP;
	case SSL_R_WRONG_VERSION_NUMBER:
	case SSL_R_UNKNOWN_PROTOCOL:
	case SSL_R_PACKET_LENGTH_TOO_LONG:
	case SSL_R_RECORD_LENGTH_MISMATCH:
	case SSL_R_WRONG_SSL_VERSION:
		return TLS_FAIL_NOT_TLS;
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_VERSION_TOO_LOW:
	case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
		return TLS_FAIL_VERSION;
	case SSL_R_NO_SHARED_CIPHER:
	case SSL_R_NO_SHARED_GROUPS:
	case SSL_R_NO_SUITABLE_KEY_SHARE:
	case SSL_R_NO_SHARED_SIGNATURE_ALGORITHMS:
		return TLS_FAIL_CIPHER;
	default:
		return TLS_FAIL_HANDSHAKE;
	}
}

int tls_conn_handshake(struct ssl_st *ssl, unsigned *want, enum tls_fail *why)
{
	int r = SSL_do_handshake(ssl), err;

	if (r == 1)
		return 1;
	err = SSL_get_error(ssl, r);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		*want = err == SSL_ERROR_WANT_READ ? TLS_WANT_READ : TLS_WANT_WRITE;
		return 0;
	}
	*why = fail_cause(err);
	return -1;
}

bool tls_conn_resumed(struct ssl_st *ssl) { return SSL_session_reused(ssl) == 1; }

/* After SSL_read or SSL_write returned r <= 0: the errno convention. */
static ssize_t io_error(SSL *ssl, int r, unsigned *want)
{
	int err = SSL_get_error(ssl, r);

	switch (err) {
	case SSL_ERROR_WANT_READ:
		*want = TLS_WANT_READ;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		*want = TLS_WANT_WRITE;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0; /* close_notify */
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		/* A TCP FIN without close_notify reads as the end too: HTTP
		 * frames its own messages (RFC 9110 section 9.8 lets a client
		 * treat the FIN as closure), and clients often skip it. */
		if (errno == 0)
			return 0;
		return -1;
	default:
		ERR_clear_error();
		errno = EPROTO;
		return -1;
	}
}

ssize_t tls_conn_read(struct ssl_st *ssl, void *buf, size_t len, unsigned *want)
{
	size_t n = 0;
	int r;

	errno = 0;
	r = SSL_read_ex(ssl, buf, len, &n);
	if (r == 1)
		return (ssize_t)n;
	return io_error(ssl, r, want);
}

ssize_t tls_conn_write(struct ssl_st *ssl, const void *buf, size_t len, unsigned *want)
{
	size_t n = 0;
	int r;

	errno = 0;
	r = SSL_write_ex(ssl, buf, len, &n);
	if (r == 1)
		return (ssize_t)n;
	if (io_error(ssl, r, want) == 0) {
		errno = EPIPE; /* writing after the peer's close_notify */
		return -1;
	}
	return -1;
}

bool tls_conn_pending(struct ssl_st *ssl) { return SSL_has_pending(ssl) == 1; }

void tls_conn_shutdown(struct ssl_st *ssl)
{
	if (SSL_is_init_finished(ssl) && SSL_shutdown(ssl) < 0)
		ERR_clear_error();
}
