/* successor.c - the named successor's rules (see successor.h). */
#include "successor.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

struct in_addr successor_choose(const struct successor_cand *c, size_t n)
{
	struct in_addr best = { 0 };
	uint8_t best_prio = 0;

	for (size_t i = 0; i < n; i++) {
		if (!c[i].ready || !c[i].priority || !c[i].addr.s_addr)
			continue;
		if (c[i].priority > best_prio ||
		    (c[i].priority == best_prio && ntohl(c[i].addr.s_addr) > ntohl(best.s_addr))) {
			best = c[i].addr;
			best_prio = c[i].priority;
		}
	}
	return best;
}

int successor_encode(struct in_addr succ, uint8_t *out, size_t cap)
{
	if (cap < SUCCESSOR_PAYLOAD_LEN)
		return -ENOSPC;
	memcpy(out, &succ.s_addr, SUCCESSOR_PAYLOAD_LEN);
	return SUCCESSOR_PAYLOAD_LEN;
}

int successor_decode(const uint8_t *buf, size_t len, struct in_addr *succ)
{
	if (len != SUCCESSOR_PAYLOAD_LEN)
		return -EINVAL;
	memcpy(&succ->s_addr, buf, SUCCESSOR_PAYLOAD_LEN);
	return 0;
}

/* Only one node may move early.  A node that was named but cannot prove
 * the MASTER is dead (a timeout, not its kernel's answer) or has not its
 * state yet falls back to the RFC's own timing for a lost master (the
 * Skew_Time of today's crash detector), as do all nodes of a MASTER that
 * named nobody or does not know this message (an older version). */
enum successor_action successor_on_crash(const struct successor_view *v)
{
	if (!v->named || !v->succ.s_addr)
		return SUCC_RFC_SKEW;
	if (v->succ.s_addr != v->self.s_addr)
		return SUCC_RFC_WAIT;
	if (v->have_state && v->peer_closed)
		return SUCC_TAKE_NOW;
	return SUCC_RFC_SKEW;
}

/* A node that joins without a session to us moves by the RFC timers
 * (Master_Down_Interval after the dead MASTER's last advert), and by then
 * it hears our adverts; a node with a session to us might be a better
 * BACKUP of the instance, so then we keep Skew_Time (the best moves
 * first, the others hear it). */
bool successor_inst_now(const struct successor_inst_view *v)
{
	return v->gone && v->first_master && v->others == 0;
}
