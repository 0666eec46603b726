/* alog_journal.c - the access log's journal entries (alog_journal.h):
 * one request's fields, or several requests' lines with each filter
 * field's distinct values once.  Pure: alog.c sends what this builds.
 *
 * The writer builds an entry for every 256 requests under load, so the
 * work per line is kept small: a field's value is looked up by its raw
 * bytes in the record (a number's binary, a string as it is), and only a
 * value new to the entry is formatted as "NAME=value"
 * (docs/observability.md, "The journal's cost"). */
#include "alog_journal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The fields, in the order of a one-request entry. */
enum jf {
	JF_ID,
	JF_CLIENT,
	JF_FRONTEND,
	JF_SERVER,
	JF_METHOD,
	JF_PATH,
	JF_STATUS,
	JF_BYTES_IN,
	JF_BYTES_OUT,
	JF_TIMERS,
	JF_RETRIES,
	JF_REDISPATCHES,
	JF_TERM,
	JF_N
};
_Static_assert(JF_N == ALOG_J_FIELDS, "a request alone has every field");

static const struct {
	const char *name; /* "NAME=" */
	unsigned char len;
} fname[JF_N] = {
#define NAME(s)                  \
	{                        \
		s "=", sizeof(s) \
	}
	[JF_ID] = NAME("REQUEST_ID"),       [JF_CLIENT] = NAME("CLIENT"),
	[JF_FRONTEND] = NAME("FRONTEND"),   [JF_SERVER] = NAME("SERVER"),
	[JF_METHOD] = NAME("METHOD"),       [JF_PATH] = NAME("PATH"),
	[JF_STATUS] = NAME("STATUS"),       [JF_BYTES_IN] = NAME("BYTES_IN"),
	[JF_BYTES_OUT] = NAME("BYTES_OUT"), [JF_TIMERS] = NAME("TIMERS_MS"),
	[JF_RETRIES] = NAME("RETRIES"),     [JF_REDISPATCHES] = NAME("REDISPATCHES"),
	[JF_TERM] = NAME("TERMINATION"),
#undef NAME
};

/* Per line: every field (a request alone), or the fields people filter
 * on (an entry of several lines; FRONTEND, the same for every line, is
 * put once per entry).  The numbers and the path stay in the line. */
static const enum jf all_fields[] = { JF_ID,     JF_CLIENT,  JF_SERVER,       JF_METHOD,
				      JF_PATH,   JF_STATUS,  JF_BYTES_IN,     JF_BYTES_OUT,
				      JF_TIMERS, JF_RETRIES, JF_REDISPATCHES, JF_TERM };
static const enum jf batch_fields[] = {
	JF_ID, JF_CLIENT, JF_SERVER, JF_METHOD, JF_STATUS, JF_TERM
};
#define N_ALL   (sizeof(all_fields) / sizeof(all_fields[0]))
#define N_BATCH (sizeof(batch_fields) / sizeof(batch_fields[0]))
_Static_assert(N_BATCH + 1 == ALOG_J_BATCH_FIELDS, "alog_journal.h says which");

/* An item's text at most: "REDISPATCHES=" and 20 digits, "TIMERS_MS=" and
 * four int32, "PATH=" and the cut path and "...", "REQUEST_ID=" and the
 * id, "FRONTEND=" and the listener... */
#define ITEM_TEXT_MAX 160
_Static_assert(5 + ALOG_PATH_MAX + 3 <= ITEM_TEXT_MAX && 11 + 68 <= ITEM_TEXT_MAX &&
		       9 + CFG_ADDR_TEXT_MAX <= ITEM_TEXT_MAX &&
		       7 + CFG_NAME_MAX <= ITEM_TEXT_MAX &&
		       7 + INET6_ADDRSTRLEN + 8 <= ITEM_TEXT_MAX,
	       "an item fits ITEM_TEXT_MAX");
/* The timers are one value: four int32 side by side in the record. */
_Static_assert(offsetof(struct alog_rec, connect_ms) == offsetof(struct alog_rec, queue_ms) + 4 &&
		       offsetof(struct alog_rec, first_byte_ms) ==
			       offsetof(struct alog_rec, queue_ms) + 8 &&
		       offsetof(struct alog_rec, total_ms) ==
			       offsetof(struct alog_rec, queue_ms) + 12,
	       "the timers are 16 contiguous bytes");

#define SEEN_SLOTS     512 /* per field, > ALOG_J_BATCH: the table never fills */
/* sd_journal_sendv's iovecs for a field: the field and a newline, or five
 * for a value with a newline in it; one sendmsg takes at most 1,024. */
