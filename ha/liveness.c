/* liveness.c - the fast liveness rules (see liveness.h): path states,
 * the early-takeover gate, the payload codec.  Pure: no clock, no I/O. */
#include "liveness.h"

#include <errno.h>

#include "wire.h"

uint32_t liveness_detect_ms(const struct liveness_path *p)
{
	return LIVENESS_DETECT_MULT * p->interval_ms;
}

/* BFD's Down -> Init -> Up, counted in packets: one packet could be a
 * stray; LIVENESS_UP_MIN in a row, none later than the detection time,
 * say the path works both ways at this rate. */
void liveness_path_rx(struct liveness_path *p, uint64_t now_ms, uint32_t interval_ms)
{
	bool in_time = p->last_rx_ms && now_ms - p->last_rx_ms < liveness_detect_ms(p);

	p->run = in_time ? p->run + 1 : 1;
	p->interval_ms = interval_ms;
	p->last_rx_ms = now_ms ? now_ms : 1;
	p->rx++;
	if (p->state == LIVE_UP && in_time)
		return;
	p->state = p->run >= LIVENESS_UP_MIN ? LIVE_UP : LIVE_INIT;
}

bool liveness_path_expire(struct liveness_path *p, uint64_t now_ms)
{
	bool was_up = p->state == LIVE_UP;

	if (p->state != LIVE_UP && p->state != LIVE_INIT)
		return false;
	if (now_ms - p->last_rx_ms < liveness_detect_ms(p))
		return false;
	p->state = LIVE_DOWN;
	p->run = 0;
	if (was_up)
		p->downs++;
	return was_up;
}

uint64_t liveness_path_deadline(const struct liveness_path *p)
{
	if (p->state != LIVE_UP && p->state != LIVE_INIT)
		return 0;
	return p->last_rx_ms + liveness_detect_ms(p);
}

uint64_t liveness_advert_due_ms(const struct liveness_gate *g) { return g->detect_ms; }

/* Order matters only for what the caller logs: every rule must hold. */
enum liveness_verdict liveness_judge(const struct liveness_gate *g)
{
	if (g->silent_ms < g->detect_ms)
		return LIVE_KEEP;
	if (!g->backup || !g->link_up || !g->was_up || !g->successor || !g->have_state)
		return LIVE_NOT_OURS;
	if (g->advert_age_ms < liveness_advert_due_ms(g))
		return LIVE_WAIT_ADVERT;
	return LIVE_CONFIRM;
}

int liveness_encode(const struct liveness_msg *m, uint8_t *out, size_t cap)
{
	if (cap < LIVENESS_PAYLOAD_LEN)
		return -ENOSPC;
	wire_put32(out, m->interval_ms);
	out[4] = m->role;
	out[5] = m->heard;
	wire_put16(out + 6, 0);
	return LIVENESS_PAYLOAD_LEN;
}

int liveness_decode(const uint8_t *buf, size_t len, struct liveness_msg *m)
{
	if (len != LIVENESS_PAYLOAD_LEN)
		return -EINVAL;
	m->interval_ms = wire_get32(buf);
	m->role = buf[4];
	m->heard = buf[5] < LIVE_NSTATES ? buf[5] : LIVE_OFF;
	if (!m->interval_ms ||
	    (m->role != LIVENESS_ROLE_MASTER && m->role != LIVENESS_ROLE_BACKUP))
		return -EINVAL;
	return 0;
}

enum liveness_syn liveness_syn_outcome(int so_error)
{
	if (so_error == 0)
		return LIVE_SYN_ALIVE;
	if (so_error == ECONNREFUSED || so_error == ECONNRESET)
		return LIVE_SYN_GONE;
	return LIVE_SYN_NO_ANSWER;
}

const char *liveness_state_name(enum liveness_state s)
{
	switch (s) {
	case LIVE_DOWN:
		return "down";
	case LIVE_INIT:
		return "init";
	case LIVE_UP:
		return "up";
	case LIVE_OFF:
	case LIVE_NSTATES:
		break;
	}
	return "off";
}
