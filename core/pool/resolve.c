/* resolve.c - servers by name (resolve.h).  The only getaddrinfo_a file.
 *
 * Why getaddrinfo_a and not c-ares: a small LAN names its Pis in
 * /etc/hosts or by mDNS ("pi-web1.local", answered by avahi through
 * nss-mdns).  Only the system resolver (NSS) sees both; c-ares reads
 * /etc/hosts and DNS only.  glibc runs each lookup in a helper thread;
 * we ask for no notification and poll gai_error() on the loop while
 * lookups are in flight (RESOLVE_POLL_MS), so no callback ever runs on
 * another thread and nothing is shared with glibc but the request. */
#include "resolve.h"

#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "list.h"
#include "log.h"
#include "netaddr.h"

#define RESOLVE_POLL_MS    20   /* while lookups are in flight */
#define RESOLVE_CLOSE_WAIT 2000 /* ms for a started lookup at close */

/* One lookup in flight.  glibc writes into req until it is done, so a
 * lookup is freed only once gai_error() says so (or leaked at close if
 * it never finishes). */
struct lookup {
	struct gaicb req;
	struct addrinfo hints;
	char server[CFG_NAME_MAX]; /* whose: matched again by name when done */
	char host[CFG_DNSNAME_MAX];
	char port[8];     /* ar_service */
	uint16_t portnum; /* the same, to match the [server] again */
	struct list link;
};

/* What we know of one server by name, across lookups. */
struct rname {
	char server[CFG_NAME_MAX];
	int last_err;  /* 0 = the last lookup succeeded; EAI_* otherwise */
	bool pending;  /* a lookup is in flight */
	bool resolved; /* resolved at least once */
	struct list link;
};

struct resolver {
	struct loop *loop;
	const struct config *cfg;
	struct pool *pool;
	struct resolver_hooks hooks;
	struct list names;   /* struct rname */
	struct list lookups; /* struct lookup in flight */
	struct loop_timer tick, poll;
	struct resolver_stats stats;
};

static const struct cfg_server *cfg_server_of(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nservers; i++)
		if (cfg->servers[i].host[0] && !strcmp(cfg->servers[i].name, name))
			return &cfg->servers[i];
	return NULL;
}

static struct rname *rname_find(struct resolver *r, const char *server)
{
	struct list *pos;

	list_for_each (pos, &r->names) {
		struct rname *n = list_entry(pos, struct rname, link);

		if (!strcmp(n->server, server))
			return n;
	}
	return NULL;
}

static void lookup_start(struct resolver *r, struct rname *n, const struct cfg_server *cs)
{
	struct lookup *lk = calloc(1, sizeof(*lk));
	struct gaicb *list[1];
	int rc;

	if (!lk)
		return; /* the next tick tries again */
	snprintf(lk->server, sizeof(lk->server), "%s", cs->name);
	snprintf(lk->host, sizeof(lk->host), "%s", cs->host);
	snprintf(lk->port, sizeof(lk->port), "%u", (unsigned)cs->port);
	lk->portnum = cs->port;
	lk->hints = (struct addrinfo){ .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	lk->req = (struct gaicb){ .ar_name = lk->host,
				  .ar_service = lk->port,
				  .ar_request = &lk->hints };
	list[0] = &lk->req;
	if ((rc = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL)) != 0) {
		log_warnx("resolve: server %s: cannot start a lookup of %s: %s", cs->name,
			  cs->host, gai_strerror(rc));
		free(lk);
		return;
	}
	n->pending = true;
	r->stats.lookups++;
	list_add_tail(&r->lookups, &lk->link);
	if (!loop_timer_armed(&r->poll))
		loop_timer_arm(r->loop, &r->poll, RESOLVE_POLL_MS);
}

/* Replace srv (if any) by a server at ep, keeping what the operator set. */
static void follow(struct resolver *r, struct server *srv, const struct cfg_server *cs,
		   const struct cfg_endpoint *ep)
{
	unsigned weight = srv ? srv->weight : cs->weight;
	bool drain = srv && srv->drain;
	int err = 0;

	if (srv) {
		log_info("resolve: server %s: %s now resolves to %s (was %s): new requests go "
			 "there, those in flight finish",
			 cs->name, cs->host, ep->text, srv->addr.text);
		r->stats.moves++;
		pool_server_remove(r->pool, srv);
	} else {
		log_info("resolve: server %s: %s resolves to %s", cs->name, cs->host, ep->text);
	}
	srv = pool_server_add(r->pool, cs->name, ep, weight, SRV_STATIC, &err);
	if (!srv) {
		log_errno(err, "resolve: cannot add server %s at %s", cs->name, ep->text);
		return;
	}
	pool_server_set_health_host(r->pool, srv, cs->health_host);
	if (drain)
		pool_server_set_drain(r->pool, srv, true);
	if (r->hooks.added)
		r->hooks.added(r->hooks.arg, srv);
}

