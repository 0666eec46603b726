/* pool.c - server pool, health thresholds and observers. */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb.h"
#include "log.h"
#include "loop.h"

#define POOL_MAX_OBSERVERS 8

struct pool_observer {
	pool_observer_fn fn;
	void *arg;
};

struct pool {
	const struct config *cfg;
	const struct lb_ops *lb;
	struct list servers;
	unsigned nservers;
	uint32_t next_id;
	struct pool_observer obs[POOL_MAX_OBSERVERS];
	unsigned nobs;
	unsigned nthreads;
	/* Panic mode (pool_update_panic): written by the main thread,
	 * read by any thread. */
	bool panic;
	uint64_t panic_since_ms, panics;
	/* Guards the list and the balancer state against the proxy threads'
	 * pool_next_server(); the main thread is the only writer. */
	pthread_mutex_t lock;
};

#define STORE(p, v)       __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
/* Rise/fall counters: the main thread is their only writer, but proxy
 * threads read consecutive_req_fail (txn_report_ok, a relaxed load), so
 * its stores must be whole. */
#define STORE_COUNT(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

static void pool_update_panic(struct pool *pool);

static void notify(struct pool *pool, struct server *srv, enum pool_event ev)
{
	for (unsigned i = 0; i < pool->nobs; i++)
		pool->obs[i].fn(pool, srv, ev, pool->obs[i].arg);
}

struct pool *pool_create(const struct config *cfg)
{
	struct pool *pool = calloc(1, sizeof(*pool));

	if (!pool)
		return NULL;
	pool->cfg = cfg;
	pool->lb = lb_ops_for(cfg ? cfg->backend.balance : BALANCE_ROUNDROBIN);
	pool->next_id = 1;
	pool->nthreads = cfg && cfg->frontend.threads ? cfg->frontend.threads : 1;
	list_init(&pool->servers);
	pthread_mutex_init(&pool->lock, NULL);
	return pool;
}

unsigned pool_threads(const struct pool *pool) { return pool->nthreads; }
void pool_lock(struct pool *pool) { pthread_mutex_lock(&pool->lock); }
void pool_unlock(struct pool *pool) { pthread_mutex_unlock(&pool->lock); }

void pool_destroy(struct pool *pool)
{
	struct list *pos, *tmp;

	if (!pool)
		return;
	list_for_each_safe (pos, tmp, &pool->servers) {
		struct server *s = list_entry(pos, struct server, link);

		list_del(&s->link);
		free(s);
	}
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}

int pool_add_observer(struct pool *pool, pool_observer_fn fn, void *arg)
{
	if (pool->nobs == POOL_MAX_OBSERVERS)
		return -ENOSPC;
	pool->obs[pool->nobs++] = (struct pool_observer){ fn, arg };
	return 0;
}

void pool_remove_observer(struct pool *pool, void *arg)
{
	unsigned n = 0;

	for (unsigned i = 0; i < pool->nobs; i++)
		if (pool->obs[i].arg != arg)
			pool->obs[n++] = pool->obs[i];
	pool->nobs = n;
}

struct server *pool_server_find(struct pool *pool, const char *name)
{
	struct server *s;

	for (s = pool_first(pool); s; s = pool_next(pool, s))
		if (!strcmp(s->name, name))
			return s;
	return NULL;
}

struct server *pool_server_add(struct pool *pool, const char *name,
			       const struct cfg_endpoint *addr, unsigned weight,
			       enum server_source source, int *err)
{
	struct server *s;

	if (pool_server_find(pool, name)) {
		*err = -EEXIST;
		return NULL;
	}
	s = calloc(1, sizeof(*s) + pool->nthreads * sizeof(s->th[0]));
	if (!s) {
		*err = -ENOMEM;
		return NULL;
	}
	s->id = pool->next_id++;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->addr = *addr;
	s->weight = weight ? weight : 1;
	s->source = source;
	s->health = source == SRV_STATIC ? SRV_UP : SRV_DOWN;
	s->ever_up = s->health == SRV_UP;
	s->maxconn = pool->cfg ? pool->cfg->backend.maxconn : 32;
	s->nthreads = pool->nthreads;
	for (unsigned i = 0; i < s->nthreads; i++) {
		list_init(&s->th[i].queue);
		list_init(&s->th[i].idle_conns);
	}
	s->refs = 1; /* the pool's own reference */
	s->pool = pool;
	pool_lock(pool);
	list_add_tail(&pool->servers, &s->link);
	pool_unlock(pool);
	pool->nservers++;
	log_info("server %s (%s) added, %s, %s", s->name, s->addr.text,
		 source == SRV_STATIC ? "static" : "registered",
		 s->health == SRV_UP ? "up" : "down until checked");
	pool_update_panic(pool);
	notify(pool, s, POOL_SERVER_ADDED);
	return s;
}

