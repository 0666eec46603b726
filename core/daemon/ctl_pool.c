/* ctl_pool.c - "servers", "drain NAME", "enable NAME" and the "servers"
 * and "pool" parts of "status": the pool rendered as JSON for andromedactl. */
#include "ctl_pool.h"

#include <errno.h>
#include <stdint.h>

#include "control.h"
#include "pool.h"

json_t *ctl_pool_server_json(const struct server *srv)
{
	/* "I" takes json_int_t (long long): the counters are uint64_t but stay
	 * far below 2^63 in any real run. */
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:b}", "name",
			 srv->name, "address", srv->addr.text, "source",
			 srv->source == SRV_STATIC ? "static" : "registered", "state",
			 server_state_name(srv), "weight", (json_int_t)srv->weight, "inflight",
			 (json_int_t)server_inflight(srv), "queued",
			 (json_int_t)server_queued(srv), "requests",
			 (json_int_t)server_requests(srv), "failures", (json_int_t)srv->failures,
			 "idle", (json_int_t)server_idle(srv), "rotation",
			 server_rotation_name(srv->pool, srv), "ejected",
			 srv->ejected && srv->health == SRV_DOWN);
}

/* The pool at a glance: the algorithm ([backend] balance), panic mode
 * and passive ejections. */
static json_t *ctl_pool_summary_json(const struct pool *pool)
{
	struct pool_summary s;

	pool_get_summary(pool, &s);
	return json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:I}", "balance", pool_balance_name(pool),
			 "panic", s.panic, "in_rotation", (json_int_t)s.in_rotation, "eligible",
			 (json_int_t)s.eligible, "ejected", (json_int_t)s.ejected, "max_ejected",
			 (json_int_t)s.max_ejected, "panics", (json_int_t)s.panics);
}

json_t *ctl_pool_servers_json(struct pool *pool)
{
	json_t *arr = json_array();

	if (!arr)
		return NULL;
	for (struct server *s = pool_first(pool); s; s = pool_next(pool, s)) {
		if (json_array_append_new(arr, ctl_pool_server_json(s)) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

int ctl_pool_status(json_t *status, void *pool)
{
	if (json_object_set_new(status, "pool", ctl_pool_summary_json(pool)) < 0)
		return -ENOMEM;
	return json_object_set_new(status, "servers", ctl_pool_servers_json(pool)) < 0 ? -ENOMEM
										       : 0;
}

static json_t *cmd_servers(int argc, char **argv, void *pool)
{
	if (argc != 1)
		return control_error("usage: servers");
	return ctl_pool_servers_json(pool);
}

/* drain and enable differ only in the flag: argv[0] says which. */
static json_t *set_drain(int argc, char **argv, struct pool *pool, bool drain)
{
	struct server *srv;

	if (argc != 2)
		return control_error("usage: %s NAME", argv[0]);
	srv = pool_server_find(pool, argv[1]);
	if (!srv)
		return control_error("unknown server: %s", argv[1]);
	pool_server_set_drain(pool, srv, drain);
	return ctl_pool_server_json(srv);
}

static json_t *cmd_drain(int argc, char **argv, void *pool)
{
	return set_drain(argc, argv, pool, true);
}
static json_t *cmd_enable(int argc, char **argv, void *pool)
{
	return set_drain(argc, argv, pool, false);
}

int ctl_pool_register(struct control *c, struct pool *pool)
{
	int err;

	if ((err = control_register(c, "servers",
				    "servers - the server pool: state, load and counters",
				    cmd_servers, pool)) < 0 ||
	    (err = control_register(
		     c, "drain",
		     "drain NAME - no new requests to server NAME; in-flight ones finish",
		     cmd_drain, pool)) < 0 ||
	    (err = control_register(
		     c, "enable", "enable NAME - put server NAME back into rotation (undo drain)",
		     cmd_enable, pool)) < 0)
		return err;
	return control_status_add(c, ctl_pool_status, pool);
}
