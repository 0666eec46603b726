/* tls_ctx.c - certificates and OpenSSL server contexts (tls_ctx.h). */
#include "tls_ctx.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#elif defined(__aarch64__) || defined(__arm__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

#include "config.h"
#include "tls_name.h"
#include "tls_ticket.h"

#define NAMES_MAX 64 /* names kept per certificate */

/* TLS 1.2: forward secrecy and AEAD only; TLS 1.3 has its own list. */
#define TLS12_AES                                                                           \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-" \
	"SHA384:ECDHE-RSA-AES256-GCM-SHA384"
#define TLS12_CHACHA "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS13_AES    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384"
#define TLS13_CHACHA "TLS_CHACHA20_POLY1305_SHA256"

struct tls_ctx {
	size_t n;
	SSL_CTX *ctx[CFG_MAX_CERTS]; /* ctx[0]: the default; ctx[i]: tls_cert[i] */
	char names_text[CFG_MAX_CERTS][256];
	struct tls_name_entry names[CFG_MAX_CERTS * NAMES_MAX];
	size_t nnames;
	char *strings[CFG_MAX_CERTS * NAMES_MAX]; /* what names[].name point to */
};

/* The set lives as long as its default context: OpenSSL frees it with
 * ctx[0]'s last reference (connections hold one each). */
static int set_index = -1;
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static void set_free(struct tls_ctx *t)
{
	for (size_t i = 1; i < t->n; i++)
		SSL_CTX_free(t->ctx[i]);
	for (size_t i = 0; i < t->nnames; i++)
		free(t->strings[i]);
	free(t);
}

static void set_free_cb(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
			void *argp)
{
	if (ptr)
		set_free(ptr);
}

static void index_init(void)
{
	set_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, set_free_cb);
}

bool tls_cpu_has_aes(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned a, b, c, d;

	return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_AES);
#elif defined(__aarch64__)
	return getauxval(AT_HWCAP) & HWCAP_AES;
#elif defined(__arm__)
	return getauxval(AT_HWCAP2) & HWCAP2_AES;
#else
	return false;
#endif
}

const char *tls_cipher_order(void)
{
	return tls_cpu_has_aes() ? "AES-GCM first (the CPU has AES instructions)"
				 : "ChaCha20-Poly1305 first (the CPU has no AES instructions)";
}

/* The certificate for the client's server name (RFC 6066 section 3);
 * none or an unknown one keeps the default. */
static int on_servername(SSL *ssl, int *alert, void *arg)
{
	struct tls_ctx *t = arg;
	int i = tls_name_pick(t->names, t->nnames,
			      SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name));

	if (i > 0 && (size_t)i < t->n)
		SSL_set_SSL_CTX(ssl, t->ctx[i]);
	return SSL_TLSEXT_ERR_OK;
}

/* ALPN (RFC 7301): http/1.1 when offered; a client offering only other
 * protocols (h2) goes on without ALPN rather than failing. */
static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		   const unsigned char *in, unsigned inlen, void *arg)
{
	static const unsigned char ours[] = "\x08http/1.1";

	if (SSL_select_next_proto((unsigned char **)out, outlen, ours, sizeof(ours) - 1, in,
				  inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	return SSL_TLSEXT_ERR_OK;
}

static int fail(char *err, size_t len, const char *file, const char *fmt, const char *arg)
{
	char why[256];

	snprintf(why, sizeof(why), fmt, arg);
	snprintf(err, len, "%s: %s", file, why);
	ERR_clear_error();
	return -1;
}

static const char *ossl_reason(void)
{
	/* The first error is the cause; later ones only say who called. */
	const char *r = ERR_reason_error_string(ERR_peek_error());

	return r ? r : "unknown error";
}

/* What every context offers, whichever certificate it holds. */
static SSL_CTX *ctx_new(void)
{
	bool aes = tls_cpu_has_aes();
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx)
		return NULL;
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_set_ciphersuites(ctx, aes ? TLS13_AES ":" TLS13_CHACHA
					       : TLS13_CHACHA ":" TLS13_AES) ||
	    !SSL_CTX_set_cipher_list(ctx, aes ? TLS12_AES ":" TLS12_CHACHA
					      : TLS12_CHACHA ":" TLS12_AES) ||
	    !SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384")) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* Our order, except that a client preferring ChaCha20 (a phone
	 * without AES instructions) gets it even where AES is first. */
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA |
					 SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
					 SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* Partial writes and a moving buffer: our buffers are consumed from
	 * the front as the socket takes bytes, and client.c gathers a
	 * response's head and body into one record (client_sendv).  Release
	 * buffers: an idle keep-alive connection keeps no 34 KiB of record
	 * buffers. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				      SSL_MODE_RELEASE_BUFFERS);
	/* Read ahead: one read() takes what the socket holds (several
	 * records: a request, or the client's Finished and its request)
	 * instead of a header and a body read per record; client.c reads what
	 * it buffered without waiting for the socket (tls_conn_pending). */
	SSL_CTX_set_read_ahead(ctx, 1);
	/* Resumption by tickets only: no server-side cache, whose lock every
	 * handshake of every thread would take.  One ticket per handshake
	 * (OpenSSL sends two by default; a resumed one gets a new one,
	 * tls_ticket.c). */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_set_alpn_select_cb(ctx, on_alpn, NULL);
	return ctx;
}

