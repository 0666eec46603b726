/* wire.h - network byte order (big-endian), the one copy every codec uses:
 * the envelope (msg.c), registration (regmsg.c), replication (sync_codec.c,
 * sync_session.c's frame lengths), the journal's records, VRRP and ARP.
 *
 *  - wire_getN / wire_putN read or write at a fixed offset; the caller
 *    has checked the length (fixed layouts: a header, a record).
 *  - struct wire_w / wire_r walk a buffer field by field, bounded: the
 *    first field that does not fit sets err, which sticks, so a codec
 *    writes or reads every field and checks once at the end (variable
 *    layouts: lists of servers, optional fields).
 * Header only: each function is a few instructions. */
#ifndef ANDROMEDA_WIRE_H
#define ANDROMEDA_WIRE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t wire_get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t wire_get32(const uint8_t *p)
{
	return (uint32_t)wire_get16(p) << 16 | wire_get16(p + 2);
}
static inline uint64_t wire_get64(const uint8_t *p)
{
	return (uint64_t)wire_get32(p) << 32 | wire_get32(p + 4);
}

static inline void wire_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void wire_put32(uint8_t *p, uint32_t v)
{
	wire_put16(p, (uint16_t)(v >> 16));
	wire_put16(p + 2, (uint16_t)v);
}
static inline void wire_put64(uint8_t *p, uint64_t v)
{
	wire_put32(p, (uint32_t)(v >> 32));
	wire_put32(p + 4, (uint32_t)v);
}

/* ---- bounded writer: { .p = out, .cap = cap } ---- */

struct wire_w {
	uint8_t *p;
	size_t len, cap;
	bool err; /* a field did not fit: the output is unusable */
};

static inline void wire_w_bytes(struct wire_w *w, const void *src, size_t n)
{
	if (w->err || n > w->cap - w->len) {
		w->err = true;
		return;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

static inline void wire_w_u8(struct wire_w *w, uint8_t v) { wire_w_bytes(w, &v, 1); }

static inline void wire_w_u16(struct wire_w *w, uint16_t v)
{
	uint8_t b[2];

	wire_put16(b, v);
	wire_w_bytes(w, b, sizeof(b));
}

static inline void wire_w_u32(struct wire_w *w, uint32_t v)
{
	uint8_t b[4];

	wire_put32(b, v);
	wire_w_bytes(w, b, sizeof(b));
}

static inline void wire_w_u64(struct wire_w *w, uint64_t v)
{
	uint8_t b[8];

	wire_put64(b, v);
	wire_w_bytes(w, b, sizeof(b));
}

/* The length written, or -ENOSPC if anything did not fit. */
static inline int wire_w_end(const struct wire_w *w) { return w->err ? -ENOSPC : (int)w->len; }

/* ---- bounded reader: { .p = buf, .len = len } ---- */

struct wire_r {
	const uint8_t *p;
	size_t len, off;
	bool err; /* a read went past the end: every later one fails */
};

/* The next n bytes, or NULL (err set) when fewer are left. */
static inline const uint8_t *wire_r_bytes(struct wire_r *r, size_t n)
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

/* Numbers read as 0 once err is set. */
static inline uint8_t wire_r_u8(struct wire_r *r)
{
	const uint8_t *q = wire_r_bytes(r, 1);

	return q ? q[0] : 0;
}

static inline uint16_t wire_r_u16(struct wire_r *r)
{
	const uint8_t *q = wire_r_bytes(r, 2);

	return q ? wire_get16(q) : 0;
}

static inline uint32_t wire_r_u32(struct wire_r *r)
{
	const uint8_t *q = wire_r_bytes(r, 4);

	return q ? wire_get32(q) : 0;
}

static inline uint64_t wire_r_u64(struct wire_r *r)
{
	const uint8_t *q = wire_r_bytes(r, 8);

	return q ? wire_get64(q) : 0;
}

/* Bytes not read yet. */
static inline size_t wire_r_left(const struct wire_r *r) { return r->len - r->off; }

#endif