#define IOV_MAX_SEND   1024
#define IOV_ITEM(p, n) (memchr(p, '\n', n) ? 5u : 2u)

/* A value as the record holds it: what tells two values apart. */
struct val {
	const void *p;
	size_t n;
};

struct slot {
	uint16_t item; /* index + 1 in iov[], 0 = free */
	uint16_t tag;  /* the hash's upper bits: most misses end here */
};

struct alog_jbatch {
	struct iovec iov[ALOG_J_ITEMS_MAX];
	struct val raw[ALOG_J_ITEMS_MAX]; /* iov[i]'s value in its record */
	unsigned iovs;                    /* sd_journal_sendv's for iov[] (IOV_ITEM) */
	struct slot seen[JF_N][SEEN_SLOTS];
	char text[ALOG_J_ITEMS_MAX * ITEM_TEXT_MAX];
	size_t textlen;
	char msg[ALOG_J_MSG_MAX];
};

struct alog_jbatch *alog_jbatch_new(void) { return malloc(sizeof(struct alog_jbatch)); }

void alog_jbatch_free(struct alog_jbatch *b) { free(b); }

/* ---- a value's text ---- */

static char *put_u64(char *p, uint64_t v)
{
	char d[20], *q = d + sizeof(d);
	size_t n;

	do
		*--q = (char)('0' + v % 10);
	while (v /= 10);
	n = (size_t)(d + sizeof(d) - q);
	memcpy(p, q, n);
	return p + n;
}

static char *put_i32(char *p, int32_t v)
{
	if (v < 0)
		*p++ = '-';
	return put_u64(p, v < 0 ? 0 - (uint64_t)(int64_t)v : (uint64_t)v);
}

static const struct val dash = { "-", 1 };

/* Field j's value in r; frontend for JF_FRONTEND.  The values are those
 * one-request entries always had (STATUS=0: nothing sent). */
static struct val raw_of(const struct alog_rec *r, enum jf j, const char *frontend)
{
	switch (j) {
	case JF_ID:
		return (struct val){ r->id, strnlen(r->id, sizeof(r->id)) };
	case JF_CLIENT:
		return (struct val){ r->client, strnlen(r->client, sizeof(r->client)) };
	case JF_FRONTEND:
		return (struct val){ frontend, strnlen(frontend, CFG_ADDR_TEXT_MAX) };
	case JF_SERVER:
		return r->server[0]
			       ? (struct val){ r->server, strnlen(r->server, sizeof(r->server)) }
			       : dash;
	case JF_METHOD:
		return r->tcp || !r->method[0]
			       ? dash
			       : (struct val){ r->method, strnlen(r->method, sizeof(r->method)) };
	case JF_PATH:
		/* A cut path counts its NUL: "/a" cut is not "/a". */
		return r->tcp ? dash
			      : (struct val){ r->path,
					      strnlen(r->path, sizeof(r->path)) + r->path_cut };
	case JF_STATUS:
		return (struct val){ &r->status, sizeof(r->status) };
	case JF_BYTES_IN:
		return (struct val){ &r->bytes_in, sizeof(r->bytes_in) };
	case JF_BYTES_OUT:
		return (struct val){ &r->bytes_out, sizeof(r->bytes_out) };
	case JF_TIMERS:
		return (struct val){ &r->queue_ms, 4 * sizeof(r->queue_ms) };
	case JF_RETRIES:
		return (struct val){ &r->retries, sizeof(r->retries) };
	case JF_REDISPATCHES:
		return (struct val){ &r->redispatches, sizeof(r->redispatches) };
	case JF_TERM:
	case JF_N:
		break;
	}
	return (struct val){ r->term, strnlen(r->term, sizeof(r->term)) };
}

/* "NAME=value" for field j of r (value v) at p; returns its end. */
static char *put_item(char *p, const struct alog_rec *r, enum jf j, struct val v)
{
	memcpy(p, fname[j].name, fname[j].len);
	p += fname[j].len;
	switch (j) {
	case JF_STATUS:
		return put_u64(p, r->status);
	case JF_BYTES_IN:
		return put_u64(p, r->bytes_in);
	case JF_BYTES_OUT:
		return put_u64(p, r->bytes_out);
	case JF_RETRIES:
		return put_u64(p, r->retries);
	case JF_REDISPATCHES:
		return put_u64(p, r->redispatches);
	case JF_TIMERS:
		p = put_i32(p, r->queue_ms);
		*p++ = '/';
		p = put_i32(p, r->connect_ms);
		*p++ = '/';
		p = put_i32(p, r->first_byte_ms);
		*p++ = '/';
		return put_i32(p, r->total_ms);
	case JF_PATH:
		if (v.p != dash.p && r->path_cut) {
			memcpy(p, v.p, v.n - 1);
			p += v.n - 1;
			*p++ = '.';
			*p++ = '.';
			*p++ = '.';
			return p;
		}
		break;
	default:
		break;
	}
	memcpy(p, v.p, v.n); /* a string as it is */
	return p + v.n;
}

