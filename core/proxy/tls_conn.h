/* tls_conn.h - one TLS session on an accepted client socket (libssl's
 * SSL, over the socket itself: no BIO pair, no copy).  With tls_ctx.c the
 * only files of the client side that use libssl; client.c calls it and
 * maps what a blocked call needs (TLS_WANT_READ, TLS_WANT_WRITE) onto the
 * loop's mask, so the protocols above never see TLS. */
#ifndef ANDROMEDA_TLS_CONN_H
#define ANDROMEDA_TLS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "proxy_stats.h"

struct tls_ctx;
struct ssl_st; /* OpenSSL's SSL */

/* What a call that could not go on waits for: the loop's LOOP_READ and
 * LOOP_WRITE (loop.h), so that client.c passes it on unchanged. */
#define TLS_WANT_READ  1u
#define TLS_WANT_WRITE 2u

/* The most plaintext one record carries (RFC 8446 section 5.1). */
#define TLS_RECORD_MAX 16384

/* A server session on fd (not owned) from t's default context (holds a
 * reference on it).  NULL when out of memory. */
struct ssl_st *tls_conn_new(struct tls_ctx *t, int fd);
void tls_conn_free(struct ssl_st *ssl);

/* Go on with the handshake: 1 done, 0 blocked (*want says on what), -1
 * failed (*why says why; the connection is to be closed). */
int tls_conn_handshake(struct ssl_st *ssl, unsigned *want, enum tls_fail *why);
/* Whether the finished handshake resumed a session. */
bool tls_conn_resumed(struct ssl_st *ssl);

/* Like recv() and send(): > 0 bytes; read 0 at the end (close_notify, or
 * the peer's TCP FIN); -1 with errno EAGAIN (*want says on what) or
 * another errno when the session is broken (EPROTO) or reset. */
ssize_t tls_conn_read(struct ssl_st *ssl, void *buf, size_t len, unsigned *want);
ssize_t tls_conn_write(struct ssl_st *ssl, const void *buf, size_t len, unsigned *want);
/* Bytes wait inside the session, decrypted or read ahead (several records
 * come in one read): the socket will not say so.  After a read that
 * failed with EAGAIN, what waits is at most part of a record, whose rest
 * the socket will announce. */
bool tls_conn_pending(struct ssl_st *ssl);
/* Send close_notify, best effort (never blocks). */
void tls_conn_shutdown(struct ssl_st *ssl);

#endif
