/* ctl_resolve.h - the "names" table of `andromedactl status`: each server
 * given by name (resolve.h), whether its name resolved, and why not:
 *
 *   "names": [ { "server": "web1", "host": "pi-web1.local", "port": 80,
 *                "state": "resolved" | "resolving" | "failed",
 *                "error": "Name or service not known" (failed, or the
 *                         last lookup of a resolved one failed) } ]
 *
 * A server whose name never resolved is not in "servers" (it is not in
 * the pool): this is where an operator sees it.  Absent when no server
 * is given by name. */
#ifndef ANDROMEDA_CTL_RESOLVE_H
#define ANDROMEDA_CTL_RESOLVE_H

#include <jansson.h>

/* A control_status_fn (arg: the struct resolver).  Returns 0 or -ENOMEM. */
int ctl_resolve_status(json_t *status, void *resolver);

#endif
