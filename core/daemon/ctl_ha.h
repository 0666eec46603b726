/* ctl_ha.h - the node and its HA side over the control socket:
 *
 *   peers     array of the other balancers: name, address, priority,
 *             role, last_seen_ms (SPEC; ha_get_peers)
 *
 * and two parts of "status": the node block (node, version, mode, listen,
 * ha, role, priority, vip_held, vips, vrrp, peers; a standalone balancer
 * shows itself as an HA-less MASTER) and "sync" (replication's sequence,
 * session and counters).  They are status providers the daemon's main
 * adds itself, the node block first and "sync" after the pool and the
 * proxy, which gives the SPEC order of `andromedactl status`. */
#ifndef ANDROMEDA_CTL_HA_H
#define ANDROMEDA_CTL_HA_H

#include <jansson.h>

struct config;
struct control;
struct ha;
struct sync;

/* What these commands read.  ha and sync are NULL on a standalone
 * balancer; everything must outlive the control socket. */
struct ctl_ha {
	const struct config *cfg;
	struct ha *ha;
	struct sync *sync;
};

/* Register "peers" on c (h must outlive c).  0 or -errno from
 * control_register(). */
int ctl_ha_register(struct control *c, struct ctl_ha *h);

/* control_status_fn (arg: a struct ctl_ha): the node block of "status".
 * 0, or -ENOMEM when the "vrrp" object could not be built. */
int ctl_ha_status(json_t *status, void *ctl_ha);

/* control_status_fn (arg: a struct ctl_ha): "sync" in "status"; without
 * HA only its seq (0) and last_snapshot_ms (null).  Returns 0: out of
 * memory leaves the key out. */
int ctl_ha_sync_status(json_t *status, void *ctl_ha);

#endif
