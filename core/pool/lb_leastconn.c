/* lb_leastconn.c - the server with the fewest requests per unit of weight.
 *
 * A server's load is its requests in flight plus those queued for it (a
 * full server's queue is load too).  As HAProxy's leastconn, the choice
 * compares (load + 1) / weight, so with nothing in flight the heaviest
 * server goes first and weights 3:1 keep about 3:1 in flight.
 *
 * Ties go round-robin, not to the first in the list: lb_current holds a
 * stamp, "picked at step N", and among equally loaded servers the one
 * picked longest ago wins; the pick gets the highest stamp + 1.  Short
 * requests (load always 0) thus rotate like roundrobin.  No per-pool
 * state: the stamps live in the servers, under the pool lock. */
#include "lb.h"
#include "pool.h"

static uint64_t load_of(const struct server *s)
{
	return (uint64_t)server_inflight(s) + server_queued(s);
}

/* a (load la) better than b (load lb): (la+1)/wa < (lb+1)/wb. */
static int compare(const struct server *a, uint64_t la, const struct server *b, uint64_t lb)
{
	uint64_t x = (la + 1) * b->weight, y = (lb + 1) * a->weight;

	if (x != y)
		return x < y ? -1 : 1;
	/* Tie: the one picked longest ago. */
	return a->lb_current < b->lb_current ? -1 : a->lb_current > b->lb_current;
}

static struct server *lc_next(struct list *servers, const struct server *exclude,
			      bool (*usable)(const struct server *), const struct lb_key *key)
{
	struct server *best = NULL;
	uint64_t best_load = 0;
	int64_t stamp = 0;
	struct list *pos;

	(void)key;
	list_for_each (pos, servers) {
		struct server *s = list_entry(pos, struct server, link);
		uint64_t load;

		if (s->lb_current > stamp)
			stamp = s->lb_current;
		if (s == exclude || !usable(s))
			continue;
		load = load_of(s);
		if (!best || compare(s, load, best, best_load) < 0) {
			best = s;
			best_load = load;
		}
	}
	if (best)
		best->lb_current = stamp + 1;
	return best;
}

/* A server that comes back, or whose weight changed, is the least
 * recently picked: it wins the next tie. */
static void lc_reset_one(struct list *servers, struct server *srv)
{
	(void)servers;
	srv->lb_current = 0;
}

const struct lb_ops lb_leastconn_ops = {
	.name = "leastconn",
	.next_server = lc_next,
	.server_up = lc_reset_one,
	.server_down = lc_reset_one,
	.weight_changed = lc_reset_one,
};