/* The first TCP address of a family we speak. */
static bool first_endpoint(const struct addrinfo *ai, uint16_t port, struct cfg_endpoint *ep)
{
	for (; ai; ai = ai->ai_next) {
		const struct sockaddr_in *in = (const void *)ai->ai_addr;
		const struct sockaddr_in6 *in6 = (const void *)ai->ai_addr;

		if (ai->ai_family == AF_INET6 && ai->ai_addrlen >= sizeof(*in6)) {
			cfg_endpoint_set(ep, AF_INET6, &in6->sin6_addr, port);
			ep->sin6.sin6_scope_id = in6->sin6_scope_id;
			return true;
		}
		if (ai->ai_family == AF_INET && ai->ai_addrlen >= sizeof(*in)) {
			cfg_endpoint_set(ep, AF_INET, &in->sin_addr, port);
			return true;
		}
	}
	return false;
}

static void lookup_failed(struct resolver *r, struct rname *n, const struct cfg_server *cs,
			  int err)
{
	struct server *srv = pool_server_find(r->pool, cs->name);

	r->stats.failures++;
	if (n->last_err != err) /* once per cause, not every interval */
		log_warnx("resolve: server %s: cannot resolve %s: %s; %s%s", cs->name, cs->host,
			  gai_strerror(err), /* EAI_SYSTEM's errno was glibc's thread's */
			  srv ? "keeping " : "not in the pool until it resolves",
			  srv ? srv->addr.text : "");
	n->last_err = err;
}

static void lookup_done(struct resolver *r, struct lookup *lk, int err)
{
	struct rname *n = rname_find(r, lk->server);
	const struct cfg_server *cs = cfg_server_of(r->cfg, lk->server);
	struct cfg_endpoint ep;
	struct server *srv;

	if (n)
		n->pending = false;
	/* Reloaded away, or now another name or port: the answer is stale. */
	if (!n || !cs || strcmp(cs->host, lk->host) || cs->port != lk->portnum)
		return;
	if (err == 0 && !first_endpoint(lk->req.ar_result, cs->port, &ep))
		err = EAI_ADDRFAMILY;
	if (err) {
		lookup_failed(r, n, cs, err);
		return;
	}
	if (n->last_err && n->resolved)
		log_info("resolve: server %s: %s resolves again", cs->name, cs->host);
	n->last_err = 0;
	n->resolved = true;
	srv = pool_server_find(r->pool, cs->name);
	if (srv && srv->source != SRV_STATIC)
		return; /* a registered server took the name meanwhile (reload) */
	if (!srv || !netaddr_same(&srv->addr.sa, &ep.sa))
		follow(r, srv, cs, &ep);
}

static void on_poll(struct loop *loop, struct loop_timer *t)
{
	struct resolver *r = t->arg;
	struct list *pos, *tmp;

	(void)loop;
	list_for_each_safe (pos, tmp, &r->lookups) {
		struct lookup *lk = list_entry(pos, struct lookup, link);
		int err = gai_error(&lk->req);

		if (err == EAI_INPROGRESS)
			continue;
		list_del(&lk->link);
		lookup_done(r, lk, err);
		if (lk->req.ar_result)
			freeaddrinfo(lk->req.ar_result);
		free(lk);
	}
	if (!list_empty(&r->lookups))
		loop_timer_arm(r->loop, &r->poll, RESOLVE_POLL_MS);
}

static void resolve_all(struct resolver *r)
{
	struct list *pos;

	list_for_each (pos, &r->names) {
		struct rname *n = list_entry(pos, struct rname, link);
		const struct cfg_server *cs = cfg_server_of(r->cfg, n->server);

		if (cs && !n->pending)
			lookup_start(r, n, cs);
	}
}

