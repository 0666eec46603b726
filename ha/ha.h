/* ha.h - the HA module as the daemon sees it: the VRRPv3 election
 * (vrrp.c) wired to its socket (vrrp_socket.c), the VIP (netlink/vip.c),
 * gratuitous ARP (netlink/garp.c) and the kernel watch (netlink/kwatch.c).
 *
 * Start-up order (SPEC "HA module"): a VIP left behind by a crashed run is
 * removed first, then the socket opens and the node enters BACKUP (or
 * FAULT without carrier or without an IPv4 address of its own: both are
 * followed through netlink/kwatch.c, so a node started before its
 * interface is configured joins the election when it is).  The frontend listener was bound before
 * (with IP_FREEBIND), so becoming MASTER only adds the address.
 *
 * Hooks (issue 14): the [ha] notify script runs on every transition
 * (notify.h; STOP when the election ends), and the tracked interfaces
 * and [track NAME] scripts move the priority or force FAULT (track.h);
 * the tracked interfaces have a kernel watch each, here.
 *
 * Instances (issue 16): the [ha] section is the first VRRP instance
 * (named "ha"), each [vrrp NAME] one more, with its own election,
 * VRID, priority, VIPs and timers.  They share the interface, its VRRP
 * socket (an advert goes to the instance of its VRID: ha_demux), the
 * kernel watch, the tracked items (each instance moves from its own base
 * priority by the same weights), the notify script (called with the
 * instance's name) and the sync channel.  The node's role - what sync,
 * registration and systemd see - is the first instance's.
 *
 * Graceful stop: priority 0 is advertised at once so a backup takes over
 * after its Skew_Time; we keep the VIP (and keep serving) for a short hold
 * so that clients still sending to our MAC are answered until the new
 * master's gratuitous ARP has moved them; then the VIP goes. */
#ifndef ANDROMEDA_HA_H
#define ANDROMEDA_HA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "ha6.h"
#include "notify.h"
#include "peers.h"
#include "sync.h"
#include "track.h"
#include "vrrp.h"

/* The first instance's name in status, metrics and the notify script's
 * first argument (a [vrrp NAME] instance is called NAME). */
#define HA_INSTANCE_NAME CFG_HA_INSTANCE

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
	/* An advert came from src, which has not proven the cluster key
	 * (vrrp_ops.unproven_source): the daemon asks sync to let it prove
	 * it (sync_probe).  Every such advert; may be NULL. */
	void (*unproven)(void *arg, struct in_addr src);
	/* After every state change of any instance (idx 0 is [ha], whose
	 * changes also go to state above), with its name.  May be NULL. */
	void (*instance_state)(void *arg, size_t idx, const char *name, enum vrrp_state from,
			       enum vrrp_state to, const char *reason);
	/* How many live balancers other than us and peer we know (sync:
	 * sessions to us, nodes heard lately).  Asked when an instance's
	 * MASTER peer is found gone (ha_peer_closed); NULL: unknown, so the
	 * instances keep Skew_Time. */
	size_t (*others_alive)(void *arg, struct in_addr peer);
	void *arg;
};

/* Open everything and enter BACKUP/FAULT.  The interface must exist; it
 * may be down and without an IPv4 address (boot order): the node is then
 * in FAULT and leaves it on the kernel's link and address events (carrier
 * up and an address of its own), with no restart.  hooks is copied (may
 * be NULL).  Returns 0 or -errno (logged). */
int ha_create(struct ha **out, struct loop *loop, const struct config *cfg,
	      const struct ha_hooks *hooks);
/* Hitless upgrade, the new process: as ha_create(), but a VIP on the
 * interface is not removed as stale (the process we replace holds it),
 * and with master set the election starts as MASTER at once (advert
 * now).  Returns 0 or -errno (logged). */
int ha_adopt(struct ha **out, struct loop *loop, const struct config *cfg,
	     const struct ha_hooks *hooks, bool master);
/* Hitless upgrade, the old process: from now on send no advert (no
 * priority 0), remove no VIP and call no hook; ha_destroy() then only
 * closes.  The next process holds the role. */
