/* lb.h - the balancing algorithm behind a small interface, so that the
 * pool does not know how servers are chosen (HAProxy's lb_* pattern).
 * [backend] balance picks one (docs/configuration.md): roundrobin
 * (lb_wrr.c), leastconn (lb_leastconn.c), source (lb_source.c). */
#ifndef ANDROMEDA_LB_H
#define ANDROMEDA_LB_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct server;
struct list;
struct sockaddr;

/* What a request brings to the choice besides the pool: the client's
 * address (source).  A pointer, hashed only by the algorithm that uses
 * it, so roundrobin and leastconn pay nothing for it.  key or key->client
 * NULL: no client known (source then picks as if from a fixed address). */
struct lb_key {
	const struct sockaddr *client;
};

struct lb_ops {
	const char *name;
	/* Pick among `servers` (a list of struct server via ->link) the next
	 * one for which usable() is true, skipping `exclude`.  NULL if none.
	 * Called under the pool lock; may change the servers' lb_current. */
	struct server *(*next_server)(struct list *servers, const struct server *exclude,
				      bool (*usable)(const struct server *),
				      const struct lb_key *key);
	void (*server_up)(struct list *servers, struct server *srv);
	void (*server_down)(struct list *servers, struct server *srv);
	void (*weight_changed)(struct list *servers, struct server *srv);
};

/* Smooth weighted round-robin (interleaves: weights 5,1,1 give a a b a c a a). */
extern const struct lb_ops lb_wrr_ops;
/* Fewest requests (in flight + queued) per unit of weight; ties round-robin. */
extern const struct lb_ops lb_leastconn_ops;
/* Weighted rendezvous hashing of the client address. */
extern const struct lb_ops lb_source_ops;

/* The algorithm of a [backend] balance value. */
const struct lb_ops *lb_ops_for(enum cfg_balance balance);
/* The hash of a client address that source balances on: IPv4 and
 * IPv4-mapped IPv6 addresses hash alike, the port is left out. */
uint64_t lb_client_hash(const struct sockaddr *client);

#endif
