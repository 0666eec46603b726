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
 * (server_put), so requests in flight to it can finish.
 *
 * Threads ([frontend] threads, docs/architecture.md "Threads"): the pool is
 * changed only on the main thread (health checks, registry, sync, control,
 * reload), which is also the only thread that may iterate it without the
 * lock.  Proxy threads pick servers through pool_next_server() (under the
 * pool's mutex), take references, and keep their own per-thread part of
 * each server (queue, idle connections, counters: struct server_thread).
 * refs, inflight, maxconn and the health/drain/removed flags are accessed
 * atomically. */
#ifndef ANDROMEDA_POOL_H
#define ANDROMEDA_POOL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "list.h"
#include "outlier.h"

struct pool;
struct lb_ops;
struct lb_key;

enum server_source {
	SRV_STATIC,
	SRV_REGISTERED
};
enum server_health {
	SRV_UP,
	SRV_DOWN
};

/* Why a server failed; counted per server, one log line per transition. */
enum server_fail {
	FAIL_CONNECT,      /* connect refused/unreachable */
	FAIL_CONNECT_TMO,  /* connect_timeout */
	FAIL_RESPONSE_TMO, /* server_timeout waiting for the response */
	FAIL_PROTOCOL,     /* malformed response, reset mid-response */
	FAIL_CHECK,        /* active health check failed */
	FAIL_TLS, /* tls = yes: handshake or certificate check failed (a connect failure) */
	FAIL__COUNT
};

/* Response-time buckets, in ms (the "le" bounds of the metrics'
 * histogram, docs/observability.md). */
#define SERVER_RT_BUCKETS 11
#define SERVER_RT_BOUNDS_MS                                           \
	{                                                             \
		5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000 \
	}

/* Responses by status class: [1] 1xx .. [5] 5xx, [0] anything else. */
#define SERVER_NCLASSES 6

/* The part of a server that belongs to one proxy thread.  queued and
 * head_ms are also read by other threads (slot hand-off, txn.c). */
struct server_thread {
	struct list queue;      /* waiting requests of this thread */
	unsigned queued;        /* atomic: length of queue */
	uint64_t head_ms;       /* atomic: when queue's head was queued, 0 = empty */
	struct list idle_conns; /* idle keep-alive backend connections */
	unsigned nidle;
	uint64_t requests; /* single writer (the thread), read by others */
	uint64_t answered; /* responses completed (txn_report_ok), likewise */
	uint64_t bytes_in, bytes_out;
	bool req_failed; /* the thread's own: a failure was reported
			  * since its last success (workers.c) */
	/* For the metrics (single writer: the thread, through server_count). */
	uint64_t retries;      /* attempts on it that failed and went elsewhere */
	uint64_t redispatched; /* requests moved off it (retries, evacuation) */
	uint64_t responses[SERVER_NCLASSES];
	uint64_t rt_bucket[SERVER_RT_BUCKETS]; /* responses by time, not cumulative */
	uint64_t rt_count, rt_sum_ms;          /* all responses timed, and their sum */
};

struct server {
	uint32_t id; /* unique in this process, never reused */
	char name[CFG_NAME_MAX];
	struct cfg_endpoint addr;
	unsigned weight;
	enum server_source source;
	enum server_health health;      /* atomic; written under the pool lock */
	bool drain;                     /* atomic: no new requests; in-flight finish */
	bool removed;                   /* atomic: out of the pool, awaiting last put */
	bool leaving;                   /* withdrawn or expired: removed once idle */
	uint64_t expires_ms;            /* registered: monotonic expiry, 0 = never */
	char health_host[CFG_HOST_MAX]; /* Host of its health checks, "" = the backend's
					 * (main thread: config, agent, replication) */

	/* Rise/fall: consecutive check results, and consecutive failed
	 * requests (a passing check does not excuse failing requests). */
	unsigned consecutive_ok, consecutive_fail, consecutive_req_fail;
	bool checked; /* at least one health check done */
	/* Passive health (outlier.h), main thread: which timeouts counted,
	 * whether failed requests (not checks) took it out, and whether it
	 * was ever in rotation (eligible for panic mode; under the lock). */
	struct outlier_state outlier;
	bool ejected;
	bool ever_up;
	bool refuses;            /* atomic: its last counted failure was hard evidence
				  * (refused, unreachable, reset, bad answer), not a
				  * timeout: a DOWN server known dead, left out of panic */
	uint64_t check_answered; /* server_answered() at the last check verdict */

	/* Proxy state. */
	unsigned inflight; /* atomic: slots in use, all threads */
	unsigned maxconn;  /* atomic (reload changes it) */

	/* Counters (main thread; per-thread ones are in th[]). */
	uint64_t requests_base; /* replicated from the MASTER */
	uint64_t failures;      /* all causes */
	uint64_t fail_by[FAIL__COUNT];

	/* Balancer private state (smooth WRR score; leastconn's last-pick
	 * stamp), under the pool lock. */
	int64_t lb_current;

	unsigned refs; /* atomic */
	struct pool *pool;
	void *health_priv; /* owned by the health module */
	struct list link;  /* in pool->servers */
	unsigned nthreads;
	struct server_thread th[]; /* one per proxy thread */
};

static inline unsigned server_inflight(const struct server *s)
{
	return __atomic_load_n(&s->inflight, __ATOMIC_SEQ_CST);
}
static inline bool server_is_down(const struct server *s)
{
	return __atomic_load_n(&s->health, __ATOMIC_RELAXED) == SRV_DOWN ||
	       __atomic_load_n(&s->removed, __ATOMIC_RELAXED);
}
/* Sums over the threads (relaxed reads: a snapshot for status and sync). */
unsigned server_queued(const struct server *s);
unsigned server_idle(const struct server *s);
uint64_t server_requests(const struct server *s);
uint64_t server_answered(const struct server *s);
/* A server's per-thread counters summed over its threads (relaxed reads,
 * like the above): what /metrics exports. */
struct server_counters {
	uint64_t requests, bytes_in, bytes_out, retries, redispatched;
	uint64_t responses[SERVER_NCLASSES];
	uint64_t rt_bucket[SERVER_RT_BUCKETS]; /* cumulative: rt_bucket[i] = <= bound i */
	uint64_t rt_count, rt_sum_ms;
	unsigned queued, idle;
};
void server_get_counters(const struct server *s, struct server_counters *out);
/* Count one response (status: its code) that took ms, on thread tid. */
void server_count_response(struct server *s, unsigned tid, unsigned status, uint64_t ms);
/* Replicated counters (a BACKUP follows its MASTER's numbers). */
void server_set_requests(struct server *s, uint64_t total);
void server_set_maxconn(struct server *s, unsigned maxconn);
/* Add to a per-thread counter: one writer per slot, readers on other
 * threads see whole values. */
static inline void server_count(uint64_t *slot, uint64_t n)
{
	__atomic_store_n(slot, __atomic_load_n(slot, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

enum pool_event {
	POOL_SERVER_ADDED,
	POOL_SERVER_REMOVED, /* left the pool (struct still valid during the call) */
	POOL_SERVER_UP,
	POOL_SERVER_DOWN,
	POOL_SERVER_DRAIN, /* drain flag changed (see srv->drain) */
	POOL_SERVER_WEIGHT,
	POOL_SERVER_HOST, /* health_host changed */
};

typedef void (*pool_observer_fn)(struct pool *pool, struct server *srv, enum pool_event ev,
				 void *arg);

/* Returns NULL on allocation failure.  Servers get one struct
 * server_thread per proxy thread: cfg->frontend.threads (1 without cfg). */
struct pool *pool_create(const struct config *cfg);
unsigned pool_threads(const struct pool *pool);
/* The balancer's shared state, for the main thread's rare readers and
 * writers of lb_current (sync); never held across a callback. */
void pool_lock(struct pool *pool);
void pool_unlock(struct pool *pool);
void pool_destroy(struct pool *pool);

/* At most 8 observers; returns 0 or -ENOSPC. */
int pool_add_observer(struct pool *pool, pool_observer_fn fn, void *arg);
/* Remove every observer added with arg (its owner closes while the pool
 * lives on: a hitless upgrade's draining process).  Main thread. */
void pool_remove_observer(struct pool *pool, void *arg);

/* Add a server.  Static servers start UP (in rotation at once, leaving it
 * after `fall` failures, as HAProxy does); registered servers start DOWN and
 * enter rotation once a health check passes (SPEC "Backend registration").
 * Returns the server or NULL with *err = -EEXIST (name taken) / -ENOMEM. */
struct server *pool_server_add(struct pool *pool, const char *name,
			       const struct cfg_endpoint *addr, unsigned weight,
			       enum server_source source, int *err);
void pool_server_remove(struct pool *pool, struct server *srv);
struct server *pool_server_find(struct pool *pool, const char *name);

void server_get(struct server *srv);
void server_put(struct server *srv);

/* The balancing decision: next server in rotation that is UP, not draining,
 * not removed, and not `exclude` (may be NULL).  NULL when none is left.
 * Any thread; takes the pool lock. */
struct server *pool_next_server(struct pool *pool, const struct server *exclude);
/* The same, with a reference taken under the lock (server_put when done):
 * what a proxy thread needs, as the main thread may remove the server and
 * drop the pool's reference as soon as the lock is released.  key: the
 * request's client (lb.h; NULL = none), for balance = source. */
struct server *pool_next_server_get(struct pool *pool, const struct server *exclude,
				    const struct lb_key *key);
/* Switch the algorithm ([backend] balance; reload).  Takes effect with
 * the next pick; requests in flight stay where they are. */
void pool_set_balance(struct pool *pool, enum cfg_balance balance);
const char *pool_balance_name(const struct pool *pool); /* "roundrobin" ... */
/* Number of servers eligible for new requests (main thread). */
unsigned pool_count_usable(const struct pool *pool);

/* Panic mode (docs/health-checks.md): fewer than [backend] panic_threshold
 * percent of the eligible servers (not drained, in rotation at least once
 * since added, and not DOWN with a refusal as the last word) are in
 * rotation, so pool_next_server() balances across all eligible servers,
 * DOWN ones included.  Any thread. */
bool pool_in_panic(const struct pool *pool);
/* The pool at a glance, for status (main thread). */
struct pool_summary {
	unsigned servers;     /* in the pool */
	unsigned eligible;    /* not drained, ever in rotation */
	unsigned in_rotation; /* UP and not drained */
	unsigned ejected;     /* out of rotation by failed requests */
	unsigned max_ejected; /* how many failed requests may take out at once */
	bool panic;
	uint64_t panic_since_ms; /* monotonic, 0 when not in panic */
	uint64_t panics;         /* episodes since start */
};
void pool_get_summary(const struct pool *pool, struct pool_summary *out);
/* "yes" (in rotation), "panic" (DOWN, but used: the pool is in panic) or
 * "no" (main thread). */
const char *server_rotation_name(const struct pool *pool, const struct server *srv);

/* Report the outcome of a request or check.  Counts toward rise/fall and
 * changes health (notifying observers) when a threshold is crossed.
 * Passive failures (FAIL_CONNECT.. FAIL_PROTOCOL) and check failures count
 * toward `fall` apart; a timeout of a request counts only when it is not
 * one of a burst (outlier.h), and failed requests take out at most
 * max_ejection_percent of the pool (at least one server).  Only health
 * checks count toward `rise`, except that with no health check configured
 * a successful request also counts. */
void pool_server_failed(struct pool *pool, struct server *srv, enum server_fail why);
/* A failed active check (health.c).  timeout: it got no connection or no
 * answer in time; such a check does not count toward `fall` when the
 * server completed requests since the previous check (it is answering
 * real traffic: congested, not dead).  Others count as FAIL_CHECK. */
void pool_server_check_failed(struct pool *pool, struct server *srv, bool timeout);
/* The same at a given monotonic time (ms, > 0): for tests. */
void pool_server_failed_at(struct pool *pool, struct server *srv, enum server_fail why,
			   uint64_t now_ms);
void pool_server_ok(struct pool *pool, struct server *srv, bool from_check);
/* Force health (e.g. replicated state); notifies on change. */
void pool_server_set_health(struct pool *pool, struct server *srv, enum server_health h,
			    const char *why);
void pool_server_set_drain(struct pool *pool, struct server *srv, bool drain);
void pool_server_set_weight(struct pool *pool, struct server *srv, unsigned weight);
/* The Host of srv's health checks ("" or NULL: backend.health_host, or its
 * address); the next check uses it.  Notifies POOL_SERVER_HOST on change. */
void pool_server_set_health_host(struct pool *pool, struct server *srv, const char *host);

/* Iterate: for (s = pool_first(p); s; s = pool_next(p, s)) - removed
 * servers are skipped. */
struct server *pool_first(struct pool *pool);
struct server *pool_next(struct pool *pool, struct server *srv);

const char *server_fail_name(enum server_fail why);
const char *server_state_name(const struct server *srv); /* "up" | "down" | "drain" */

#endif
