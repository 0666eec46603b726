/* registry.h - the balancer side of backend registration (SPEC "Backend
 * registration"): a UDP listener for andromeda-agent announcements.
 *
 * The active balancer (MASTER, or a standalone one) adds an announced
 * server to the pool (in rotation once a health check passes), answers
 * with an authenticated acknowledgement, and keeps it while announcements
 * keep coming; a withdraw or 3 missed announcements drain the server (no
 * new requests, those in flight finish) and then remove it.  A BACKUP
 * ignores announcements: it learns registered servers from sync.
 * Forged, replayed and malformed messages are dropped and counted. */
#ifndef ANDROMEDA_REGISTRY_H
#define ANDROMEDA_REGISTRY_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "msg.h"

struct loop;
struct config;
struct pool;
struct server;
struct registry;

struct registry_hooks {
	bool (*is_active)(void *arg);                 /* NULL: always (standalone) */
	void (*added)(void *arg, struct server *srv); /* e.g. check it now */
	void *arg;
};

/* Listen on cfg->registration.port.  self: the ack's sender id.
 * Returns 0 or -errno (logged). */
int registry_open(struct registry **out, struct loop *loop, const struct config *cfg,
		  struct pool *pool, const struct msg_key *key, struct in_addr self,
		  const struct registry_hooks *hooks);
void registry_close(struct registry *r);
/* Our address changed (the HA interface got its address after start-up):
 * the acks' sender id from now on. */
void registry_set_self(struct registry *r, struct in_addr self);

/* The listener's counters, for `andromedactl status` ("registration",
 * rendered by core/daemon/ctl_registry.c). */
struct registry_stats {
	uint64_t announces, withdraws;    /* decoded announcements and withdraws */
	uint64_t added;                   /* servers put into the pool */
	uint64_t removed;                 /* servers taken out once drained */
	uint64_t expired;                 /* servers that missed their announcements */
	uint64_t refused;                 /* announcements answered with a refusal */
	uint64_t ignored_not_active;      /* received while not the active balancer */
	uint64_t bad_payload;             /* authenticated, but not a valid payload */
	uint64_t drops[MSG_DROP_NCAUSES]; /* dropped by the envelope, by cause ([0] unused) */
};
void registry_get_stats(const struct registry *r, struct registry_stats *out);

#endif
