/* sync_codec.c - replication payloads (see sync_codec.h). */
#include "sync_codec.h"

#include <errno.h>
#include <string.h>

#include "regmsg.h" /* the health host's rule, the same as in announcements */
#include "wire.h"

/* ---- names: a length byte, then the bytes (fields through wire.h) ---- */

static void put_str(struct wire_w *w, const char *s)
{
	size_t n = strnlen(s, SYNC_NAME_MAX);

	if (n == SYNC_NAME_MAX) {
		w->err = true;
		return;
	}
	wire_w_u8(w, (uint8_t)n);
	wire_w_bytes(w, s, n);
}

/* A name: 1..63 bytes of [A-Za-z0-9._-] (the config's rule). */
static void get_name(struct wire_r *r, char *out)
{
	size_t n = wire_r_u8(r);
	const uint8_t *q = wire_r_bytes(r, n);

	out[0] = 0;
	if (!q || n == 0 || n >= SYNC_NAME_MAX) {
		r->err = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char c = (char)q[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-')) {
			r->err = true;
			out[0] = 0; /* never leave a half name without its NUL */
			return;
		}
		out[i] = c;
	}
	out[n] = 0;
}

/* ---- one server ---- */

#define SRV_FLAG_UP    1u
#define SRV_FLAG_DRAIN 2u
#define SRV_FLAG_HOST  4u /* a health host follows lb_current (optional field) */
#define SRV_FLAG_V6    8u /* the IPv4 field is 0; 16 bytes of IPv6 address end the record */

_Static_assert(SYNC_HOST_MAX == REGMSG_HOST_MAX, "one health host rule");

static void put_server(struct wire_w *w, const struct sync_server *s)
{
	put_str(w, s->name);
	wire_w_bytes(w, &s->addr, 4); /* already network order */
	wire_w_u16(w, s->port);
	wire_w_u16(w, s->weight);
	wire_w_u8(w, s->source);
	wire_w_u8(w,
		  (uint8_t)((s->up ? SRV_FLAG_UP : 0) | (s->drain ? SRV_FLAG_DRAIN : 0) |
			    (s->health_host[0] ? SRV_FLAG_HOST : 0) | (s->v6 ? SRV_FLAG_V6 : 0)));
	wire_w_u32(w, s->expires_in_ms);
	wire_w_u64(w, s->requests);
	wire_w_u64(w, s->failures);
	wire_w_u32(w, s->inflight);
	wire_w_u32(w, s->queued);
	wire_w_u64(w, (uint64_t)s->lb_current);
	if (s->health_host[0]) {
		if (!regmsg_host_ok(s->health_host))
			w->err = true;
		put_str(w, s->health_host);
	}
	if (s->v6) {
		if (s->addr)
			w->err = true;
		wire_w_bytes(w, s->addr6, 16);
	}
}

/* Only with SRV_FLAG_HOST: absent, the record is byte for byte that of a
 * node without health hosts. */
