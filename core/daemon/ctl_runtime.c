/* ctl_runtime.c - "weight", "add" and "remove": runtime changes to the
 * pool (ctl_runtime.h).  A removal drains first and is finished by a
 * sweep on the main loop once the server has nothing in flight or queued
 * (the registry's withdraw works the same way). */
#include "ctl_runtime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_value.h"
#include "control.h"
#include "ctl_pool.h"
#include "log.h"
#include "loop.h"
#include "netaddr.h"
#include "pool.h"

#define RT_SWEEP_MS 100

struct ctl_runtime {
	struct loop *loop;
	struct pool *pool;
	const struct config *cfg;
	bool (*is_active)(void *);
	void *arg;
	struct loop_timer sweep;
};

static int parse_weight(const char *s, unsigned *out)
{
	uint64_t n;

	if (cfgv_parse_uint(s, &n) < 0 || n < 1 || n > 256)
		return -EINVAL;
	*out = (unsigned)n;
	return 0;
}

static const char *usage(enum runtime_op op)
{
	static const char *const u[] = { [RT_WEIGHT] = "usage: weight NAME N (1..256)",
					 [RT_ADD] = "usage: add NAME ADDR:PORT [WEIGHT]",
					 [RT_REMOVE] = "usage: remove NAME" };
	return u[op];
}

int runtime_parse(int argc, char **argv, struct runtime_cmd *out, char *err, size_t errlen)
{
	static const int nargs[][2] = {
		[RT_WEIGHT] = { 3, 3 }, [RT_ADD] = { 3, 4 }, [RT_REMOVE] = { 2, 2 }
	};
	const char *bad = NULL;

	memset(out, 0, sizeof(*out));
	out->weight = 1;
	if (argc < 1 || !argv[0])
		return -EINVAL;
	out->op = !strcmp(argv[0], "weight") ? RT_WEIGHT
		  : !strcmp(argv[0], "add")  ? RT_ADD
					     : RT_REMOVE;
	if (out->op == RT_REMOVE && strcmp(argv[0], "remove"))
		bad = "unknown command";
	else if (argc < nargs[out->op][0] || argc > nargs[out->op][1])
		bad = usage(out->op);
	else if (!cfgv_valid_name(argv[1]))
		bad = "invalid server name (1-63 of A-Z a-z 0-9 . _ -)";
	else if (out->op == RT_ADD && config_parse_endpoint(argv[2], &out->addr) < 0)
		bad = "invalid address (want a.b.c.d:port or [v6]:port)";
	else if ((out->op == RT_WEIGHT || (out->op == RT_ADD && argc == 4)) &&
		 parse_weight(argv[out->op == RT_WEIGHT ? 2 : 3], &out->weight) < 0)
		bad = "invalid weight (1..256)";
	if (bad) {
		snprintf(err, errlen, "%s", bad);
		return -EINVAL;
	}
	snprintf(out->name, sizeof(out->name), "%s", argv[1]);
	return 0;
}

static struct server *find_addr(struct pool *pool, const struct cfg_endpoint *ep)
{
	for (struct server *s = pool_first(pool); s; s = pool_next(pool, s))
		if (netaddr_same(&s->addr.sa, &ep->sa))
			return s;
	return NULL;
}

static json_t *do_add(struct ctl_runtime *rt, const struct runtime_cmd *c)
{
	struct server *srv = pool_server_find(rt->pool, c->name), *same;
	int err = 0;

	if (srv)
		return control_error("server %s already exists (%s)", c->name, srv->addr.text);
	if ((same = find_addr(rt->pool, &c->addr)))
		return control_error("address %s is already server %s", c->addr.text, same->name);
	/* A registration that never expires: replicated, journalled and
	 * rebuilt at restart as the agents' are. */
	srv = pool_server_add(rt->pool, c->name, &c->addr, c->weight, SRV_REGISTERED, &err);
	if (!srv)
		return control_error("cannot add server %s: %s", c->name, strerror(-err));
	srv->expires_ms = 0;
	/* Without health checks nothing would ever bring it up. */
	if (!rt->cfg->backend.health_interval_ms)
		pool_server_set_health(rt->pool, srv, SRV_UP,
				       "added at runtime (no health checks)");
	log_info("server %s (%s) added at runtime, weight %u", srv->name, srv->addr.text,
		 srv->weight);
	return ctl_pool_server_json(srv);
}