static int readable(const char *file, char *err, size_t len)
{
	FILE *f = fopen(file, "r");

	if (!f)
		return fail(err, len, file, "%s", strerror(errno));
	fclose(f);
	return 0;
}

/* The leaf's validity: an expired certificate is refused; one not valid
 * yet is accepted (a Pi without a clock may boot in the past). */
static int check_dates(SSL_CTX *ctx, const char *file, char *err, size_t len)
{
	X509 *x = SSL_CTX_get0_certificate(ctx);
	const ASN1_TIME *na = x ? X509_get0_notAfter(x) : NULL;
	char when[64] = "?";
	BIO *b;

	if (!na || X509_cmp_current_time(na) > 0)
		return 0;
	if ((b = BIO_new(BIO_s_mem()))) {
		int n = ASN1_TIME_print(b, na) > 0 ? BIO_read(b, when, sizeof(when) - 1) : 0;

		if (n > 0)
			when[n] = '\0';
		BIO_free(b);
	}
	return fail(err, len, file, "certificate expired (not after %s)", when);
}

/* The first private key in file, or NULL (the error queue cleared). */
static EVP_PKEY *read_key(const char *file)
{
	BIO *b = BIO_new_file(file, "r");
	EVP_PKEY *k = NULL;

	/* PEM_read_bio_PrivateKey skips the certificates before the key. */
	if (b)
		k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	ERR_clear_error();
	return k;
}

/* The key: in the file itself, else FILE.key, else privkey.pem beside it. */
static int use_key(SSL_CTX *ctx, const char *file, char *err, size_t len)
{
	char alt[2][PATH_MAX + 16], dir[PATH_MAX];
	const char *used = file;
	EVP_PKEY *k = read_key(file);
	int ok;

	snprintf(dir, sizeof(dir), "%s", file);
	snprintf(alt[0], sizeof(alt[0]), "%s.key", file);
	snprintf(alt[1], sizeof(alt[1]), "%s/privkey.pem", dirname(dir));
	for (int i = 0; i < 2 && !k; i++) {
		if (access(alt[i], F_OK) != 0)
			continue;
		if (readable(alt[i], err, len) < 0)
			return -1;
		if (!(k = read_key(alt[i])))
			return fail(err, len, alt[i], "%s", "no PEM private key could be read");
		used = alt[i];
	}
	if (!k)
		return fail(
			err, len, file,
			"no private key in the file, in FILE.key or in privkey.pem beside it%s",
			"");
	ok = SSL_CTX_use_PrivateKey(ctx, k) == 1 && SSL_CTX_check_private_key(ctx) == 1;
	EVP_PKEY_free(k);
	if (!ok)
		return fail(err, len, used, "the private key does not match the certificate%s",
			    used == file ? "" : " it is paired with");
	return 0;
}

