/* tls_backend.h - HTTPS to the servers that have `tls = yes` (issue 13):
 * one client context per such [server], its TLS sessions kept per proxy
 * thread so that reconnects resume (no certificate, no key exchange; a
 * TLS 1.3 ticket offered once),
 * and the transport calls bconn.c makes instead of recv/send on them.
 * The only libssl file of the backend side; docs/configuration.md
 * "[server NAME]" says what a user sets.
 *
 * Threads: the contexts are built by the main thread, at start (before
 * privileges drop: the CA file may be root's) and at a reload, while the
 * proxy threads are parked; the proxy threads look them up by server
 * name and keep a reference for each connection.  A connection (SSL) is
 * its thread's alone. */
#ifndef ANDROMEDA_TLS_BACKEND_H
#define ANDROMEDA_TLS_BACKEND_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct config;
struct tls_server; /* one [server] with tls = yes: its context and sessions */

/* (Re)build the contexts of cfg's servers with tls = yes: load each CA
 * file (or the system's store), set SNI and the name to verify.  On
 * success the previous contexts are dropped (connections that use one
 * keep it until they close).  Returns 0, or -errno with "FILE: reason"
 * in err and the previous contexts kept. */
int tls_backend_configure(const struct config *cfg, char *err, size_t errlen);
/* Drop every context (at exit; connections keep theirs). */
void tls_backend_clear(void);

/* The context of the server named name, referenced, or NULL when that
 * server is plain HTTP.  Proxy threads. */
struct tls_server *tls_server_get(const char *name);
void tls_server_put(struct tls_server *ts);

/* A client connection over the connected socket fd for thread tid (its
 * cached session offered).  NULL on failure (logged). */
SSL *tls_server_ssl(struct tls_server *ts, int fd, unsigned tid);

/* Go on with the handshake: 1 done, 0 not yet (*want: LOOP_READ or
 * LOOP_WRITE), -1 failed, with the reason (OpenSSL's, and the
 * certificate check's) in why. */
int tls_backend_handshake(SSL *ssl, unsigned *want, char *why, size_t len);
/* Like recv(2) and send(2): bytes, 0 at the peer's close (read), or -1
 * with errno EAGAIN (again when the socket is ready: TLS may need to
 * read to write or the reverse, rarely) or another error. */
ssize_t tls_backend_recv(SSL *ssl, void *buf, size_t len);
ssize_t tls_backend_send(SSL *ssl, const void *buf, size_t len);
/* Decrypted bytes wait inside ssl: the socket may never say readable. */
bool tls_backend_pending(const SSL *ssl);
/* An idle connection became readable: true if it is still usable (what
 * came was a session ticket or other TLS housekeeping), false if the
 * server closed it or sent data. */
bool tls_backend_idle_ok(SSL *ssl);
/* Send close_notify (best effort, never waits): TLS has no half-close
 * of its own, so this ends what we send. */
void tls_backend_shutdown(SSL *ssl);
/* Send close_notify (best effort, never waits) and free ssl. */
void tls_backend_close(SSL *ssl);

#endif
