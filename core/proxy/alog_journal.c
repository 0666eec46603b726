/* alog_journal.c - the access log's journal entries (alog_journal.h):
 * one request's fields, or several requests' lines with each field's
 * distinct values once.  Pure: alog.c sends what this builds. */
#include "alog_journal.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REC_TEXT_MAX 768 /* one record's 13 "NAME=value" texts, longest case ~630 */
#define SEEN_SLOTS   512 /* per field, > ALOG_J_BATCH: the table never fills */
/* sd_journal_sendv's iovecs for a field: the field and a newline, or five
 * for a value with a newline in it; one sendmsg takes at most 1,024. */
#define IOV_MAX_SEND 1024
#define IOV_ITEM(v)  (memchr((v)->iov_base, '\n', (v)->iov_len) ? 5u : 2u)

struct alog_jbatch {
	struct iovec iov[ALOG_J_ITEMS_MAX];
	unsigned iovs; /* sd_journal_sendv's for iov[] (IOV_ITEM) */
	/* Per field, the items already in the entry: index + 1, 0 = free
	 * (open addressing on a hash of the value). */
	uint16_t seen[ALOG_J_FIELDS][SEEN_SLOTS];
	char text[ALOG_J_BATCH * REC_TEXT_MAX];
	char msg[ALOG_J_MSG_MAX];
};

struct alog_jbatch *alog_jbatch_new(void) { return malloc(sizeof(struct alog_jbatch)); }

void alog_jbatch_free(struct alog_jbatch *b) { free(b); }

/* ---- one record's fields ---- */

struct tw {
	char *p, *end;
};

static void tw_put(struct tw *w, const char *s, size_t n)
{
	if (n > (size_t)(w->end - w->p))
		n = (size_t)(w->end - w->p);
	memcpy(w->p, s, n);
	w->p += n;
}

static void tw_str(struct tw *w, const char *s, size_t cap) { tw_put(w, s, strnlen(s, cap)); }

static void tw_u64(struct tw *w, uint64_t v)
{
	char d[20], *q = d + sizeof(d);

	do
		*--q = (char)('0' + v % 10);
	while (v /= 10);
	tw_put(w, q, (size_t)(d + sizeof(d) - q));
}

static void tw_i32(struct tw *w, int32_t v)
{
	if (v < 0)
		tw_put(w, "-", 1);
	tw_u64(w, v < 0 ? 0 - (uint64_t)(int64_t)v : (uint64_t)v);
}

#define TW_LIT(w, s) tw_put(w, s, sizeof(s) - 1)

/* f[j] = the j-th field of r, its text in buf[REC_TEXT_MAX].  The values
 * are those one-request entries always had (STATUS=0: nothing sent). */
static void rec_fields(const struct alog_rec *r, const char *frontend, char *buf,
		       struct iovec f[ALOG_J_FIELDS])
{
	struct tw w = { buf, buf + REC_TEXT_MAX };
	const char *server = r->server[0] ? r->server : "-";
	const char *method = r->tcp || !r->method[0] ? "-" : r->method;
	int j = 0;
	char *start;

#define FIELD(code)                                                      \
	do {                                                             \
		start = w.p;                                             \
		code;                                                    \
		f[j++] = (struct iovec){ start, (size_t)(w.p - start) }; \
	} while (0)
	FIELD((TW_LIT(&w, "REQUEST_ID="), tw_str(&w, r->id, sizeof(r->id))));
	FIELD((TW_LIT(&w, "CLIENT="), tw_str(&w, r->client, sizeof(r->client))));
	FIELD((TW_LIT(&w, "FRONTEND="), tw_str(&w, frontend, CFG_ADDR_TEXT_MAX)));
	FIELD((TW_LIT(&w, "SERVER="), tw_str(&w, server, sizeof(r->server))));
	FIELD((TW_LIT(&w, "METHOD="), tw_str(&w, method, sizeof(r->method))));
	FIELD((TW_LIT(&w, "PATH="), tw_str(&w, r->tcp ? "-" : r->path, sizeof(r->path)),
	       r->path_cut ? TW_LIT(&w, "...") : (void)0));
	FIELD((TW_LIT(&w, "STATUS="), tw_u64(&w, r->status)));
	FIELD((TW_LIT(&w, "BYTES_IN="), tw_u64(&w, r->bytes_in)));
	FIELD((TW_LIT(&w, "BYTES_OUT="), tw_u64(&w, r->bytes_out)));
	FIELD((TW_LIT(&w, "TIMERS_MS="), tw_i32(&w, r->queue_ms), TW_LIT(&w, "/"),
	       tw_i32(&w, r->connect_ms), TW_LIT(&w, "/"), tw_i32(&w, r->first_byte_ms),
	       TW_LIT(&w, "/"), tw_i32(&w, r->total_ms)));
	FIELD((TW_LIT(&w, "RETRIES="), tw_u64(&w, r->retries)));
	FIELD((TW_LIT(&w, "REDISPATCHES="), tw_u64(&w, r->redispatches)));
	FIELD((TW_LIT(&w, "TERMINATION="), tw_str(&w, r->term, sizeof(r->term))));
#undef FIELD
}

/* ---- an entry ---- */

static uint32_t hash(const struct iovec *v)
{
	const unsigned char *p = v->iov_base;
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < v->iov_len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* Add field j's item v to the entry unless it holds that value already. */
static void add_item(struct alog_jbatch *b, int *cnt, int j, const struct iovec *v)
{
	uint16_t *seen = b->seen[j];

	for (uint32_t s = hash(v) % SEEN_SLOTS;; s = (s + 1) % SEEN_SLOTS) {
		const struct iovec *o;

		if (!seen[s]) {
			seen[s] = (uint16_t)(*cnt + 1);
			b->iov[(*cnt)++] = *v;
			b->iovs += IOV_ITEM(v);
			return;
		}
		o = &b->iov[seen[s] - 1];
		if (o->iov_len == v->iov_len && !memcmp(o->iov_base, v->iov_base, v->iov_len))
			return;
	}
}

unsigned alog_jbatch_build(struct alog_jbatch *b, const struct alog_rec *r, unsigned n,
			   unsigned max, const char *frontend, const struct iovec **iov, int *cnt)
{
	size_t len = 8;
	unsigned k = 0;

	if (max > ALOG_J_BATCH)
		max = ALOG_J_BATCH;
	memset(b->seen, 0, sizeof(b->seen));
	memcpy(b->msg, "MESSAGE=", 8);
	b->iov[1] = (struct iovec){ "PRIORITY=6", 10 };
	b->iov[2] = (struct iovec){ "ANDROMEDA_LOG=access", 20 };
	*cnt = 3;
	b->iovs = 5 + 2 + 2;
	/* Room for a whole record's fields, each new (and each with a newline
	 * as far as sendmsg is concerned), is left before a line is taken;
	 * the message has room for ALOG_J_BATCH lines. */
	while (k < n && k < max && *cnt + ALOG_J_FIELDS <= ALOG_J_ITEMS_MAX &&
	       b->iovs + 5 * ALOG_J_FIELDS <= IOV_MAX_SEND) {
		struct iovec f[ALOG_J_FIELDS];

		if (k)
			b->msg[len++] = '\n';
		len += alog_format(&r[k], frontend, b->msg + len, ALOG_LINE_MAX);
		rec_fields(&r[k], frontend, b->text + k * REC_TEXT_MAX, f);
		for (int j = 0; j < ALOG_J_FIELDS; j++)
			add_item(b, cnt, j, &f[j]);
		k++;
	}
	b->iov[0] = (struct iovec){ b->msg, len };
	*iov = b->iov;
	return k;
}