/* ---- an entry ---- */

/* A hash of the value's bytes, 8 at a time: values are short (an id, an
 * address, a number). */
static uint32_t hash(struct val v)
{
	const unsigned char *s = v.p;
	size_t n = v.n;
	uint64_t h = 0x9e3779b97f4a7c15u ^ n, w;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdu;
		h ^= h >> 31;
	}
	for (w = 0; n; n--)
		w = w << 8 | s[n - 1];
	h = (h ^ w) * 0xc4ceb9fe1a85ec53u;
	return (uint32_t)(h ^ h >> 32);
}

/* Add field j's value v (of r) to the entry unless it holds it already. */
static void add_item(struct alog_jbatch *b, int *cnt, const struct alog_rec *r, enum jf j,
		     struct val v)
{
	struct slot *seen = b->seen[j];
	uint32_t h = hash(v);
	uint16_t tag = (uint16_t)(h >> 16);

	for (uint32_t s = h % SEEN_SLOTS;; s = (s + 1) % SEEN_SLOTS) {
		const struct val *o;
		char *start, *end;

		if (!seen[s].item) {
			start = b->text + b->textlen;
			end = put_item(start, r, j, v);
			b->textlen += (size_t)(end - start);
			seen[s] = (struct slot){ (uint16_t)(*cnt + 1), tag };
			b->raw[*cnt] = v;
			b->iov[(*cnt)++] = (struct iovec){ start, (size_t)(end - start) };
			b->iovs += IOV_ITEM(start, (size_t)(end - start));
			return;
		}
		o = &b->raw[seen[s].item - 1];
		if (seen[s].tag == tag && o->n == v.n && !memcmp(o->p, v.p, v.n))
			return;
	}
}

unsigned alog_j_lines_per_entry(unsigned pending, unsigned single_max)
{
	return pending <= single_max ? 1 : ALOG_J_BATCH;
}

unsigned alog_jbatch_build(struct alog_jbatch *b, const struct alog_rec *r, unsigned n,
			   unsigned max, const char *frontend, const struct iovec **iov, int *cnt)
{
	const enum jf *fields = max == 1 ? all_fields : batch_fields;
	unsigned nf = max == 1 ? N_ALL : N_BATCH;
	size_t len = 8;
	unsigned k = 0;

	if (max > ALOG_J_BATCH)
		max = ALOG_J_BATCH;
	for (unsigned i = 0; i < nf; i++)
		memset(b->seen[fields[i]], 0, sizeof(b->seen[0]));
	memset(b->seen[JF_FRONTEND], 0, sizeof(b->seen[0]));
	memcpy(b->msg, "MESSAGE=", 8);
	b->iov[1] = (struct iovec){ "PRIORITY=6", 10 };
	b->iov[2] = (struct iovec){ "ANDROMEDA_LOG=access", 20 };
	*cnt = 3;
	b->iovs = 5 + 2 + 2;
	b->textlen = 0;
	if (n)
		add_item(b, cnt, r, JF_FRONTEND, raw_of(r, JF_FRONTEND, frontend));
	/* Room for a whole record's fields, each new (and each with a newline
	 * as far as sendmsg is concerned), is left before a line is taken;
	 * the message has room for ALOG_J_BATCH lines. */
	while (k < n && k < max && (unsigned)*cnt + nf <= ALOG_J_ITEMS_MAX &&
	       b->iovs + 5 * nf <= IOV_MAX_SEND) {
		if (k)
			b->msg[len++] = '\n';
		len += alog_format(&r[k], frontend, b->msg + len, ALOG_LINE_MAX);
		for (unsigned i = 0; i < nf; i++)
			add_item(b, cnt, &r[k], fields[i], raw_of(&r[k], fields[i], frontend));
		k++;
	}
	b->iov[0] = (struct iovec){ b->msg, len };
	*iov = b->iov;
	return k;
}
