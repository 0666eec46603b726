/* tls_ticket.h - session tickets of a TLS server context, encrypted with
 * the replicated key ring (core/lib/tls_keys.h), so a client resumes its
 * session on any thread and on any balancer (docs/tls-keys.md).
 *
 * Call once per server SSL_CTX, after creating it and before the first
 * handshake.  Works for TLS 1.2 and 1.3 tickets; the context must not
 * set SSL_OP_NO_TICKET. */
#ifndef ANDROMEDA_TLS_TICKET_H
#define ANDROMEDA_TLS_TICKET_H

#include <openssl/ssl.h>

struct tls_keys;

/* Encrypt ctx's tickets with the process's ring (tls_keys_process(): the
 * one sync replicates).  With SNI, attach the default context only (the
 * one the listener's connections start on): OpenSSL takes the ticket
 * callback from that context even after the servername callback switched
 * the connection to another (SSL_set_SSL_CTX).  Returns 0, -ENOMEM (no
 * ring) or -EIO. */
int tls_keys_attach(SSL_CTX *ctx);
/* The same with a given ring, which must outlive ctx; found through the
 * connection's current context, so not for contexts SNI switches away
 * from (tests). */
int tls_keys_attach_ring(SSL_CTX *ctx, struct tls_keys *ring);

#endif
