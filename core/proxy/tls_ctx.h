/* tls_ctx.h - the server side of TLS termination: the certificates of
 * [frontend] tls_cert, loaded into OpenSSL contexts (one per certificate,
 * the server name a client asks for choosing among them), with the
 * protocol versions, ALPN and cipher order the proxy offers.  With
 * tls_conn.c, the only files of the client side that use libssl.
 *
 * A struct tls_ctx is immutable once loaded and shared by every proxy
 * thread.  It is reference-counted through OpenSSL's own count on its
 * default context: the holder (workers.c) has one reference, and each
 * connection made from it another (SSL_new), so a reload swaps in a new
 * set for new connections while the old one lives until its last
 * connection is gone. */
#ifndef ANDROMEDA_TLS_CTX_H
#define ANDROMEDA_TLS_CTX_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct tls_ctx;
struct ssl_ctx_st; /* OpenSSL's SSL_CTX */

/* Load cfg->frontend.tls_cert (at least one file).  Each file holds the
 * certificate chain, leaf first, and the private key; a file without a
 * key takes it from FILE.key, else from privkey.pem in the same
 * directory (certbot's fullchain.pem beside privkey.pem).  Refused, as
 * "FILE: reason" in err: a missing or unreadable file, no PEM
 * certificate, an expired leaf certificate, no private key, a key that
 * does not match the certificate.  Returns 0 with *out (one reference),
 * or -1. */
int tls_ctx_load(struct tls_ctx **out, const struct config *cfg, char *err, size_t errlen);
/* Drop a reference (NULL: nothing). */
void tls_ctx_put(struct tls_ctx *t);
/* The context new connections start from (SNI may switch them). */
struct ssl_ctx_st *tls_ctx_default(const struct tls_ctx *t);
/* Number of certificates and the names of certificate i ("a, b"). */
size_t tls_ctx_count(const struct tls_ctx *t);
const char *tls_ctx_names(const struct tls_ctx *t, size_t i);

/* Whether this CPU has AES instructions (x86 AES-NI, ARMv8 AES): the
 * cipher order puts AES-GCM first then, ChaCha20-Poly1305 first
 * otherwise (a Raspberry Pi 4 has none). */
bool tls_cpu_has_aes(void);
/* The order in words, for the log. */
const char *tls_cipher_order(void);

#endif
