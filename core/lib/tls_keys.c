/* tls_keys.c - the session-ticket key ring and its encrypted wire form.
 * See tls_keys.h; the choices are argued in docs/tls-keys.md. */
#include "tls_keys.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "wire.h"

#define KEY_NEXT    0
#define KEY_CURRENT 1
#define NONCE_LEN   12
#define KEY_WIRE    (TLS_KEY_NAME_LEN + TLS_KEY_AES_LEN + TLS_KEY_HMAC_LEN)

struct tls_keys {
	pthread_rwlock_t lock;
	struct tls_key k[TLS_KEYS_MAX]; /* newest first: next, current, previous... */
	size_t n;                       /* >= 2 */
	uint64_t current_since_ms;      /* when k[KEY_CURRENT] became current */
	uint32_t period_ms;
	bool leader;
	uint64_t generation;
};

static int key_make(struct tls_key *k)
{
	return RAND_bytes((unsigned char *)k, sizeof(*k)) == 1 ? 0 : -EIO;
}

struct tls_keys *tls_keys_create(uint32_t period_ms, uint64_t now_ms)
{
	struct tls_keys *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	if (pthread_rwlock_init(&r->lock, NULL) != 0 || key_make(&r->k[KEY_NEXT]) < 0 ||
	    key_make(&r->k[KEY_CURRENT]) < 0) {
		OPENSSL_cleanse(r->k, sizeof(r->k));
		free(r);
		return NULL;
	}
	r->n = 2;
	r->period_ms = period_ms;
	r->current_since_ms = now_ms;
	r->leader = true;
	r->generation = 1;
	return r;
}

void tls_keys_free(struct tls_keys *r)
{
	if (!r)
		return;
	pthread_rwlock_destroy(&r->lock);
	OPENSSL_cleanse(r, sizeof(*r));
	free(r);
}

static struct tls_keys *process_ring;
static pthread_once_t process_once = PTHREAD_ONCE_INIT;

static void process_init(void)
{
	process_ring = tls_keys_create(TLS_KEYS_PERIOD_MS, loop_clock_ms());
}

struct tls_keys *tls_keys_process(void)
{
	pthread_once(&process_once, process_init);
	return process_ring;
}

void tls_keys_set_leader(struct tls_keys *r, bool leader)
{
	pthread_rwlock_wrlock(&r->lock);
	r->leader = leader;
	pthread_rwlock_unlock(&r->lock);
}

/* Under the write lock. */
static int rotate_locked(struct tls_keys *r, uint64_t now_ms)
{
	struct tls_key fresh;

	if (key_make(&fresh) < 0)
		return -EIO;
	if (r->n < TLS_KEYS_MAX)
		r->n++;
	memmove(&r->k[1], &r->k[0], (r->n - 1) * sizeof(r->k[0]));
	r->k[KEY_NEXT] = fresh;
	OPENSSL_cleanse(&fresh, sizeof(fresh));
	r->current_since_ms = now_ms;
	r->generation++;
	return 0;
}

int tls_keys_rotate(struct tls_keys *r, uint64_t now_ms)
{
	int err;

	pthread_rwlock_wrlock(&r->lock);
	err = rotate_locked(r, now_ms);
	pthread_rwlock_unlock(&r->lock);
	return err;
}

static bool due(const struct tls_keys *r, uint64_t now_ms)
{
	return r->leader && now_ms - r->current_since_ms >= r->period_ms;
}

bool tls_keys_tick(struct tls_keys *r, uint64_t now_ms)
{
	bool rotated = false;

	/* The common case (not due) under the read lock only: the ticket
	 * callback calls this on every ticket it issues. */
	pthread_rwlock_rdlock(&r->lock);
	rotated = due(r, now_ms);
	pthread_rwlock_unlock(&r->lock);
	if (!rotated)
		return false;
	pthread_rwlock_wrlock(&r->lock);
	rotated = due(r, now_ms) && rotate_locked(r, now_ms) == 0; /* another thread may have */
	pthread_rwlock_unlock(&r->lock);
	return rotated;
}

