/* ha.h - the HA module as the daemon sees it: the VRRPv3 election
 * (vrrp.c) wired to its socket (vrrp_socket.c), the VIP (netlink/vip.c),
 * gratuitous ARP (netlink/garp.c) and the kernel watch (netlink/kwatch.c).
 *
 * Start-up order (SPEC "HA module"): a VIP left behind by a crashed run is
 * removed first, then the socket opens and the node enters BACKUP (or
 * FAULT without carrier or without an IPv4 address of its own: both are
 * followed through netlink/kwatch.c, so a node started before its
 * interface is configured joins the election when it is).  The frontend listener was bound before (with
 * IP_FREEBIND), so becoming MASTER only adds the address.
 *
 * Graceful stop: priority 0 is advertised at once so a backup takes over
 * after its Skew_Time; we keep the VIP (and keep serving) for a short hold
 * so that clients still sending to our MAC are answered until the new
 * master's gratuitous ARP has moved them; then the VIP goes. */
#ifndef ANDROMEDA_HA_H
#define ANDROMEDA_HA_H

#include <jansson.h>
#include <stdbool.h>

#include "sync.h"
#include "vrrp.h"

struct loop;
struct config;
struct ha;

struct ha_hooks {
	/* After every state change (daemon: systemd notify, sync); reason
	 * (valid during the call) is the election's, e.g. "link down".  May
	 * run inside ha_create(), before *out is set. */
	void (*state)(void *arg, enum vrrp_state from, enum vrrp_state to, const char *reason);
	/* Our primary address changed (0.0.0.0: none left), before the
	 * election hears of it: sync and registration use it as their
	 * sender id.  May be NULL. */
	void (*primary)(void *arg, struct in_addr primary);
	void *arg;
};

/* Open everything and enter BACKUP/FAULT.  The interface must exist; it
 * may be down and without an IPv4 address (boot order): the node is then
 * in FAULT and leaves it on the kernel's link and address events (carrier
 * up and an address of its own), with no restart.  hooks is copied (may
 * be NULL).  Returns 0 or -errno (logged). */
int ha_create(struct ha **out, struct loop *loop, const struct config *cfg, const struct ha_hooks *hooks);
/* Release with priority 0; done(arg) runs once the VIP is gone. */
void ha_stop(struct ha *ha, void (*done)(void *arg), void *arg);
void ha_destroy(struct ha *ha);

enum vrrp_state ha_state(const struct ha *ha);
/* Our primary IPv4 address on the HA interface (the adverts' source);
 * 0.0.0.0 while it has none. */
struct in_addr ha_primary(const struct ha *ha);
struct vrrp *ha_vrrp(struct ha *ha);

/* Adds node HA fields to an andromedactl status object: role, priority,
 * vip_held, vips, the "vrrp" details and counters (not "peers": see
 * ha_peers_json).  0 or -ENOMEM. */
int ha_status_json(struct ha *ha, json_t *status);
/* The "peers" array (SPEC: name, address, priority, role, last_seen_ms):
 * the election's peers merged with the nnodes sync nodes (sync_nodes(); may
 * be 0), see peers.h.  NULL on allocation failure. */
json_t *ha_peers_json(struct ha *ha, const struct sync_node *nodes, size_t nnodes);

/* `andromeda --release`: remove the configured VIPs from the interface
 * (ExecStopPost=, after a crash).  Returns 0 or -errno. */
int ha_release_vips(const struct config *cfg);

#endif
