/* ha_int.h - what ha.c (the shared parts: socket, kernel watch, tracked
 * items, life cycle) and ha_inst.c (one VRRP instance: its election, VIPs,
 * gratuitous ARP, notify script) share; nothing else includes it.
 *
 * An instance is one struct vrrp (vrrp.c is unchanged by instances): the
 * [ha] section is instance 0, each [vrrp NAME] one more.  Each instance
 * reads its own struct config, whose ha block is the instance's (a copy
 * of the daemon's with vrid, priority, timers and VIPs replaced), so the
 * election, garp.c and notify.c need not know there are several. */
#ifndef ANDROMEDA_HA_INT_H
#define ANDROMEDA_HA_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "ha.h"
#include "loop.h"

struct garp;
struct ha6;
struct kwatch;
struct kwatch_addr;
struct peer_check;
struct vip;
struct vrrp_socket;

struct ha_inst {
	struct ha *ha;
	size_t idx;
	char name[CFG_NAME_MAX];
	const struct config *cfg; /* the daemon's (instance 0) or own */
	struct config *own;       /* a [vrrp NAME]'s view; NULL for instance 0 */
	struct vrrp *vrrp;
	struct garp *garp;
	struct ha6 *v6;         /* its IPv6 VIPs (ha6.h; [ha] only), NULL without */
	struct notify *notify;  /* [ha] notify (may be NULL) */
	bool vip_on;            /* we put its VIPs on the interface */
	struct loop_timer hold; /* graceful release: VIPs kept this long */
	uint64_t vip_restored;  /* VIPs removed by someone while MASTER, put back */
};

struct ha {
	struct loop *loop;
	const struct config *cfg;
	struct vip *vip; /* one netlink handle for every instance's VIPs */
	struct kwatch *kwatch;
	struct vrrp_socket *sock; /* shared; adverts go to an instance by VRID */
	struct ha_hooks hooks;
	struct track *track;                   /* track_interface, [track NAME] */
	struct kwatch *tkw[CFG_MAX_TRACK_IFS]; /* a watch per tracked interface */
	size_t ntkw;
	struct ha_inst *inst[CFG_MAX_INSTANCES];
	size_t ninst;
	struct peer_check *check; /* with [vrrp NAME] sections: ha_peer_closed */

	bool releasing;   /* ha_stop() called */
	bool handed_over; /* ha_handover(): silent from now on */
	void (*stopped)(void *arg);
	void *stopped_arg;
};

/* ha_inst.c */

/* Instance idx of ha->cfg (0: [ha]) with its election, ARP sender,
 * notify script and IPv6 VIPs (ha6.h; not adopt: a crashed run's
 * removed); not started.  0 or -errno (logged). */
int ha_inst_create(struct ha *ha, size_t idx, struct in_addr primary, bool adopt,
		   struct ha_inst **out);
void ha_inst_destroy(struct ha_inst *in);
/* Its VIPs on (add) or off the interface; the first -errno or 0. */
int ha_inst_vips_apply(struct ha_inst *in, bool add);
/* The address of a kernel event is one of its VIPs (either family). */
bool ha_inst_owns(const struct ha_inst *in, const struct kwatch_addr *a);
/* Its VIPs, once removed by someone while MASTER: put back (why logged). */
void ha_inst_restore(struct ha_inst *in, const char *why);
/* An IPv6 VIP of it was removed by someone: put back if we hold them. */
void ha_inst_restore6(struct ha_inst *in);
/* Every VIP of it is on the interface (an upgrade: the process we
 * replace held them, so it was MASTER). */
bool ha_inst_vips_present(struct ha_inst *in);
/* The kernel lost a VIP (either family) while a netlink overrun hid the
 * event: check. */
void ha_inst_resync(struct ha_inst *in);
/* Graceful stop: the hold ended (or none was needed): the VIPs go. */
void ha_inst_release_now(struct ha_inst *in);
/* The hold of every instance is over: tell ha_stop()'s caller. */
void ha_release_done(struct ha *ha);

#endif
