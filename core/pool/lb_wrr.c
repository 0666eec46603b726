/* lb_wrr.c - smooth weighted round-robin.
 *
 * Each pick adds every usable server's weight to its running score, picks
 * the highest score and subtracts the total weight from it.  Over any
 * window of sum(weights) picks each server is chosen exactly `weight`
 * times, and picks are spread out instead of bunched.  With equal weights
 * this is plain round-robin in list order.  Ties go to the server earliest
 * in the list, so the order is deterministic (tests rely on it). */
#include "lb.h"
#include "pool.h"

static struct server *wrr_next(struct list *servers, const struct server *exclude,
			       bool (*usable)(const struct server *), const struct lb_key *key)
{
	struct server *best = NULL;
	int64_t total = 0;
	struct list *pos;

	(void)key;
	list_for_each (pos, servers) {
		struct server *s = list_entry(pos, struct server, link);

		if (s == exclude || !usable(s))
			continue;
		s->lb_current += s->weight;
		total += s->weight;
		if (!best || s->lb_current > best->lb_current)
			best = s;
	}
	if (best)
		best->lb_current -= total;
	return best;
}

/* A server that rejoins starts from zero so it does not get a burst of
 * catch-up picks for the time it was away. */
static void wrr_reset_one(struct list *servers, struct server *srv) { srv->lb_current = 0; }

const struct lb_ops lb_wrr_ops = {
	.name = "roundrobin",
	.next_server = wrr_next,
	.server_up = wrr_reset_one,
	.server_down = wrr_reset_one,
	.weight_changed = wrr_reset_one,
};