void tls_keys_current(struct tls_keys *r, struct tls_key *out)
{
	pthread_rwlock_rdlock(&r->lock);
	*out = r->k[KEY_CURRENT];
	pthread_rwlock_unlock(&r->lock);
}

int tls_keys_find(struct tls_keys *r, const uint8_t name[TLS_KEY_NAME_LEN], struct tls_key *out)
{
	int found = 0;

	pthread_rwlock_rdlock(&r->lock);
	for (size_t i = 0; i < r->n && !found; i++)
		if (CRYPTO_memcmp(r->k[i].name, name, TLS_KEY_NAME_LEN) == 0) {
			*out = r->k[i];
			found = i == KEY_CURRENT ? 1 : 2;
		}
	pthread_rwlock_unlock(&r->lock);
	return found;
}

size_t tls_keys_names(struct tls_keys *r, uint8_t names[][TLS_KEY_NAME_LEN], size_t max)
{
	size_t n;

	pthread_rwlock_rdlock(&r->lock);
	n = r->n < max ? r->n : max;
	for (size_t i = 0; i < n; i++)
		memcpy(names[i], r->k[i].name, TLS_KEY_NAME_LEN);
	pthread_rwlock_unlock(&r->lock);
	return n;
}

uint64_t tls_keys_generation(struct tls_keys *r)
{
	uint64_t g;

	pthread_rwlock_rdlock(&r->lock);
	g = r->generation;
	pthread_rwlock_unlock(&r->lock);
	return g;
}

/* ---- the wire form ---- */

/* AES-256-GCM key from the cluster key: HKDF-SHA256 (RFC 5869), so the
 * envelope's HMAC key and this cipher key are never the same bytes. */
static int derive(const uint8_t *cluster, size_t key_len, uint8_t out[32])
{
	static const char info[] = "andromeda tls-ticket-keys v1";
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM p[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)cluster, key_len),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info,
						  sizeof(info) - 1),
		OSSL_PARAM_construct_end(),
	};
	int ok = kctx && EVP_KDF_derive(kctx, out, 32, p) == 1;

	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return ok ? 0 : -EIO;
}

/* One AES-256-GCM pass: enc 1 seals (writes the tag), 0 opens (checks
 * it).  0, -EBADMSG (tag) or -EIO. */
static int gcm(int enc, const uint8_t key[32], const uint8_t *hdr, const uint8_t *in, size_t len,
	       uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, ok;

	ok = c && EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, hdr + 4, enc) == 1 &&
	     EVP_CipherUpdate(c, NULL, &n, hdr, TLS_KEYS_WIRE_HDR) == 1 &&
	     EVP_CipherUpdate(c, out, &n, in, (int)len) == 1 &&
	     (enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TLS_KEYS_WIRE_TAG, tag) == 1);
	if (ok && EVP_CipherFinal_ex(c, out + n, &n) != 1) {
		EVP_CIPHER_CTX_free(c);
		return enc ? -EIO : -EBADMSG;
	}
	ok = ok &&
	     (!enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TLS_KEYS_WIRE_TAG, tag) == 1);
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -EIO;
}

/* The clear text: the age of the current key, then the keys. */
static size_t plain_build(struct tls_keys *r, uint64_t now_ms, uint8_t *pt, size_t *n)
{
	struct wire_w w = { .p = pt, .cap = 8 + TLS_KEYS_MAX * KEY_WIRE };

	pthread_rwlock_rdlock(&r->lock);
	wire_w_u64(&w, now_ms - r->current_since_ms);
	for (size_t i = 0; i < r->n; i++) {
		wire_w_bytes(&w, r->k[i].name, TLS_KEY_NAME_LEN);
		wire_w_bytes(&w, r->k[i].aes, TLS_KEY_AES_LEN);
		wire_w_bytes(&w, r->k[i].hmac, TLS_KEY_HMAC_LEN);
	}
	*n = r->n;
	pthread_rwlock_unlock(&r->lock);
	return w.len;
}