static void get_host(struct wire_r *r, char *out)
{
	size_t n = wire_r_u8(r);
	const uint8_t *q = wire_r_bytes(r, n);

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

static void get_server(struct wire_r *r, struct sync_server *s)
{
	const uint8_t *a;
	uint8_t flags;

	memset(s, 0, sizeof(*s));
	get_name(r, s->name);
	if ((a = wire_r_bytes(r, 4)))
		memcpy(&s->addr, a, 4);
	s->port = wire_r_u16(r);
	s->weight = wire_r_u16(r);
	s->source = wire_r_u8(r);
	flags = wire_r_u8(r);
	s->up = flags & SRV_FLAG_UP;
	s->drain = flags & SRV_FLAG_DRAIN;
	s->expires_in_ms = wire_r_u32(r);
	s->requests = wire_r_u64(r);
	s->failures = wire_r_u64(r);
	s->inflight = wire_r_u32(r);
	s->queued = wire_r_u32(r);
	s->lb_current = (int64_t)wire_r_u64(r);
	if (flags & SRV_FLAG_HOST)
		get_host(r, s->health_host);
	if ((s->v6 = flags & SRV_FLAG_V6) && (a = wire_r_bytes(r, 16)))
		memcpy(s->addr6, a, 16);
	if (s->port == 0 || s->weight == 0 || s->weight > 256 || s->source > SYNC_SRC_REGISTERED ||
	    (s->v6 && s->addr) ||
	    (flags & ~(SRV_FLAG_UP | SRV_FLAG_DRAIN | SRV_FLAG_HOST | SRV_FLAG_V6)))
		r->err = true;
}

/* ---- snapshot ---- */

int sync_snap_encode(const struct sync_snap_hdr *h, const struct sync_server *srv, size_t n,
		     uint8_t *out, size_t cap)
{
	struct wire_w w = { .p = out, .cap = cap };

	if (n != h->nservers || !h->nchunks || h->nchunks > SYNC_MAX_CHUNKS ||
	    h->chunk >= h->nchunks)
		return -EINVAL;
	wire_w_u64(&w, h->state_seq);
	wire_w_u32(&w, h->snap_id);
	wire_w_u16(&w, h->chunk);
	wire_w_u16(&w, h->nchunks);
	wire_w_u16(&w, h->nservers);
	put_str(&w, h->master);
	for (size_t i = 0; i < n; i++)
		put_server(&w, &srv[i]);
	return wire_w_end(&w);
}

int sync_snap_decode(const uint8_t *buf, size_t len, struct sync_snap_hdr *h, size_t *off)
{
	struct wire_r r = { .p = buf, .len = len };

	h->state_seq = wire_r_u64(&r);
	h->snap_id = wire_r_u32(&r);
	h->chunk = wire_r_u16(&r);
	h->nchunks = wire_r_u16(&r);
	h->nservers = wire_r_u16(&r);
	get_name(&r, h->master);
	if (r.err || !h->nchunks || h->nchunks > SYNC_MAX_CHUNKS || h->chunk >= h->nchunks)
		return -EBADMSG;
	*off = r.off;
	return 0;
}

int sync_snap_server(const uint8_t *buf, size_t len, size_t *off, struct sync_server *srv)
{
	struct wire_r r = { .p = buf, .len = len, .off = *off };

	get_server(&r, srv);
	if (r.err)
		return -EBADMSG;
	*off = r.off;
	return 0;
}

size_t sync_snap_per_chunk(size_t cap)
{
	return cap < SYNC_SNAP_HDR_MAX_LEN
		       ? 0
		       : (cap - SYNC_SNAP_HDR_MAX_LEN) / SYNC_SERVER_BASE_MAX_LEN;
}

size_t sync_snap_per_chunk_for(size_t cap, const struct sync_server *srv, size_t n)
{
	size_t host = 0, v6 = 0, len;

	for (size_t i = 0; i < n; i++) {
		len = strnlen(srv[i].health_host, SYNC_HOST_MAX);
		if (len && 1 + len > host)
			host = 1 + len;
		if (srv[i].v6)
			v6 = SYNC_SERVER_V6_LEN;
	}
	if (cap < SYNC_SNAP_HDR_MAX_LEN)
		return 0;
	return (cap - SYNC_SNAP_HDR_MAX_LEN) / (SYNC_SERVER_BASE_MAX_LEN + host + v6);
}

/* ---- delta and request ---- */

int sync_delta_encode(const struct sync_delta *d, uint8_t *out, size_t cap)
{
	struct wire_w w = { .p = out, .cap = cap };

	if (d->op != SYNC_OP_UPSERT && d->op != SYNC_OP_REMOVE)
		return -EINVAL;
	wire_w_u64(&w, d->state_seq);
	wire_w_u8(&w, d->op);
	put_server(&w, &d->srv);
	return wire_w_end(&w);
}

int sync_delta_decode(const uint8_t *buf, size_t len, struct sync_delta *d)
{
	struct wire_r r = { .p = buf, .len = len };

	d->state_seq = wire_r_u64(&r);
	d->op = wire_r_u8(&r);
	get_server(&r, &d->srv);
	if (r.err || r.off != len || (d->op != SYNC_OP_UPSERT && d->op != SYNC_OP_REMOVE))
		return -EBADMSG;
	return 0;
}

int sync_request_encode(const struct sync_request *q, uint8_t *out, size_t cap)
{
	struct wire_w w = { .p = out, .cap = cap };

	wire_w_u64(&w, q->have_seq);
	wire_w_u8(&w, q->priority);
	put_str(&w, q->node);
	return wire_w_end(&w);
}

int sync_request_decode(const uint8_t *buf, size_t len, struct sync_request *q)
{
	struct wire_r r = { .p = buf, .len = len };

	q->have_seq = wire_r_u64(&r);
	q->priority = wire_r_u8(&r);
	get_name(&r, q->node);
	return r.err || r.off != len ? -EBADMSG : 0;
}

int sync_hello_encode(const struct sync_hello *h, uint8_t *out, size_t cap)
{
	struct wire_w w = { .p = out, .cap = cap };

	wire_w_u64(&w, h->nonce);
	wire_w_u64(&w, h->echo);
	return wire_w_end(&w);
}

int sync_hello_decode(const uint8_t *buf, size_t len, struct sync_hello *h)
{
	struct wire_r r = { .p = buf, .len = len };

	h->nonce = wire_r_u64(&r);
	h->echo = wire_r_u64(&r);
	/* Zero is "nothing to echo": never a nonce. */
	return r.err || r.off != len || !h->nonce ? -EBADMSG : 0;
}

int sync_bye_encode(uint8_t reason, uint8_t *out, size_t cap)
{
	struct wire_w w = { .p = out, .cap = cap };

	if (reason < 1 || reason > SYNC_BYE_MAX)
		return -EINVAL;
	wire_w_u8(&w, reason);
	return wire_w_end(&w);
}

int sync_bye_decode(const uint8_t *buf, size_t len, uint8_t *reason)
{
	struct wire_r r = { .p = buf, .len = len };

	*reason = wire_r_u8(&r);
	return r.err || r.off != len || *reason < 1 || *reason > SYNC_BYE_MAX ? -EBADMSG : 0;
}

const char *sync_bye_name(uint8_t reason)
{
	static const char *const names[SYNC_BYE_MAX + 1] = {
		[SYNC_BYE_SLOW_READER] = "slow_reader", [SYNC_BYE_PROTOCOL] = "protocol_error",
		[SYNC_BYE_EVICTED] = "evicted",         [SYNC_BYE_SHUTDOWN] = "shutdown",
		[SYNC_BYE_RESTART] = "restart",
	};

	return reason >= 1 && reason <= SYNC_BYE_MAX ? names[reason] : "unknown";
}