static void add_name(struct tls_ctx *t, size_t cert, const char *name, size_t n)
{
	char *s;
	size_t used = strlen(t->names_text[cert]);

	if (t->nnames == CFG_MAX_CERTS * NAMES_MAX || n == 0 || n > TLS_NAME_MAX ||
	    memchr(name, '\0', n) || !(s = strndup(name, n)))
		return;
	t->strings[t->nnames] = s;
	t->names[t->nnames++] = (struct tls_name_entry){ s, (unsigned)cert };
	snprintf(t->names_text[cert] + used, sizeof(t->names_text[cert]) - used, "%s%s",
		 used ? ", " : "", s);
}

/* The names SNI matches: the subjectAltName's DNS names, else the
 * subject's common name (RFC 6125 6.4.4). */
static void read_names(struct tls_ctx *t, size_t cert, X509 *x)
{
	GENERAL_NAMES *sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int found = 0;

	for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);

		if (g->type != GEN_DNS)
			continue;
		add_name(t, cert, (const char *)ASN1_STRING_get0_data(g->d.dNSName),
			 (size_t)ASN1_STRING_length(g->d.dNSName));
		found++;
	}
	GENERAL_NAMES_free(sans);
	if (!found) {
		X509_NAME *subj = X509_get_subject_name(x);
		int i = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
		ASN1_STRING *cn =
			i >= 0 ? X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i)) : NULL;

		if (cn)
			add_name(t, cert, (const char *)ASN1_STRING_get0_data(cn),
				 (size_t)ASN1_STRING_length(cn));
	}
}

static int load_one(struct tls_ctx *t, size_t i, const char *file, char *err, size_t len)
{
	SSL_CTX *ctx;

	if (readable(file, err, len) < 0)
		return -1;
	if (!(t->ctx[i] = ctx = ctx_new()))
		return fail(err, len, file, "cannot set up a TLS context (%s)", ossl_reason());
	t->n = i + 1;
	if (SSL_CTX_use_certificate_chain_file(ctx, file) != 1)
		return fail(err, len, file, "no PEM certificate chain could be read (OpenSSL: %s)",
			    ossl_reason());
	if (check_dates(ctx, file, err, len) < 0 || use_key(ctx, file, err, len) < 0)
		return -1;
	read_names(t, i, SSL_CTX_get0_certificate(ctx));
	return 0;
}

int tls_ctx_load(struct tls_ctx **out, const struct config *cfg, char *err, size_t errlen)
{
	struct tls_ctx *t = calloc(1, sizeof(*t));

	pthread_once(&index_once, index_init);
	if (!t || set_index < 0) {
		free(t);
		snprintf(err, errlen, "TLS: out of memory");
		return -1;
	}
	for (size_t i = 0; i < cfg->frontend.ntls_certs; i++)
		if (load_one(t, i, cfg->frontend.tls_cert[i], err, errlen) < 0) {
			SSL_CTX_free(t->ctx[0]);
			set_free(t);
			return -1;
		}
	if (!t->n) {
		free(t);
		snprintf(err, errlen, "tls_cert: no file");
		return -1;
	}
	/* Session tickets under the replicated key ring (tls_ticket.h), so a
	 * client resumes on whichever balancer holds the VIP.  Attached once,
	 * on the default context only: OpenSSL takes ticket keys from the
	 * context a connection started on (its session_ctx), even after SNI
	 * switched it. */
	if (tls_keys_attach(t->ctx[0]) < 0) {
		SSL_CTX_free(t->ctx[0]);
		set_free(t);
		snprintf(err, errlen, "TLS: cannot attach the session ticket keys");
		return -1;
	}
	SSL_CTX_set_tlsext_servername_callback(t->ctx[0], on_servername);
	SSL_CTX_set_tlsext_servername_arg(t->ctx[0], t);
	SSL_CTX_set_ex_data(t->ctx[0], set_index, t);
	*out = t;
	return 0;
}

void tls_ctx_put(struct tls_ctx *t)
{
	if (t)
		SSL_CTX_free(t->ctx[0]); /* the last reference frees t (set_free_cb) */
}

struct ssl_ctx_st *tls_ctx_default(const struct tls_ctx *t) { return t->ctx[0]; }

size_t tls_ctx_count(const struct tls_ctx *t) { return t->n; }

const char *tls_ctx_names(const struct tls_ctx *t, size_t i)
{
	return i < t->n && t->names_text[i][0] ? t->names_text[i] : "(no name)";
}