static void on_tick(struct loop *loop, struct loop_timer *t)
{
	struct resolver *r = t->arg;

	resolve_all(r);
	loop_timer_arm(loop, t, r->cfg->backend.resolve_interval_ms);
}

/* r->names follows cfg: new names added, names no longer listed dropped
 * (their server is the reload's to remove). */
static int names_sync(struct resolver *r)
{
	struct list *pos, *tmp;

	list_for_each_safe (pos, tmp, &r->names) {
		struct rname *n = list_entry(pos, struct rname, link);

		if (!cfg_server_of(r->cfg, n->server)) {
			list_del(&n->link);
			free(n);
		}
	}
	for (size_t i = 0; i < r->cfg->nservers; i++) {
		const struct cfg_server *cs = &r->cfg->servers[i];
		struct rname *n;

		if (!cs->host[0] || rname_find(r, cs->name))
			continue;
		if (!(n = calloc(1, sizeof(*n))))
			return -ENOMEM;
		snprintf(n->server, sizeof(n->server), "%s", cs->name);
		list_add_tail(&r->names, &n->link);
	}
	return 0;
}

int resolver_open(struct resolver **out, struct loop *loop, const struct config *cfg,
		  struct pool *pool, const struct resolver_hooks *hooks)
{
	struct resolver *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	*r = (struct resolver){ .loop = loop, .cfg = cfg, .pool = pool };
	if (hooks)
		r->hooks = *hooks;
	list_init(&r->names);
	list_init(&r->lookups);
	loop_timer_init(&r->tick, on_tick, r);
	loop_timer_init(&r->poll, on_poll, r);
	*out = r;
	resolver_reload(r);
	return 0;
}

void resolver_reload(struct resolver *r)
{
	struct list *pos;
	size_t n = 0;

	if (names_sync(r) < 0)
		log_warnx("resolve: out of memory: some servers by name are not resolved");
	if (list_empty(&r->names)) {
		loop_timer_cancel(r->loop, &r->tick);
		return;
	}
	list_for_each (pos, &r->names)
		n++;
	log_info("resolve: %zu server(s) by name, resolved every %u ms", n,
		 r->cfg->backend.resolve_interval_ms);
	loop_timer_arm(r->loop, &r->tick, 0);
}

/* A lookup glibc has started cannot be cancelled: wait for it, bounded
 * (shutdown only), and leak it if it never ends rather than free memory
 * glibc's thread may still write. */
static void lookup_abandon(struct lookup *lk)
{
	const struct gaicb *list[1] = { &lk->req };
	struct timespec ts = { .tv_sec = RESOLVE_CLOSE_WAIT / 1000 };

	if (gai_cancel(&lk->req) == EAI_NOTCANCELED && gai_suspend(list, 1, &ts) != 0 &&
	    gai_error(&lk->req) == EAI_INPROGRESS) {
		log_warnx("resolve: lookup of %s still running at exit: left to glibc", lk->host);
		return;
	}
	if (gai_error(&lk->req) == 0 && lk->req.ar_result)
		freeaddrinfo(lk->req.ar_result);
	free(lk);
}

void resolver_close(struct resolver *r)
{
	struct list *pos, *tmp;

	if (!r)
		return;
	loop_timer_cancel(r->loop, &r->tick);
	loop_timer_cancel(r->loop, &r->poll);
	list_for_each_safe (pos, tmp, &r->lookups) {
		list_del(pos);
		lookup_abandon(list_entry(pos, struct lookup, link));
	}
	list_for_each_safe (pos, tmp, &r->names)
		free(list_entry(pos, struct rname, link));
	free(r);
}

void resolver_get_stats(const struct resolver *r, struct resolver_stats *out) { *out = r->stats; }

void resolver_foreach(const struct resolver *r,
		      void (*fn)(void *arg, const struct resolver_name *name), void *arg)
{
	const struct list *pos;

	list_for_each (pos, &r->names) {
		const struct rname *n = list_entry(pos, struct rname, link);
		const struct cfg_server *cs = cfg_server_of(r->cfg, n->server);

		if (!cs)
			continue; /* gone from the file; names_sync() drops it */
		fn(arg, &(struct resolver_name){ .server = n->server,
						 .host = cs->host,
						 .port = cs->port,
						 .resolved = n->resolved,
						 .pending = n->pending,
						 .error = n->last_err ? gai_strerror(n->last_err)
								      : NULL });
	}
}