void server_get(struct server *srv) { __atomic_add_fetch(&srv->refs, 1, __ATOMIC_RELAXED); }

void server_put(struct server *srv)
{
	if (__atomic_sub_fetch(&srv->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(srv);
}

#define SUM_THREADS(s, field)                                                        \
	do {                                                                         \
		sum = 0;                                                             \
		for (unsigned i = 0; i < (s)->nthreads; i++)                         \
			sum += __atomic_load_n(&(s)->th[i].field, __ATOMIC_RELAXED); \
	} while (0)

unsigned server_queued(const struct server *s)
{
	unsigned sum;
	SUM_THREADS(s, queued);
	return sum;
}
unsigned server_idle(const struct server *s)
{
	unsigned sum;
	SUM_THREADS(s, nidle);
	return sum;
}

uint64_t server_requests(const struct server *s)
{
	uint64_t sum;

	SUM_THREADS(s, requests);
	return s->requests_base + sum;
}

uint64_t server_answered(const struct server *s)
{
	uint64_t sum;

	SUM_THREADS(s, answered);
	return sum;
}

void server_set_requests(struct server *s, uint64_t total)
{
	uint64_t sum;

	SUM_THREADS(s, requests);
	s->requests_base = total - sum; /* wraps back in server_requests() */
}

void server_set_maxconn(struct server *s, unsigned maxconn) { STORE(&s->maxconn, maxconn); }

void pool_server_remove(struct pool *pool, struct server *srv)
{
	if (srv->removed)
		return;
	pool_lock(pool);
	STORE(&srv->removed, true);
	list_del(&srv->link);
	pool_unlock(pool);
	pool->nservers--;
	log_info("server %s (%s) removed from the pool", srv->name, srv->addr.text);
	pool_update_panic(pool);
	notify(pool, srv, POOL_SERVER_REMOVED);
	server_put(srv);
}

struct server *pool_first(struct pool *pool)
{
	return list_empty(&pool->servers) ? NULL
					  : list_entry(pool->servers.next, struct server, link);
}

struct server *pool_next(struct pool *pool, struct server *srv)
{
	if (srv->link.next == &pool->servers)
		return NULL;
	return list_entry(srv->link.next, struct server, link);
}

/* health and removed are written under the pool lock, drain is not
 * (pool_server_set_drain): read them all atomically. */
static bool server_usable(const struct server *s)
{
	return !server_is_down(s) && !__atomic_load_n(&s->drain, __ATOMIC_RELAXED);
}

/* What panic mode balances across: every server an operator has not
 * drained that has been in rotation since it was added (a registered
 * server still waiting for its first passed check is not one), unless it
 * is DOWN and its last failure said it is dead (refused, unreachable,
 * reset, a bad answer).  Panic is for servers that may only be stalled:
 * sending requests to a known-dead one would only spend their retries. */
static bool server_eligible(const struct server *s)
{
	if (__atomic_load_n(&s->removed, __ATOMIC_RELAXED) ||
	    __atomic_load_n(&s->drain, __ATOMIC_RELAXED) || !s->ever_up)
		return false;
	return !(__atomic_load_n(&s->health, __ATOMIC_RELAXED) == SRV_DOWN &&
		 __atomic_load_n(&s->refuses, __ATOMIC_RELAXED));
}

/* Record what the last counted failure was; a DOWN server's eligibility
 * for panic mode may change with it. */
static void note_failure_kind(struct pool *pool, struct server *srv, bool hard)
{
	if (srv->refuses == hard)
		return;
	__atomic_store_n(&srv->refuses, hard, __ATOMIC_RELAXED);
	if (srv->health == SRV_DOWN)
		pool_update_panic(pool);
}

bool pool_in_panic(const struct pool *pool)
{
	return __atomic_load_n(&pool->panic, __ATOMIC_RELAXED);
}

static struct server *pick_locked(struct pool *pool, const struct server *exclude,
				  const struct lb_key *key)
{
	return pool->lb->next_server(&pool->servers, exclude,
				     pool_in_panic(pool) ? server_eligible : server_usable, key);
}

struct server *pool_next_server(struct pool *pool, const struct server *exclude)
{
	struct server *s;

	pool_lock(pool);
	s = pick_locked(pool, exclude, NULL);
	pool_unlock(pool);
	return s;
}

struct server *pool_next_server_get(struct pool *pool, const struct server *exclude,
				    const struct lb_key *key)
{
	struct server *s;

	pool_lock(pool);
	s = pick_locked(pool, exclude, key);
	if (s)
		server_get(s);
	pool_unlock(pool);
	return s;
}

void pool_set_balance(struct pool *pool, enum cfg_balance balance)
{
	const struct lb_ops *ops = lb_ops_for(balance);
	struct list *pos;

	if (ops == pool->lb)
		return;
	pool_lock(pool);
	/* lb_current means something else to each algorithm. */
	list_for_each (pos, &pool->servers)
		list_entry(pos, struct server, link)->lb_current = 0;
	log_info("balance: %s (was %s)", ops->name, pool->lb->name);
	pool->lb = ops;
	pool_unlock(pool);
}

const char *pool_balance_name(const struct pool *pool) { return pool->lb->name; }

unsigned pool_count_usable(const struct pool *pool)
{
	unsigned n = 0;
	struct list *pos;

	list_for_each (pos, &pool->servers)
		n += server_usable(list_entry(pos, struct server, link));
	return n;
}

static unsigned cfg_rise(const struct pool *p) { return p->cfg ? p->cfg->backend.rise : 2; }
static unsigned cfg_fall(const struct pool *p) { return p->cfg ? p->cfg->backend.fall : 3; }
static bool cfg_has_check(const struct pool *p)
{
	return p->cfg && p->cfg->backend.health_interval_ms;
}
static unsigned cfg_panic_pct(const struct pool *p)
{
	return p->cfg ? p->cfg->backend.panic_threshold : 50;
}
static unsigned cfg_eject_pct(const struct pool *p)
{
	return p->cfg ? p->cfg->backend.max_ejection_percent : 10;
}

void pool_get_summary(const struct pool *pool, struct pool_summary *out)
{
	struct list *pos;

	memset(out, 0, sizeof(*out));
	list_for_each (pos, &pool->servers) {
		const struct server *s = list_entry(pos, struct server, link);

		out->servers++;
		out->eligible += server_eligible(s);
		out->in_rotation += server_usable(s);
		out->ejected += s->ejected && s->health == SRV_DOWN;
	}
	out->max_ejected = outlier_max_ejected(out->servers, cfg_eject_pct(pool));
	out->panic = pool->panic;
	out->panic_since_ms = pool->panic_since_ms;
	out->panics = pool->panics;
}

const char *server_rotation_name(const struct pool *pool, const struct server *srv)
{
	if (server_usable(srv))
		return "yes";
	return pool->panic && server_eligible(srv) ? "panic" : "no";
}

/* Enter or leave panic after any change of health, drain or membership,
 * before observers hear of it (they may dispatch at once).  One line per
 * episode each way. */
static void pool_update_panic(struct pool *pool)
{
	struct pool_summary sum;
	bool panic;
	uint64_t now = loop_clock_ms();

	pool_get_summary(pool, &sum);
	panic = outlier_panic(sum.in_rotation, sum.eligible, cfg_panic_pct(pool));
	if (panic == pool->panic)
		return;
	pool_lock(pool);
	__atomic_store_n(&pool->panic, panic, __ATOMIC_RELAXED);
	pool_unlock(pool);
	if (panic) {
		pool->panic_since_ms = now;
		pool->panics++;
		log_warnx(
			"pool: panic: %u of %u servers in rotation (below panic_threshold %u%%): "
			"balancing across all %u",
			sum.in_rotation, sum.eligible, cfg_panic_pct(pool), sum.eligible);
	} else {
		log_info("pool: panic over after %llu ms: %u of %u servers in rotation",
			 (unsigned long long)(now - pool->panic_since_ms), sum.in_rotation,
			 sum.eligible);
		pool->panic_since_ms = 0;
	}
}

void pool_server_set_health(struct pool *pool, struct server *srv, enum server_health h,
			    const char *why)
{
	if (srv->health == h)
		return;
	pool_lock(pool);
	STORE(&srv->health, h);
	if (h == SRV_UP) {
		srv->ever_up = true;
		pool->lb->server_up(&pool->servers, srv);
	} else {
		pool->lb->server_down(&pool->servers, srv);
	}
	pool_unlock(pool);
	srv->consecutive_ok = srv->consecutive_fail = 0;
	STORE_COUNT(&srv->consecutive_req_fail, 0);
	if (h == SRV_UP)
		srv->ejected = false;
	srv->outlier.cap_logged = false;
	if (h == SRV_UP)
		log_info("server %s (%s) is UP (%s)", srv->name, srv->addr.text, why);
	else
		log_warnx("server %s (%s) is DOWN (%s)", srv->name, srv->addr.text, why);
	pool_update_panic(pool);
	notify(pool, srv, h == SRV_UP ? POOL_SERVER_UP : POOL_SERVER_DOWN);
}

/* Failed requests may keep only max_ejection_percent of the pool out (at
 * least one server): beyond that they are more likely the balancer's own
 * trouble, or the network's, than every server dying at once. */
static bool pool_may_eject(struct pool *pool)
{
	struct pool_summary sum;

	pool_get_summary(pool, &sum);
	return sum.ejected < sum.max_ejected;
}

static void pool_eject(struct pool *pool, struct server *srv, enum server_fail why)
{
	char reason[96];
	struct pool_summary sum;

	if (!pool_may_eject(pool)) {
		if (!srv->outlier.cap_logged) {
			pool_get_summary(pool, &sum);
			log_warnx("server %s (%s) stays in rotation despite %u consecutive failed "
				  "requests (last: %s): %u of %u servers already out for failed "
				  "requests (max_ejection_percent %u)",
				  srv->name, srv->addr.text, srv->consecutive_req_fail,
				  server_fail_name(why), sum.ejected, sum.servers,
				  cfg_eject_pct(pool));
			srv->outlier.cap_logged = true;
		}
		return;
	}
	snprintf(reason, sizeof(reason), "%u consecutive failed requests, last: %s",
		 srv->consecutive_req_fail, server_fail_name(why));
	srv->ejected = true;
	pool_server_set_health(pool, srv, SRV_DOWN, reason);
}

static enum outlier_evidence evidence_of(enum server_fail why)
{
	switch (why) {
	case FAIL_CONNECT_TMO:
		return OUTLIER_CONNECT_TO;
	case FAIL_RESPONSE_TMO:
		return OUTLIER_RESPONSE_TO;
	default:
		return OUTLIER_HARD;
	}
}

static void pool_check_failed(struct pool *pool, struct server *srv, bool timeout)
{
	char reason[64];

	note_failure_kind(pool, srv, !timeout);
	srv->consecutive_ok = 0;
	srv->consecutive_fail++;
	if (srv->health == SRV_UP && srv->consecutive_fail >= cfg_fall(pool)) {
		snprintf(reason, sizeof(reason), "%u consecutive failed checks, last: %s",
			 srv->consecutive_fail, server_fail_name(FAIL_CHECK));
		pool_server_set_health(pool, srv, SRV_DOWN, reason);
	}
}

void pool_server_failed_at(struct pool *pool, struct server *srv, enum server_fail why,
			   uint64_t now_ms)
{
	struct outlier_limits lim = { 1000, 10000 };

	srv->failures++;
	srv->fail_by[why]++;
	if (why == FAIL_CHECK) {
		pool_check_failed(pool, srv, false);
		return;
	}
	if (pool->cfg)
		lim = (struct outlier_limits){ pool->cfg->backend.connect_timeout_ms,
					       pool->cfg->backend.server_timeout_ms };
	if (!outlier_counts(&srv->outlier, evidence_of(why), now_ms, &lim))
		return; /* one of a burst of timeouts: already counted */
	note_failure_kind(pool, srv, evidence_of(why) == OUTLIER_HARD);
	STORE_COUNT(&srv->consecutive_req_fail, srv->consecutive_req_fail + 1);
	log_debug("server %s (%s): failed request counted (%s), %u in a row", srv->name,
		  srv->addr.text, server_fail_name(why), srv->consecutive_req_fail);
	if (srv->health == SRV_UP && srv->consecutive_req_fail >= cfg_fall(pool))
		pool_eject(pool, srv, why);
}

void pool_server_failed(struct pool *pool, struct server *srv, enum server_fail why)
{
	pool_server_failed_at(pool, srv, why, loop_clock_ms());
}

void pool_server_check_failed(struct pool *pool, struct server *srv, bool timeout)
{
	uint64_t answered = server_answered(srv), since = answered - srv->check_answered;
	bool busy = timeout && since;

	srv->check_answered = answered;
	if (!busy) {
		srv->failures++;
		srv->fail_by[FAIL_CHECK]++;
		pool_check_failed(pool, srv, timeout);
		return;
	}
	/* A stall of new connections (full accept queue, SYNs dropped) with
	 * the kept-alive ones still answering: counted, not held against it. */
	srv->failures++;
	srv->fail_by[FAIL_CHECK]++;
	log_debug("server %s (%s): check timed out, but %llu requests answered since the last "
		  "check: not counted toward fall",
		  srv->name, srv->addr.text, (unsigned long long)since);
}

/* `rise`, except for a server that failed requests took out on timeouts
 * alone: that was a suspicion of a stall, never confirmed by a refusal or
 * by `fall` failed checks, and one fresh connection answered shows the
 * stall is over (full service within one check interval, issue 19). */
static unsigned passes_needed(const struct pool *pool, const struct server *srv)
{
	return srv->ejected && !srv->refuses ? 1 : cfg_rise(pool);
}

void pool_server_ok(struct pool *pool, struct server *srv, bool from_check)
{
	if (!from_check) {
		STORE_COUNT(&srv->consecutive_req_fail, 0);
		srv->outlier.cap_logged = false;
		if (cfg_has_check(pool))
			return; /* with checks configured, only checks bring a server back */
	} else {
		srv->consecutive_fail = 0;
		srv->check_answered = server_answered(srv);
	}
	srv->consecutive_ok++;
	if (srv->health == SRV_DOWN && srv->consecutive_ok >= passes_needed(pool, srv))
		pool_server_set_health(pool, srv, SRV_UP,
				       from_check ? "health check passed" : "requests succeed");
}

void pool_server_set_drain(struct pool *pool, struct server *srv, bool drain)
{
	if (srv->drain == drain)
		return;
	STORE(&srv->drain, drain);
	log_info("server %s (%s) %s", srv->name, srv->addr.text, drain ? "draining" : "enabled");
	pool_update_panic(pool);
	notify(pool, srv, POOL_SERVER_DRAIN);
}

void pool_server_set_weight(struct pool *pool, struct server *srv, unsigned weight)
{
	if (!weight || srv->weight == weight)
		return;
	pool_lock(pool);
	srv->weight = weight;
	pool->lb->weight_changed(&pool->servers, srv);
	pool_unlock(pool);
	notify(pool, srv, POOL_SERVER_WEIGHT);
}

void pool_server_set_health_host(struct pool *pool, struct server *srv, const char *host)
{
	if (!host)
		host = "";
	if (!strcmp(srv->health_host, host))
		return;
	log_info("server %s (%s) health checks with Host: %s", srv->name, srv->addr.text,
		 host[0] ? host : "(the default)");
	snprintf(srv->health_host, sizeof(srv->health_host), "%s", host);
	notify(pool, srv, POOL_SERVER_HOST);
}

const char *server_fail_name(enum server_fail why)
{
	static const char *const names[FAIL__COUNT] = {
		[FAIL_CONNECT] = "connect error",         [FAIL_CONNECT_TMO] = "connect timeout",
		[FAIL_RESPONSE_TMO] = "response timeout", [FAIL_PROTOCOL] = "bad response",
		[FAIL_CHECK] = "health check failed",     [FAIL_TLS] = "tls error",
	};
	return why < FAIL__COUNT ? names[why] : "unknown";
}

const char *server_state_name(const struct server *srv)
{
	if (srv->health == SRV_DOWN)
		return "down";
	return srv->drain ? "drain" : "up";
}
