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

#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>

#include "msg.h"

struct loop;
struct config;
struct pool;
struct server;
struct registry;

struct registry_hooks {
	bool (*is_active)(void *arg);                   /* NULL: always (standalone) */
	void (*added)(void *arg, struct server *srv);   /* e.g. check it now */
	void *arg;
};

/* Listen on cfg->registration.port.  self: the ack's sender id.
 * Returns 0 or -errno (logged). */
int registry_open(struct registry **out, struct loop *loop, const struct config *cfg, struct pool *pool,
		  const struct msg_key *key, struct in_addr self, const struct registry_hooks *hooks);
void registry_close(struct registry *r);
/* Our address changed (the HA interface got its address after start-up):
 * the acks' sender id from now on. */
void registry_set_self(struct registry *r, struct in_addr self);
json_t *registry_status_json(struct registry *r);

#endif
