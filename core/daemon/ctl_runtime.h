/* ctl_runtime.h - runtime changes to the pool over the control socket
 * (SPEC "Second stage", HAProxy's runtime API):
 *
 *   weight NAME N             1..256; lb_wrr uses it from the next pick
 *   add NAME ADDR:PORT [W]    a new server (weight W, default 1)
 *   remove NAME               drain it, remove it once nothing is in flight
 *
 * Replication and the journal follow from the pool's observers: a weight
 * change is a POOL_SERVER_WEIGHT (sync UPSERT delta, journal "updated"),
 * an added server is kept as a registration that never expires (sync
 * UPSERT, journal "registered", rebuilt at restart like the agents'), a
 * removal is a drain (journal "drained") and then a POOL_SERVER_REMOVED
 * (sync REMOVE, journal "withdrawn").  docs/andromedactl.md.
 *
 * Only the active node takes them (the MASTER, or a balancer without
 * [ha]): a BACKUP follows its MASTER's pool, which would undo its own
 * changes at the next snapshot. */
#ifndef ANDROMEDA_CTL_RUNTIME_H
#define ANDROMEDA_CTL_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct control;
struct loop;
struct pool;

enum runtime_op {
	RT_WEIGHT,
	RT_ADD,
	RT_REMOVE
};

/* One parsed command: syntax checked, the pool not yet consulted. */
struct runtime_cmd {
	enum runtime_op op;
	char name[CFG_NAME_MAX];
	struct cfg_endpoint addr; /* RT_ADD */
	unsigned weight;          /* RT_WEIGHT, RT_ADD (default 1) */
};

/* Parse argv (argv[0] "weight", "add" or "remove").  Returns 0, or -EINVAL
 * with the reason in err ("usage: ...", "invalid server name: ...",
 * "invalid address (want a.b.c.d:port or [v6]:port): ...", "invalid weight (1..256): ..."). */
int runtime_parse(int argc, char **argv, struct runtime_cmd *out, char *err, size_t errlen);

struct ctl_runtime;

/* Register "weight", "add" and "remove" on c.  is_active(arg) says
 * whether this node may change the pool (NULL: always).  Returns 0 or
 * -errno; *out is freed by ctl_runtime_close (after control_close). */
int ctl_runtime_register(struct ctl_runtime **out, struct control *c, struct loop *loop,
			 struct pool *pool, const struct config *cfg, bool (*is_active)(void *),
			 void *arg);
void ctl_runtime_close(struct ctl_runtime *rt);

#endif
