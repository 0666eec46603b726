/* resolve.h - servers by name: `[server] address = NAME:PORT`
 * (docs/configuration.md, "Servers by name").
 *
 * Each such server is resolved through the system's resolver
 * (getaddrinfo_a(3), so /etc/hosts, mDNS through nss-mdns for .local
 * names, and DNS all work as for every other program), in glibc's helper
 * threads: the loop never waits.  The loop polls the lookups in flight on
 * a short timer and applies the answers on the main thread:
 *
 *   - the first address getaddrinfo returns (RFC 6724 order) is the
 *     server's; until a name resolves, its server is not in the pool;
 *   - the names are resolved again every [backend] resolve_interval; a
 *     server whose name now gives another address is replaced by one at
 *     the new address (same name, weight and drain state): new requests
 *     go there, requests in flight finish on the old one, which leaves the
 *     pool once the last of them is done (pool.h, server lifetime);
 *   - a lookup that fails keeps the address the server has; a failure is
 *     logged once per change of cause, and its recovery once.
 *
 * Main thread only. */
#ifndef ANDROMEDA_RESOLVE_H
#define ANDROMEDA_RESOLVE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "loop.h"
#include "pool.h"

struct resolver;

struct resolver_hooks {
	/* A server entered the pool at a newly resolved address (the daemon
	 * checks it at once).  May be NULL. */
	void (*added)(void *arg, struct server *srv);
	void *arg;
};

struct resolver_stats {
	uint64_t lookups;  /* started */
	uint64_t failures; /* lookups that failed */
	uint64_t moves;    /* servers that followed a changed address */
};

/* Start resolving every server of cfg given by name (none: nothing runs).
 * cfg and pool must outlive the resolver.  0, or -ENOMEM. */
int resolver_open(struct resolver **out, struct loop *loop, const struct config *cfg,
		  struct pool *pool, const struct resolver_hooks *hooks);
/* cfg's servers changed (reload): resolve the names now listed at once. */
void resolver_reload(struct resolver *r);
/* Lookups in flight are cancelled (or waited for, bounded: glibc cannot
 * cancel one its thread has started). */
void resolver_close(struct resolver *r);
void resolver_get_stats(const struct resolver *r, struct resolver_stats *out);

/* One server by name, as `andromedactl status` shows it. */
struct resolver_name {
	const char *server; /* [server NAME] */
	const char *host;   /* the name to resolve */
	uint16_t port;
	bool resolved;     /* at least once: the server is in the pool */
	bool pending;      /* a lookup is in flight */
	const char *error; /* the last lookup's failure (gai_strerror), NULL if it worked */
};

/* fn(arg, name) for each server by name, in no particular order; the
 * strings live until the next reload. */
void resolver_foreach(const struct resolver *r,
		      void (*fn)(void *arg, const struct resolver_name *name), void *arg);

#endif
