/* ctl_pool.h - control-socket commands over the server pool.
 *
 *   servers       array of server objects (see ctl_pool_server_json)
 *   drain NAME    stop sending new requests to NAME; in-flight ones finish
 *   enable NAME   put NAME back into rotation (undo drain)
 *
 * plus the "pool" and "servers" keys of "status" (a status provider added
 * by ctl_pool_register, so the keys land where the daemon's main calls it:
 * after the node/role provider and before the sync one gives the SPEC
 * order node, role, priority, vip_held, vips, peers, (pool,) servers,
 * sync).  "pool": panic, in_rotation, eligible, ejected, max_ejected,
 * panics (docs/health-checks.md "Panic mode"). */
#ifndef ANDROMEDA_CTL_POOL_H
#define ANDROMEDA_CTL_POOL_H

#include <jansson.h>

struct control;
struct pool;
struct server;

/* Register "servers", "drain" and "enable" on c for pool (which must
 * outlive c) and add ctl_pool_status as a status provider.  Returns 0 or
 * -errno from control_register() / control_status_add(). */
int ctl_pool_register(struct control *c, struct pool *pool);

/* One server as an object, keys in this order: name, address, source
 * ("static" | "registered"), state ("up" | "down" | "drain"), weight,
 * inflight, queued, requests, failures, idle, rotation ("yes" | "no" |
 * "panic": DOWN but used in panic mode), ejected (out of rotation by
 * failed requests).  New reference or NULL (ENOMEM). */
json_t *ctl_pool_server_json(const struct server *srv);

/* Every server of the pool, in pool order.  New reference or NULL. */
json_t *ctl_pool_servers_json(struct pool *pool);

/* A control_status_fn (arg = the pool): sets "pool" and "servers" in status.
 * Already added by ctl_pool_register(); exported for composing tests. */
int ctl_pool_status(json_t *status, void *pool);

#endif
