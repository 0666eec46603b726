/* ha6.h - the IPv6 VIPs of the instance: VRRPv3 over IPv6 (vrrp6_socket.c),
 * the VIPs added with nodad (netlink/vip.c), unsolicited Neighbor
 * Advertisements (netlink/ndisc.c).  Used by ha.c only.
 *
 * How the IPv6 family elects (docs/vrrp.md#ipv6):
 *
 *  - interop = no (the default): the instance's authenticated IPv4
 *    election decides for both families ("follow" mode).  The IPv4
 *    MASTER also advertises over IPv6 (same VRID, priority, interval;
 *    the IPv6 VIPs) and holds the IPv6 VIPs; IPv6 adverts received are
 *    checked and counted, never acted on: the cluster key is proven over
 *    IPv4 addresses only, so no IPv6 advert could be authenticated.  An
 *    IPv6 failover is then exactly as fast as the IPv4 one.
 *  - interop = yes: the IPv6 family has its own RFC 5798 election (a
 *    second struct vrrp, vrrp_create6) with the same VRID, priority and
 *    timers, as keepalived's IPv6 vrrp_instance does, so a keepalived
 *    peer (or a router) in the VRID over IPv6 elects with us.
 *
 * The ha6_follow_* calls are the follow mode's: ha.c makes them from the
 * IPv4 election's side effects; they do nothing in election mode.  The
 * other inputs reach the IPv6 election in election mode and do nothing
 * in follow mode.  Every function takes NULL (no IPv6 VIP) as a no-op. */
#ifndef ANDROMEDA_HA6_H
#define ANDROMEDA_HA6_H

#include <stdbool.h>
#include <stdint.h>

#include "vrrp.h"

struct loop;
struct config;
struct vip;
struct garp_params;
struct ha6;

#define HA6_ND_CAUSES 8 /* ND_RX_NCAUSES (netlink/ndisc_packet.h) */

/* What status shows of the IPv6 family. */
struct ha6_status {
	bool elects;             /* interop: its own election (else follows IPv4) */
	bool vip_held;           /* the IPv6 VIPs are on the interface */
	struct vrrp_status vrrp; /* election mode; follow mode: state = IPv4's */
	struct vrrp_stats stats; /* IPv6 adverts: sent, received, dropped by cause */
	uint64_t na_sent, na_errors, nd_rx, nd_conflicts;
	uint64_t nd_drops[HA6_ND_CAUSES]; /* malformed NS/NA seen, by cause */
};

/* Open the IPv6 socket and the NA sender on cfg->ha.interface, and (not
 * adopt) remove IPv6 VIPs left behind by a crashed run.  vip is ha.c's
 * and outlives the ha6.  Nothing is sent before ha6_start (election
 * mode) or the first ha6_follow_advert.  0 or -errno (logged). */
int ha6_open(struct ha6 **out, struct loop *loop, const struct config *cfg, struct vip *vip,
	     const struct garp_params *gp, bool adopt);
/* Stop (election mode: priority 0 from a MASTER), remove the VIPs we
 * hold, close. */
void ha6_close(struct ha6 *h);
/* Hitless upgrade, the old process: send nothing, remove nothing. */
void ha6_handover(struct ha6 *h);

/* Follow mode. */
void ha6_follow_advert(struct ha6 *h, uint8_t priority);
int ha6_follow_vips(struct ha6 *h, bool add);
void ha6_follow_burst(struct ha6 *h);
void ha6_follow_na_stop(struct ha6 *h);

/* Election mode: as the vrrp_* functions of the same name (ha6_link
 * also looks the link-local address up again on carrier, in both modes). */
void ha6_start(struct ha6 *h, bool master);
void ha6_stop(struct ha6 *h);
void ha6_link(struct ha6 *h, bool up);
void ha6_set_priority(struct ha6 *h, uint8_t priority, const char *why);
void ha6_track_fault(struct ha6 *h, bool on, const char *why);
void ha6_hold_restart(struct ha6 *h, uint32_t hold_ms);

/* follow: the IPv4 state given; election: its own. */
void ha6_get_status(const struct ha6 *h, enum vrrp_state v4_state, struct ha6_status *out);
/* Name of an NS/NA drop cause (nd_drops index). */
const char *ha6_nd_cause_name(unsigned i);

/* One of its IPv6 VIPs (false for NULL). */
bool ha6_owns(const struct ha6 *h, const struct in6_addr *a);
/* One of them was removed by someone (netlink/kwatch.h) while we hold
 * them: add them again and send the NA burst.  True when put back. */
bool ha6_restore(struct ha6 *h);
/* After a netlink overrun: one of them is missing while we hold them
 * (the kernel's list read again): as ha6_restore.  True when put back. */
bool ha6_resync(struct ha6 *h);

/* `andromeda --release`: remove cfg's IPv6 VIPs, every instance's, through
 * vip.  0 or the first -errno. */
int ha6_release_vips(struct vip *vip, const struct config *cfg);

#endif