void ha_handover(struct ha *ha);
/* Release with priority 0; done(arg) runs once the VIP is gone. */
void ha_stop(struct ha *ha, void (*done)(void *arg), void *arg);
void ha_destroy(struct ha *ha);

/* The first instance's ([ha]'s) role and election: the node's. */
enum vrrp_state ha_state(const struct ha *ha);
/* Our primary IPv4 address on the HA interface (the adverts' source);
 * 0.0.0.0 while it has none. */
struct in_addr ha_primary(const struct ha *ha);
struct vrrp *ha_vrrp(struct ha *ha);

/* What `andromedactl status` shows of the election (rendered by
 * core/daemon/ctl_ha.c, with the VIPs and the interface from the
 * configuration). */
struct ha_status {
	char name[64];              /* "ha", or the [vrrp NAME] */
	const struct config *cfg;   /* the instance's view: cfg->ha.vips etc. are its own */
	struct vrrp_status vrrp;    /* vrrp_get_status() */
	struct vrrp_stats stats;    /* a copy of vrrp_get_stats() */
	bool vip_held;              /* we put the VIPs on the interface */
	uint64_t vip_restored;      /* VIPs removed by someone while MASTER, put back */
	struct notify_stats notify; /* zero without [ha] notify */
	struct track_item_status tracks[TRACK_MAX_ITEMS]; /* shared by the instances */
	size_t ntracks;
	bool has_v6;          /* IPv6 VIPs ([ha] only): v6 is filled */
	struct ha6_status v6; /* the IPv6 family (ha6.h) */
};
/* The first instance's. */
void ha_get_status(const struct ha *ha, struct ha_status *out);
/* How many instances (1 + the [vrrp NAME] sections), and instance i's
 * status (0 <= i < ha_instances()). */
size_t ha_instances(const struct ha *ha);
void ha_get_instance_status(const struct ha *ha, size_t i, struct ha_status *out);
/* The other balancers (`andromedactl peers`, and "peers" in status): the
 * election's peers merged with the nnodes sync nodes (sync_nodes(); may
 * be 0), see ha_peers_merge() in peers.h.  Writes at most max entries to
 * out and returns how many. */
size_t ha_get_peers(const struct ha *ha, const struct sync_node *nodes, size_t nnodes,
		    struct ha_peer *out, size_t max);

/* The election's inputs sync gives the first instance directly (sync.h
 * knows one struct vrrp): the daemon passes them on to the others. */
void ha_source_proven(struct ha *ha, struct in_addr src);
void ha_source_key_differs(struct ha *ha, struct in_addr src);
void ha_hold_preempt(struct ha *ha, uint64_t until_ms);
/* The MASTER restarts (sync BYE "restart"): instances 1.. and the IPv6
 * family hold their takeover for hold_ms (vrrp_hold_restart; sync holds
 * instance 0). */
void ha_hold_restart(struct ha *ha, uint32_t hold_ms);
/* The crash detector: our sync session to peer was reset by its kernel
 * (its process died).  Each other instance in BACKUP whose MASTER peer
 * was takes it as a priority-0 advert (vrrp_master_lost: Skew_Time). */
void ha_peer_lost(struct ha *ha, struct in_addr peer);
/* A session peer held to us ended by its kernel (sync.h, peer_closed):
 * if peer is the MASTER of an instance other than the first where we
 * are BACKUP, check whether its process is gone (ha/peer_check.h), and
 * if so, those instances take over: at once when we are MASTER of the
 * first instance and know no other live balancer (successor_inst_now(),
 * hooks.others_alive), else as ha_peer_lost(). */
void ha_peer_closed(struct ha *ha, struct in_addr peer);

/* Which of n instances (their VRIDs) a raw IPv4 VRRP packet is for: the
 * index of its VRID, or 0 (the first instance, whose parser counts the
 * drop) when no instance has it or the packet is too short to say.
 * Pure. */
size_t ha_demux(const uint8_t *vrids, size_t n, const void *pkt, size_t len);

/* `andromeda --release`: remove the VIPs of every instance from the interface
 * (ExecStopPost=, after a crash).  Returns 0 or -errno. */
int ha_release_vips(const struct config *cfg);

#endif