static json_t *do_remove(struct ctl_runtime *rt, struct server *srv)
{
	json_t *j;

	if (srv->leaving)
		return control_error("server %s is already being removed", srv->name);
	log_info("server %s (%s) removed at runtime: draining, then removing", srv->name,
		 srv->addr.text);
	srv->leaving = true;
	pool_server_set_drain(rt->pool, srv, true);
	j = ctl_pool_server_json(srv);
	if (j)
		json_object_set_new(j, "removing", json_true());
	if (!loop_timer_armed(&rt->sweep))
		loop_timer_arm(rt->loop, &rt->sweep, 0);
	return j;
}

static json_t *cmd_runtime(int argc, char **argv, void *arg)
{
	struct ctl_runtime *rt = arg;
	struct runtime_cmd c;
	struct server *srv;
	char err[128];

	if (runtime_parse(argc, argv, &c, err, sizeof(err)) < 0)
		return control_error("%s: %s", err, argc > 1 ? argv[1] : "");
	if (rt->is_active && !rt->is_active(rt->arg))
		return control_error("this node is not the MASTER: change the pool on the MASTER "
				     "(a BACKUP follows it)");
	if (c.op == RT_ADD)
		return do_add(rt, &c);
	if (!(srv = pool_server_find(rt->pool, c.name)))
		return control_error("unknown server: %s", c.name);
	if (c.op == RT_REMOVE)
		return do_remove(rt, srv);
	if (srv->weight != c.weight) {
		log_info("server %s (%s) weight %u -> %u", srv->name, srv->addr.text, srv->weight,
			 c.weight);
		pool_server_set_weight(rt->pool, srv, c.weight);
	}
	return ctl_pool_server_json(srv);
}

/* Remove the servers being removed once nothing is in flight or queued on
 * them (POOL_SERVER_DRAIN already moved their queues to the others). */
static void sweep(struct loop *loop, struct loop_timer *t)
{
	struct ctl_runtime *rt = t->arg;
	struct server *srv, *next;
	bool pending = false;

	for (srv = pool_first(rt->pool); srv; srv = next) {
		next = pool_next(rt->pool, srv);
		if (!srv->leaving)
			continue;
		if (!srv->drain) { /* "enable NAME" while it drained: keep it */
			log_info("server %s (%s) enabled: no longer removed", srv->name,
				 srv->addr.text);
			srv->leaving = false;
			continue;
		}
		if (server_inflight(srv) || server_queued(srv)) {
			pending = true;
			continue;
		}
		log_info("server %s (%s) drained: removed", srv->name, srv->addr.text);
		pool_server_remove(rt->pool, srv);
	}
	if (pending)
		loop_timer_arm(loop, t, RT_SWEEP_MS);
}

int ctl_runtime_register(struct ctl_runtime **out, struct control *c, struct loop *loop,
			 struct pool *pool, const struct config *cfg, bool (*is_active)(void *),
			 void *arg)
{
	struct ctl_runtime *rt = calloc(1, sizeof(*rt));
	int err;

	if (!rt)
		return -ENOMEM;
	*rt = (struct ctl_runtime){
		.loop = loop, .pool = pool, .cfg = cfg, .is_active = is_active, .arg = arg
	};
	loop_timer_init(&rt->sweep, sweep, rt);
	*out = rt;
	if ((err = control_register(c, "weight",
				    "weight NAME N - set server NAME's weight (1..256)",
				    cmd_runtime, rt)) < 0 ||
	    (err = control_register(c, "add",
				    "add NAME ADDR:PORT [WEIGHT] - add a server at runtime (kept "
				    "across restarts, replicated)",
				    cmd_runtime, rt)) < 0 ||
	    (err = control_register(c, "remove", "remove NAME - drain server NAME, then remove it",
				    cmd_runtime, rt)) < 0)
		return err;
	return 0;
}

void ctl_runtime_close(struct ctl_runtime *rt)
{
	if (!rt)
		return;
	loop_timer_cancel(rt->loop, &rt->sweep);
	free(rt);
}
