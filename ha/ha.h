/* ha.h - the HA module as the daemon sees it: the VRRPv3 election
 * (vrrp.c) wired to its socket (vrrp_socket.c), the VIP (netlink/vip.c),
 * gratuitous ARP (netlink/garp.c) and the kernel watch (netlink/kwatch.c).
 *
 * Start-up order (SPEC "HA module"): a VIP left behind by a crashed run is
 * removed first, then the socket opens and the node enters BACKUP (or
 * FAULT without carrier).  The frontend listener was bound before (with
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

#include "vrrp.h"

struct loop;
struct config;
struct ha;

/* Called after every state change (daemon: systemd notify, later sync). */
typedef void (*ha_state_fn)(void *arg, enum vrrp_state from, enum vrrp_state to);

/* Open everything and enter BACKUP/FAULT.  Returns 0 or -errno (logged). */
int ha_create(struct ha **out, struct loop *loop, const struct config *cfg, ha_state_fn on_state, void *arg);
/* Release with priority 0; done(arg) runs once the VIP is gone. */
void ha_stop(struct ha *ha, void (*done)(void *arg), void *arg);
void ha_destroy(struct ha *ha);

enum vrrp_state ha_state(const struct ha *ha);
/* Our primary IPv4 address on the HA interface (the adverts' source). */
struct in_addr ha_primary(const struct ha *ha);
struct vrrp *ha_vrrp(struct ha *ha);

/* Adds node HA fields to an andromedactl status object: role, priority,
 * vip_held, vips, peers, counters.  0 or -ENOMEM. */
int ha_status_json(struct ha *ha, json_t *status);
/* The "peers" array (SPEC: name, address, priority, role, last_seen_ms). */
json_t *ha_peers_json(struct ha *ha);

/* `andromeda --release`: remove the configured VIPs from the interface
 * (ExecStopPost=, after a crash).  Returns 0 or -errno. */
int ha_release_vips(const struct config *cfg);

#endif
