/* alog_pack.c - an access-log record packed for the writer's queue
 * (alog_pack.h). */
#include "alog_pack.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

enum {
	PK_CLIENT,
	PK_ID,
	PK_SERVER,
	PK_METHOD,
	PK_PATH,
	PK_N
};

struct alog_packed {
	uint64_t start_ms, bytes_in, bytes_out;
	int32_t queue_ms, connect_ms, first_byte_ms, total_ms;
	uint32_t status, retries, redispatches;
	uint8_t len[PK_N]; /* the strings that follow, in this order */
	bool path_cut, tcp;
	char term[2];
};

#define PK_ALIGN     8
#define PK_ROUND(n)  (((n) + PK_ALIGN - 1) & ~(size_t)(PK_ALIGN - 1))
#define PK_SIZEOF(f) sizeof(((struct alog_rec *)0)->f)
#define PK_STRINGS                                                                   \
	(PK_SIZEOF(client) + PK_SIZEOF(id) + PK_SIZEOF(server) + PK_SIZEOF(method) + \
	 PK_SIZEOF(path))
_Static_assert(PK_ROUND(sizeof(struct alog_packed) + PK_STRINGS) <= ALOG_PACK_MAX,
	       "ALOG_PACK_MAX holds a record with every string full");
_Static_assert(PK_SIZEOF(client) <= 256 && PK_SIZEOF(id) <= 256 && PK_SIZEOF(server) <= 256 &&
		       PK_SIZEOF(method) <= 256 && PK_SIZEOF(path) <= 256,
	       "a string's length fits a byte");

/* Where r's strings are, in struct alog_rec and in a packed record. */
static char *pk_field(struct alog_rec *r, int i, size_t *cap)
{
	switch (i) {
	case PK_CLIENT:
		*cap = sizeof(r->client);
		return r->client;
	case PK_ID:
		*cap = sizeof(r->id);
		return r->id;
	case PK_SERVER:
		*cap = sizeof(r->server);
		return r->server;
	case PK_METHOD:
		*cap = sizeof(r->method);
		return r->method;
	default:
		*cap = sizeof(r->path);
		return r->path;
	}
}

size_t alog_pack(unsigned char *out, const struct alog_rec *r)
{
	struct alog_packed *h = (struct alog_packed *)(void *)out;
	unsigned char *p = out + sizeof(*h);

	*h = (struct alog_packed){ .start_ms = r->start_ms,
				   .bytes_in = r->bytes_in,
				   .bytes_out = r->bytes_out,
				   .queue_ms = r->queue_ms,
				   .connect_ms = r->connect_ms,
				   .first_byte_ms = r->first_byte_ms,
				   .total_ms = r->total_ms,
				   .status = r->status,
				   .retries = r->retries,
				   .redispatches = r->redispatches,
				   .path_cut = r->path_cut,
				   .tcp = r->tcp,
				   .term = { r->term[0], r->term[1] } };
	for (int i = 0; i < PK_N; i++) {
		size_t cap;
		const char *f = pk_field((struct alog_rec *)r, i, &cap);
		size_t n = strnlen(f, cap - 1);

		h->len[i] = (uint8_t)n;
		memcpy(p, f, n);
		p += n;
	}
	return PK_ROUND((size_t)(p - out));
}

const unsigned char *alog_unpack(const unsigned char *in, struct alog_rec *r)
{
	const struct alog_packed *h = (const struct alog_packed *)(const void *)in;
	const unsigned char *p = in + sizeof(*h);

	r->start_ms = h->start_ms;
	r->bytes_in = h->bytes_in;
	r->bytes_out = h->bytes_out;
	r->queue_ms = h->queue_ms;
	r->connect_ms = h->connect_ms;
	r->first_byte_ms = h->first_byte_ms;
	r->total_ms = h->total_ms;
	r->status = h->status;
	r->retries = h->retries;
	r->redispatches = h->redispatches;
	r->path_cut = h->path_cut;
	r->tcp = h->tcp;
	memcpy(r->term, h->term, 2);
	r->term[2] = 0;
	for (int i = 0; i < PK_N; i++) {
		size_t cap;
		char *f = pk_field(r, i, &cap);

		memcpy(f, p, h->len[i]);
		f[h->len[i]] = 0;
		p += h->len[i];
	}
	return in + PK_ROUND((size_t)(p - in));
}
