/* tls_ticket.c - OpenSSL's ticket key callback on the key ring.
 *
 * The callback runs inside handshakes on every proxy thread: it copies
 * the one key it needs out of the ring (a read lock), and uses a cipher
 * and MAC fetched once, so a handshake does no provider lookup here
 * (OpenSSL 3's name lookups take a global lock). */
#include "tls_ticket.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "loop.h"
#include "tls_keys.h"

static int ring_index = -1; /* SSL_CTX ex_data slot of the ring */
static EVP_CIPHER *cbc;     /* AES-256-CBC, fetched once */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init_once(void)
{
	ring_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	cbc = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
}

static int mac_init(EVP_MAC_CTX *hctx, const struct tls_key *k)
{
	OSSL_PARAM p[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};

	return EVP_MAC_init(hctx, k->hmac, sizeof(k->hmac), p) == 1;
}

/* OpenSSL's contract (SSL_CTX_set_tlsext_ticket_key_evp_cb(3)): encrypt:
 * fill name and iv, set up both contexts, return 1 (or <0 on error);
 * decrypt: -1 error, 0 unknown key (full handshake), 1 ok, 2 ok but
 * issue a new ticket.  A new ticket: under an older key (the client moves
 * to the current), and always in TLS 1.3, whose clients use a ticket once
 * (RFC 8446 appendix C.4; OpenSSL's do): with 1, OpenSSL sends no ticket
 * after a resumed TLS 1.3 handshake, and the client's next connection is
 * a full handshake again (every other one was). */
static int ticket(struct tls_keys *r, unsigned char name[16], unsigned char *iv,
		  EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc, bool tls13)
{
	struct tls_key k;
	int found = 1;

	if (!r)
		return -1;
	/* A leader's rotation, when due: before a ticket is made, and before
	 * one is read (after hours without clients, an old key must not be
	 * current still; without [ha] nothing else rotates). */
	tls_keys_tick(r, loop_clock_ms());
	if (enc) {
		tls_keys_current(r, &k);
		memcpy(name, k.name, TLS_KEY_NAME_LEN);
		if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(cbc)) != 1)
			found = -1;
	} else if (!(found = tls_keys_find(r, name, &k))) {
		return 0;
	}
	if (found > 0 &&
	    (EVP_CipherInit_ex(cctx, cbc, NULL, k.aes, iv, enc) != 1 || !mac_init(hctx, &k)))
		found = -1;
	OPENSSL_cleanse(&k, sizeof(k));
	return !enc && found == 1 && tls13 ? 2 : found;
}

/* The process's ring.  No lookup through the SSL: OpenSSL calls the
 * callback of the context the handshake started on (its session
 * context), while SSL_get_SSL_CTX() already names the one SNI switched
 * to, which carries no ring. */
static int ticket_process(SSL *s, unsigned char name[16], unsigned char *iv, EVP_CIPHER_CTX *cctx,
			  EVP_MAC_CTX *hctx, int enc)
{
	return ticket(tls_keys_process(), name, iv, cctx, hctx, enc,
		      SSL_version(s) == TLS1_3_VERSION);
}

/* A given ring, found on the connection's context (tests: no SNI switch). */
static int ticket_ring(SSL *s, unsigned char name[16], unsigned char *iv, EVP_CIPHER_CTX *cctx,
		       EVP_MAC_CTX *hctx, int enc)
{
	return ticket(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(s), ring_index), name, iv, cctx, hctx,
		      enc, SSL_version(s) == TLS1_3_VERSION);
}

static int attach(SSL_CTX *ctx, struct tls_keys *ring,
		  int (*cb)(SSL *, unsigned char *, unsigned char *, EVP_CIPHER_CTX *,
			    EVP_MAC_CTX *, int))
{
	pthread_once(&once, init_once);
	if (ring_index < 0 || !cbc)
		return -EIO;
	if (!ring)
		return -ENOMEM;
	if (SSL_CTX_set_ex_data(ctx, ring_index, ring) != 1 ||
	    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, cb) != 1)
		return -EIO;
	return 0;
}

int tls_keys_attach_ring(SSL_CTX *ctx, struct tls_keys *ring)
{
	return attach(ctx, ring, ticket_ring);
}

int tls_keys_attach(SSL_CTX *ctx) { return attach(ctx, tls_keys_process(), ticket_process); }
