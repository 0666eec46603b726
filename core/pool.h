/* pool.h - the server pool: static and registered servers, their health,
 * drain state, counters, and the balancing algorithm behind lb.h.
 *
 * The pool decides *which* server; the proxy owns requests, connections and
 * the per-server queues it keeps in struct server.  Other modules (health
 * checks, control socket, later sync and journal) observe changes through
 * pool_add_observer().
 *
 * Server lifetime: pool_server_remove() takes a server out of rotation at
 * once; the struct stays valid until the last reference is dropped
 * (server_put), so requests in flight to it can finish. */
#ifndef ANDROMEDA_POOL_H
#define ANDROMEDA_POOL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "list.h"

struct pool;
struct lb_ops;

enum server_source { SRV_STATIC, SRV_REGISTERED };
enum server_health { SRV_UP, SRV_DOWN };

/* Why a server failed; counted per server, one log line per transition. */
enum server_fail {
	FAIL_CONNECT,      /* connect refused/unreachable */
	FAIL_CONNECT_TMO,  /* connect_timeout */
	FAIL_RESPONSE_TMO, /* server_timeout waiting for the response */
	FAIL_PROTOCOL,     /* malformed response, reset mid-response */
	FAIL_CHECK,        /* active health check failed */
	FAIL__COUNT
};

struct server {
	uint32_t id;                      /* unique in this process, never reused */
	char name[CFG_NAME_MAX];
	struct cfg_endpoint addr;
	unsigned weight;
	enum server_source source;
	enum server_health health;
	bool drain;                       /* no new requests; in-flight finish */
	bool removed;                     /* out of the pool, awaiting last put */
	bool leaving;                     /* withdrawn or expired: removed once idle */
	uint64_t expires_ms;              /* registered: monotonic expiry, 0 = never */

	/* Rise/fall: consecutive check results, and consecutive failed
	 * requests (a passing check does not excuse failing requests). */
	unsigned consecutive_ok, consecutive_fail, consecutive_req_fail;
	bool checked;                     /* at least one health check done */

	/* Proxy state. */
	unsigned inflight;                /* requests sent, response not finished */
	unsigned maxconn;
	struct list queue;                /* waiting requests (owned by the proxy) */
	unsigned queued;
	struct list idle_conns;           /* idle keep-alive backend connections */
	unsigned nidle;

	/* Counters. */
	uint64_t requests;                /* dispatched to this server */
	uint64_t failures;                /* all causes */
	uint64_t fail_by[FAIL__COUNT];
	uint64_t bytes_in, bytes_out;

	/* Balancer private state (smooth weighted round-robin). */
	int64_t lb_current;

	unsigned refs;
	struct pool *pool;
	void *health_priv;                /* owned by the health module */
	struct list link;                 /* in pool->servers */
};

enum pool_event {
	POOL_SERVER_ADDED,
	POOL_SERVER_REMOVED,  /* left the pool (struct still valid during the call) */
	POOL_SERVER_UP,
	POOL_SERVER_DOWN,
	POOL_SERVER_DRAIN,    /* drain flag changed (see srv->drain) */
	POOL_SERVER_WEIGHT,
};

typedef void (*pool_observer_fn)(struct pool *pool, struct server *srv, enum pool_event ev, void *arg);

/* Returns NULL on allocation failure. */
struct pool *pool_create(const struct config *cfg);
void pool_destroy(struct pool *pool);

/* At most 8 observers; returns 0 or -ENOSPC. */
int pool_add_observer(struct pool *pool, pool_observer_fn fn, void *arg);

/* Add a server.  Static servers start UP (in rotation at once, leaving it
 * after `fall` failures, as HAProxy does); registered servers start DOWN and
 * enter rotation once a health check passes (SPEC "Backend registration").
 * Returns the server or NULL with *err = -EEXIST (name taken) / -ENOMEM. */
struct server *pool_server_add(struct pool *pool, const char *name, const struct cfg_endpoint *addr,
			       unsigned weight, enum server_source source, int *err);
void pool_server_remove(struct pool *pool, struct server *srv);
struct server *pool_server_find(struct pool *pool, const char *name);

void server_get(struct server *srv);
void server_put(struct server *srv);

/* The balancing decision: next server in rotation that is UP, not draining,
 * not removed, and not `exclude` (may be NULL).  NULL when none is left. */
struct server *pool_next_server(struct pool *pool, const struct server *exclude);
/* Number of servers eligible for new requests. */
unsigned pool_count_usable(const struct pool *pool);

/* Report the outcome of a request or check.  Counts toward rise/fall and
 * changes health (notifying observers) when a threshold is crossed.
 * Passive failures (FAIL_CONNECT.. FAIL_PROTOCOL) and check failures both
 * count toward `fall`; only health checks count toward `rise`, except that
 * with no health check configured a successful request also counts. */
void pool_server_failed(struct pool *pool, struct server *srv, enum server_fail why);
void pool_server_ok(struct pool *pool, struct server *srv, bool from_check);
/* Force health (e.g. replicated state); notifies on change. */
void pool_server_set_health(struct pool *pool, struct server *srv, enum server_health h, const char *why);
void pool_server_set_drain(struct pool *pool, struct server *srv, bool drain);
void pool_server_set_weight(struct pool *pool, struct server *srv, unsigned weight);

/* Iterate: for (s = pool_first(p); s; s = pool_next(p, s)) - removed
 * servers are skipped. */
struct server *pool_first(struct pool *pool);
struct server *pool_next(struct pool *pool, struct server *srv);
unsigned pool_size(const struct pool *pool);
const struct config *pool_config(const struct pool *pool);

const char *server_fail_name(enum server_fail why);
const char *server_state_name(const struct server *srv); /* "up" | "down" | "drain" */

#endif
