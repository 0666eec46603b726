/* sync_inflight.c - the MASTER's requests in flight, replicated
 * (sync_inflight.h). */
#include "sync_inflight.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "msg.h"
#include "sync_int.h"
#include "vrrp.h"
#include "wire.h"

#define HDR_LEN 14

/* What one node keeps: the last list sent (MASTER) or received (BACKUP). */
struct sync_inflight_state {
	uint8_t sent[MSG_MAX_PAYLOAD]; /* payload after the time field */
	size_t sent_len;
	uint64_t sent_ms; /* monotonic */
	bool have_rx;
	struct in_addr rx_from;
	uint64_t rx_ms; /* monotonic */
	struct sync_inflight rx;
};

/* ---- codec ---- */

static bool printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return n > 0;
}

int sync_inflight_encode(const struct sync_inflight *l, uint8_t *out, size_t cap)
{
	struct wire_w w = { .p = out, .cap = cap };
	unsigned n = 0;

	wire_w_u64(&w, l->at_ms);
	wire_w_u32(&w, l->total);
	wire_w_u16(&w, 0); /* the count, once known */
	if (w.err)
		return -ENOSPC;
	for (unsigned i = 0; i < l->n && i < SYNC_INFLIGHT_MAX; i++) {
		size_t sl = strnlen(l->req[i].server, CFG_NAME_MAX - 1);
		size_t il = strnlen(l->req[i].id, SYNC_INFLIGHT_ID_MAX);

		if (2 + sl + il > cap - w.len)
			break;
		wire_w_u8(&w, (uint8_t)sl);
		wire_w_bytes(&w, l->req[i].server, sl);
		wire_w_u8(&w, (uint8_t)il);
		wire_w_bytes(&w, l->req[i].id, il);
		n++;
	}
	wire_put16(out + 12, (uint16_t)n);
	return wire_w_end(&w);
}

/* A length byte and that many printable bytes into out (cap with NUL). */
static bool get_text(struct wire_r *r, char *out, size_t cap)
{
	size_t n = wire_r_u8(r);
	const uint8_t *p = wire_r_bytes(r, n);

	if (!p || n >= cap || !printable((const char *)p, n))
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

int sync_inflight_decode(const uint8_t *in, size_t len, struct sync_inflight *out)
{
	struct wire_r r = { .p = in, .len = len };

	out->at_ms = wire_r_u64(&r);
	out->total = wire_r_u32(&r);
	out->n = wire_r_u16(&r);
	if (r.err || out->n > SYNC_INFLIGHT_MAX)
		return -EBADMSG;
	for (unsigned i = 0; i < out->n; i++)
		if (!get_text(&r, out->req[i].server, sizeof(out->req[i].server)) ||
		    !get_text(&r, out->req[i].id, sizeof(out->req[i].id)))
			return -EBADMSG;
	return wire_r_left(&r) || r.err ? -EBADMSG : 0;
}

/* ---- the MASTER ---- */

static struct sync_inflight_state *state(struct sync *s)
{
	if (!s->inflight)
		s->inflight = calloc(1, sizeof(*s->inflight));
	return s->inflight;
}

void sync_inflight_publish(struct sync *s, const struct sync_inflight *l)
{
	struct sync_inflight_state *st;
	uint8_t payload[MSG_MAX_PAYLOAD], buf[MSG_MAX_LEN];
	uint64_t now = loop_now_ms(s->loop);
	int plen, len;

	if (vrrp_get_state(s->vrrp) != VRRP_MASTER || !(st = state(s)))
		return;
	if ((plen = sync_inflight_encode(l, payload, sizeof(payload))) < 0)
		return;
	/* The same requests as last time (the time field aside): quiet. */
	if ((size_t)plen - 8 == st->sent_len && !memcmp(st->sent, payload + 8, st->sent_len) &&
	    now - st->sent_ms < SYNC_INFLIGHT_REPEAT_MS)
		return;
	if ((len = sync_envelope(s, MSG_INFLIGHT, payload, (size_t)plen, buf, sizeof(buf))) < 0)
		return;
	sync_udp_send(s, buf, (size_t)len);
	st->sent_len = (size_t)plen - 8;
	memcpy(st->sent, payload + 8, st->sent_len);
	st->sent_ms = now;
}

/* ---- the BACKUPs ---- */

void sync_inflight_rx(struct sync *s, const struct msg *m)
{
	struct sync_inflight_state *st;

	if (vrrp_get_state(s->vrrp) == VRRP_MASTER || !(st = state(s)))
		return; /* ours are the ones that count */
	if (sync_inflight_decode(m->payload, m->len, &st->rx) < 0) {
		st->have_rx = false;
		s->c.bad_payload++;
		return;
	}
	st->have_rx = true;
	st->rx_from.s_addr = m->sender;
	st->rx_ms = loop_now_ms(s->loop);
}

int sync_inflight_take(struct sync *s, struct sync_inflight *out, struct in_addr *from,
		       uint64_t *age_ms)
{
	struct sync_inflight_state *st = s ? s->inflight : NULL;

	if (!st || !st->have_rx)
		return -ENOENT;
	*out = st->rx;
	*from = st->rx_from;
	*age_ms = loop_now_ms(s->loop) - st->rx_ms;
	st->have_rx = false;
	return 0;
}

void sync_inflight_free(struct sync *s)
{
	free(s->inflight);
	s->inflight = NULL;
}
