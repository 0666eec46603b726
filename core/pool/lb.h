/* lb.h - the balancing algorithm behind a small interface, so that the
 * pool does not know how servers are chosen (HAProxy's lb_* pattern). */
#ifndef ANDROMEDA_LB_H
#define ANDROMEDA_LB_H

#include <stdbool.h>

struct server;
struct list;

struct lb_ops {
	const char *name;
	/* Pick among `servers` (a list of struct server via ->link) the next
	 * one for which usable() is true, skipping `exclude`.  NULL if none. */
	struct server *(*next_server)(struct list *servers, const struct server *exclude,
				      bool (*usable)(const struct server *));
	void (*server_up)(struct list *servers, struct server *srv);
	void (*server_down)(struct list *servers, struct server *srv);
	void (*weight_changed)(struct list *servers, struct server *srv);
};

/* Smooth weighted round-robin (interleaves: weights 5,1,1 give a a b a c a a). */
extern const struct lb_ops lb_wrr_ops;

#endif