int tls_keys_export(struct tls_keys *r, const uint8_t *cluster, size_t key_len, uint64_t now_ms,
		    uint8_t *out, size_t cap)
{
	uint8_t pt[8 + TLS_KEYS_MAX * KEY_WIRE], k[32];
	size_t n, plen = plain_build(r, now_ms, pt, &n);
	size_t total = TLS_KEYS_WIRE_HDR + plen + TLS_KEYS_WIRE_TAG;
	int err;

	if (cap < total) {
		OPENSSL_cleanse(pt, sizeof(pt));
		return -ENOSPC;
	}
	memset(out, 0, TLS_KEYS_WIRE_HDR);
	out[0] = TLS_KEYS_WIRE_VERSION;
	out[1] = (uint8_t)n;
	err = RAND_bytes(out + 4, NONCE_LEN) == 1 ? derive(cluster, key_len, k) : -EIO;
	if (!err)
		err = gcm(1, k, out, pt, plen, out + TLS_KEYS_WIRE_HDR,
			  out + TLS_KEYS_WIRE_HDR + plen);
	OPENSSL_cleanse(pt, sizeof(pt));
	OPENSSL_cleanse(k, sizeof(k));
	return err ? err : (int)total;
}

/* Keys from a checked clear text into r; 1 if they differ from r's. */
static int install(struct tls_keys *r, const uint8_t *pt, size_t n, uint64_t now_ms)
{
	const uint8_t *p = pt + 8; /* the caller checked the length */
	uint64_t age = wire_get64(pt);
	struct tls_key k[TLS_KEYS_MAX];
	int changed;

	for (size_t i = 0; i < n; i++, p += KEY_WIRE) {
		memcpy(k[i].name, p, TLS_KEY_NAME_LEN);
		memcpy(k[i].aes, p + TLS_KEY_NAME_LEN, TLS_KEY_AES_LEN);
		memcpy(k[i].hmac, p + TLS_KEY_NAME_LEN + TLS_KEY_AES_LEN, TLS_KEY_HMAC_LEN);
	}
	pthread_rwlock_wrlock(&r->lock);
	changed = r->n != n || CRYPTO_memcmp(r->k, k, n * sizeof(k[0])) != 0;
	if (changed) {
		memcpy(r->k, k, n * sizeof(k[0]));
		r->n = n;
		r->generation++;
	}
	/* The leader's schedule, on our clock: when we lead, we rotate when
	 * it would have. */
	r->current_since_ms = now_ms - (age < now_ms ? age : now_ms);
	pthread_rwlock_unlock(&r->lock);
	OPENSSL_cleanse(k, sizeof(k));
	return changed;
}

int tls_keys_import(struct tls_keys *r, const uint8_t *cluster, size_t key_len, uint64_t now_ms,
		    const uint8_t *in, size_t len)
{
	uint8_t pt[8 + TLS_KEYS_MAX * KEY_WIRE], k[32], tag[TLS_KEYS_WIRE_TAG];
	size_t n, plen;
	int err;

	if (len < TLS_KEYS_WIRE_HDR + TLS_KEYS_WIRE_TAG || in[0] != TLS_KEYS_WIRE_VERSION)
		return -EBADMSG;
	n = in[1];
	plen = 8 + n * KEY_WIRE;
	if (n < 2 || n > TLS_KEYS_MAX || in[2] || in[3] ||
	    len != TLS_KEYS_WIRE_HDR + plen + TLS_KEYS_WIRE_TAG)
		return -EBADMSG;
	if ((err = derive(cluster, key_len, k)) < 0)
		return err;
	memcpy(tag, in + TLS_KEYS_WIRE_HDR + plen, sizeof(tag));
	err = gcm(0, k, in, in + TLS_KEYS_WIRE_HDR, plen, pt, tag);
	OPENSSL_cleanse(k, sizeof(k));
	if (!err)
		err = install(r, pt, n, now_ms);
	OPENSSL_cleanse(pt, sizeof(pt));
	return err;
}
