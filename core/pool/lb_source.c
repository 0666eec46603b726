/* lb_source.c - source: a client keeps its server (weighted rendezvous
 * hashing of the client address).
 *
 * Rendezvous ("highest random weight", Thaler & Ravishankar 1998; GitHub's
 * GLB builds its tables with it): every server gets a score from
 * hash(client, server name), and the client goes to the highest score.
 * When a server leaves, only its own clients move, each to its second
 * choice, spread over the others; when it comes back, exactly those come
 * back.  Weights use the logarithmic method (Schindelhauer & Schomaker,
 * "Weighted distributed hash tables", 2005): score = -weight / ln(u) with
 * u the hash mapped to (0,1), so a server of weight 2 wins twice as often
 * as one of weight 1, and a weight change moves clients only to or from
 * that server.
 *
 * The score hashes the server's name, not its place in the list or its
 * id: two balancers with the same servers send a client to the same one
 * (a failover keeps affinity), and so does a restart.
 *
 * A server that is not usable (down, draining, removed) is skipped, so
 * its clients get their next choice, deterministically.  A full server
 * (maxconn in flight) is passed over too, for the best one with a free
 * slot, so that one busy server does not queue its clients while others
 * idle; when all are full the client queues on its first choice.
 *
 * No state: O(servers) per pick, like roundrobin, a few ns per server. */
#include <math.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "lb.h"
#include "pool.h"

/* splitmix64's finalizer: every input bit flips each output bit with
 * probability ~1/2. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* FNV-1a: the bytes to 64 bits, then mixed. */
static uint64_t hash_bytes(const void *p, size_t n, uint64_t h)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return mix64(h);
}

#define FNV_OFFSET 0xcbf29ce484222325ULL

uint64_t lb_client_hash(const struct sockaddr *client)
{
	if (client && client->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)client;

		return hash_bytes(&in->sin_addr, 4, FNV_OFFSET);
	}
	if (client && client->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)client;

		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			return hash_bytes(&in6->sin6_addr.s6_addr[12], 4, FNV_OFFSET);
		return hash_bytes(&in6->sin6_addr, 16, FNV_OFFSET);
	}
	return mix64(FNV_OFFSET);
}

/* The score of server s for the client: larger wins. */
static double score(uint64_t client, const struct server *s)
{
	uint64_t h = mix64(client ^ hash_bytes(s->name, strlen(s->name), FNV_OFFSET));
	/* 53 bits to (0,1): never 0 (ln) nor 1 (division by zero). */
	double u = ((double)(h >> 11) + 0.5) * 0x1.0p-53;

	return -(double)s->weight / log(u);
}

static bool full(const struct server *s)
{
	return server_inflight(s) >= __atomic_load_n(&s->maxconn, __ATOMIC_RELAXED);
}

static struct server *src_next(struct list *servers, const struct server *exclude,
			       bool (*usable)(const struct server *), const struct lb_key *key)
{
	uint64_t client = lb_client_hash(key ? key->client : NULL);
	struct server *best = NULL, *best_free = NULL;
	double best_sc = 0, best_free_sc = 0;
	struct list *pos;

	list_for_each (pos, servers) {
		struct server *s = list_entry(pos, struct server, link);
		double sc;

		if (s == exclude || !usable(s))
			continue;
		sc = score(client, s);
		if (!best || sc > best_sc) {
			best = s;
			best_sc = sc;
		}
		if (!full(s) && (!best_free || sc > best_free_sc)) {
			best_free = s;
			best_free_sc = sc;
		}
	}
	return best_free ? best_free : best;
}

static void src_nothing(struct list *servers, struct server *srv)
{
	(void)servers;
	(void)srv;
}

const struct lb_ops lb_source_ops = {
	.name = "source",
	.next_server = src_next,
	.server_up = src_nothing,
	.server_down = src_nothing,
	.weight_changed = src_nothing,
};

const struct lb_ops *lb_ops_for(enum cfg_balance balance)
{
	switch (balance) {
	case BALANCE_LEASTCONN:
		return &lb_leastconn_ops;
	case BALANCE_SOURCE:
		return &lb_source_ops;
	case BALANCE_ROUNDROBIN:
	default:
		return &lb_wrr_ops;
	}
}
