/* sync_codec.c - replication payloads (see sync_codec.h). */
#include "sync_codec.h"

#include <errno.h>
#include <string.h>

#include "regmsg.h" /* the health host's rule, the same as in announcements */

/* ---- a bounded writer and reader ---- */

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	bool err;
};

static void put(struct wbuf *w, const void *src, size_t n)
{
	if (w->err || n > w->cap - w->len) {
		w->err = true;
		return;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void put_u8(struct wbuf *w, uint8_t v) { put(w, &v, 1); }

static void put_be(struct wbuf *w, uint64_t v, unsigned bytes)
{
	uint8_t b[8];

	for (unsigned i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	put(w, b, bytes);
}

static void put_str(struct wbuf *w, const char *s)
{
	size_t n = strnlen(s, SYNC_NAME_MAX);

	if (n == SYNC_NAME_MAX) {
		w->err = true;
		return;
	}
	put_u8(w, (uint8_t)n);
	put(w, s, n);
}

struct rbuf {
	const uint8_t *p;
	size_t len, off;
	bool err;
};

static const uint8_t *get(struct rbuf *r, size_t n)
{
	const uint8_t *q;

	if (r->err || n > r->len - r->off) {
		r->err = true;
		return NULL;
	}
	q = r->p + r->off;
	r->off += n;
	return q;
}

static uint64_t get_be(struct rbuf *r, unsigned bytes)
{
	const uint8_t *q = get(r, bytes);
	uint64_t v = 0;

	for (unsigned i = 0; q && i < bytes; i++)
		v = v << 8 | q[i];
	return v;
}

/* A name: 1..63 bytes of [A-Za-z0-9._-] (the config's rule). */
static void get_name(struct rbuf *r, char *out)
{
	size_t n = (size_t)get_be(r, 1);
	const uint8_t *q = get(r, n);

	out[0] = 0;
	if (!q || n == 0 || n >= SYNC_NAME_MAX) {
		r->err = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char c = (char)q[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-')) {
			r->err = true;
			out[0] = 0; /* never leave a half name without its NUL */
			return;
		}
		out[i] = c;
	}
	out[n] = 0;
}

/* ---- one server ---- */

#define SRV_FLAG_UP 1u
#define SRV_FLAG_DRAIN 2u
#define SRV_FLAG_HOST 4u  /* a health host follows lb_current (optional field) */

_Static_assert(SYNC_HOST_MAX == REGMSG_HOST_MAX, "one health host rule");

static void put_server(struct wbuf *w, const struct sync_server *s)
{
	put_str(w, s->name);
	put(w, &s->addr, 4); /* already network order */
	put_be(w, s->port, 2);
	put_be(w, s->weight, 2);
	put_u8(w, s->source);
	put_u8(w, (uint8_t)((s->up ? SRV_FLAG_UP : 0) | (s->drain ? SRV_FLAG_DRAIN : 0) |
			    (s->health_host[0] ? SRV_FLAG_HOST : 0)));
	put_be(w, s->expires_in_ms, 4);
	put_be(w, s->requests, 8);
	put_be(w, s->failures, 8);
	put_be(w, s->inflight, 4);
	put_be(w, s->queued, 4);
	put_be(w, (uint64_t)s->lb_current, 8);
	if (s->health_host[0]) {
		if (!regmsg_host_ok(s->health_host))
			w->err = true;
		put_str(w, s->health_host);
	}
}

/* Only with SRV_FLAG_HOST: absent, the record is byte for byte that of a
 * node without health hosts. */
static void get_host(struct rbuf *r, char *out)
{
	size_t n = (size_t)get_be(r, 1);
	const uint8_t *q = get(r, n);

	out[0] = 0;
	if (!q || n == 0 || n >= SYNC_HOST_MAX) {
		r->err = true;
		return;
	}
	memcpy(out, q, n);
	out[n] = 0;
	if (strlen(out) != n || !regmsg_host_ok(out)) {
		r->err = true;
		out[0] = 0;
	}
}

static void get_server(struct rbuf *r, struct sync_server *s)
{
	const uint8_t *a;
	uint8_t flags;

	memset(s, 0, sizeof(*s));
	get_name(r, s->name);
	if ((a = get(r, 4)))
		memcpy(&s->addr, a, 4);
	s->port = (uint16_t)get_be(r, 2);
	s->weight = (uint16_t)get_be(r, 2);
	s->source = (uint8_t)get_be(r, 1);
	flags = (uint8_t)get_be(r, 1);
	s->up = flags & SRV_FLAG_UP;
	s->drain = flags & SRV_FLAG_DRAIN;
	s->expires_in_ms = (uint32_t)get_be(r, 4);
	s->requests = get_be(r, 8);
	s->failures = get_be(r, 8);
	s->inflight = (uint32_t)get_be(r, 4);
	s->queued = (uint32_t)get_be(r, 4);
	s->lb_current = (int64_t)get_be(r, 8);
	if (flags & SRV_FLAG_HOST)
		get_host(r, s->health_host);
	if (s->port == 0 || s->weight == 0 || s->weight > 256 || s->source > SYNC_SRC_REGISTERED ||
	    (flags & ~(SRV_FLAG_UP | SRV_FLAG_DRAIN | SRV_FLAG_HOST)))
		r->err = true;
}

/* ---- snapshot ---- */

int sync_snap_encode(const struct sync_snap_hdr *h, const struct sync_server *srv, size_t n, uint8_t *out,
		     size_t cap)
{
	struct wbuf w = { .p = out, .cap = cap };

	if (n != h->nservers || !h->nchunks || h->nchunks > SYNC_MAX_CHUNKS || h->chunk >= h->nchunks)
		return -EINVAL;
	put_be(&w, h->state_seq, 8);
	put_be(&w, h->snap_id, 4);
	put_be(&w, h->chunk, 2);
	put_be(&w, h->nchunks, 2);
	put_be(&w, h->nservers, 2);
	put_str(&w, h->master);
	for (size_t i = 0; i < n; i++)
		put_server(&w, &srv[i]);
	return w.err ? -ENOSPC : (int)w.len;
}

int sync_snap_decode(const uint8_t *buf, size_t len, struct sync_snap_hdr *h, size_t *off)
{
	struct rbuf r = { .p = buf, .len = len };

	h->state_seq = get_be(&r, 8);
	h->snap_id = (uint32_t)get_be(&r, 4);
	h->chunk = (uint16_t)get_be(&r, 2);
	h->nchunks = (uint16_t)get_be(&r, 2);
	h->nservers = (uint16_t)get_be(&r, 2);
	get_name(&r, h->master);
	if (r.err || !h->nchunks || h->nchunks > SYNC_MAX_CHUNKS || h->chunk >= h->nchunks)
		return -EBADMSG;
	*off = r.off;
	return 0;
}

int sync_snap_server(const uint8_t *buf, size_t len, size_t *off, struct sync_server *srv)
{
	struct rbuf r = { .p = buf, .len = len, .off = *off };

	get_server(&r, srv);
	if (r.err)
		return -EBADMSG;
	*off = r.off;
	return 0;
}

size_t sync_snap_per_chunk(size_t cap)
{
	return cap < SYNC_SNAP_HDR_MAX_LEN ? 0 : (cap - SYNC_SNAP_HDR_MAX_LEN) / SYNC_SERVER_BASE_MAX_LEN;
}

size_t sync_snap_per_chunk_for(size_t cap, const struct sync_server *srv, size_t n)
{
	size_t host = 0, len;

	for (size_t i = 0; i < n; i++) {
		len = strnlen(srv[i].health_host, SYNC_HOST_MAX);
		if (len && 1 + len > host)
			host = 1 + len;
	}
	if (cap < SYNC_SNAP_HDR_MAX_LEN)
		return 0;
	return (cap - SYNC_SNAP_HDR_MAX_LEN) / (SYNC_SERVER_BASE_MAX_LEN + host);
}

/* ---- delta and request ---- */

int sync_delta_encode(const struct sync_delta *d, uint8_t *out, size_t cap)
{
	struct wbuf w = { .p = out, .cap = cap };

	if (d->op != SYNC_OP_UPSERT && d->op != SYNC_OP_REMOVE)
		return -EINVAL;
	put_be(&w, d->state_seq, 8);
	put_u8(&w, d->op);
	put_server(&w, &d->srv);
	return w.err ? -ENOSPC : (int)w.len;
}

int sync_delta_decode(const uint8_t *buf, size_t len, struct sync_delta *d)
{
	struct rbuf r = { .p = buf, .len = len };

	d->state_seq = get_be(&r, 8);
	d->op = (uint8_t)get_be(&r, 1);
	get_server(&r, &d->srv);
	if (r.err || r.off != len || (d->op != SYNC_OP_UPSERT && d->op != SYNC_OP_REMOVE))
		return -EBADMSG;
	return 0;
}

int sync_request_encode(const struct sync_request *q, uint8_t *out, size_t cap)
{
	struct wbuf w = { .p = out, .cap = cap };

	put_be(&w, q->have_seq, 8);
	put_u8(&w, q->priority);
	put_str(&w, q->node);
	return w.err ? -ENOSPC : (int)w.len;
}

int sync_request_decode(const uint8_t *buf, size_t len, struct sync_request *q)
{
	struct rbuf r = { .p = buf, .len = len };

	q->have_seq = get_be(&r, 8);
	q->priority = (uint8_t)get_be(&r, 1);
	get_name(&r, q->node);
	return r.err || r.off != len ? -EBADMSG : 0;
}

int sync_hello_encode(const struct sync_hello *h, uint8_t *out, size_t cap)
{
	struct wbuf w = { .p = out, .cap = cap };

	put_be(&w, h->nonce, 8);
	put_be(&w, h->echo, 8);
	return w.err ? -ENOSPC : (int)w.len;
}

int sync_hello_decode(const uint8_t *buf, size_t len, struct sync_hello *h)
{
	struct rbuf r = { .p = buf, .len = len };

	h->nonce = get_be(&r, 8);
	h->echo = get_be(&r, 8);
	/* Zero is "nothing to echo": never a nonce. */
	return r.err || r.off != len || !h->nonce ? -EBADMSG : 0;
}

int sync_bye_encode(uint8_t reason, uint8_t *out, size_t cap)
{
	struct wbuf w = { .p = out, .cap = cap };

	if (reason < 1 || reason > SYNC_BYE_MAX)
		return -EINVAL;
	put_u8(&w, reason);
	return w.err ? -ENOSPC : (int)w.len;
}

int sync_bye_decode(const uint8_t *buf, size_t len, uint8_t *reason)
{
	struct rbuf r = { .p = buf, .len = len };

	*reason = (uint8_t)get_be(&r, 1);
	return r.err || r.off != len || *reason < 1 || *reason > SYNC_BYE_MAX ? -EBADMSG : 0;
}

const char *sync_bye_name(uint8_t reason)
{
	static const char *const names[SYNC_BYE_MAX + 1] = {
		[SYNC_BYE_SLOW_READER] = "slow_reader", [SYNC_BYE_PROTOCOL] = "protocol_error",
		[SYNC_BYE_EVICTED] = "evicted", [SYNC_BYE_SHUTDOWN] = "shutdown",
	};

	return reason >= 1 && reason <= SYNC_BYE_MAX ? names[reason] : "unknown";
}
