/* ctl_proxy.h - control commands for the forwarding core: "routes" (the
 * routing table: request id, client, server, state) and the "proxy"
 * counters in "status" (summed over the proxy threads, and per thread). */
#ifndef ANDROMEDA_CTL_PROXY_H
#define ANDROMEDA_CTL_PROXY_H

#include <jansson.h>

struct control;
struct workers;

/* Register "routes" and add the proxy counters to "status".  0 or -errno. */
int ctl_proxy_register(struct control *c, struct workers *ws);
json_t *ctl_proxy_routes_json(struct workers *ws);

#endif
