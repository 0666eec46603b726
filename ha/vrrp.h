/* vrrp.h - the VRRPv3 election state machine (RFC 5798 section 6, RFC 9568
 * section 6), one virtual router on one interface, IPv4.
 *
 * The state machine owns no socket and touches no kernel state: every side
 * effect goes through the caller's struct vrrp_ops, and every input is a
 * function below.  Timers (Master_Down_Timer, Adver_Timer) are struct
 * loop_timer handles inside struct vrrp, driven by the caller's loop.
 *
 * Inputs:  vrrp_start, vrrp_stop, vrrp_recv_packet / vrrp_input_advert,
 *          vrrp_input_master_down, vrrp_input_adver_timer (the two timer
 *          callbacks; public so tests can fire them), vrrp_link_down,
 *          vrrp_link_up, vrrp_master_lost, vrrp_source_proven,
 *          vrrp_set_priority, vrrp_track_fault (ha/track.h).
 * Outputs: vrrp_ops callbacks; vrrp_get_status, vrrp_get_stats, vrrp_get_peers.
 *
 * The diagram of states and transitions is at the top of vrrp.c and in
 * docs/vrrp.md. */
#ifndef ANDROMEDA_VRRP_H
#define ANDROMEDA_VRRP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vrrp_packet.h"

struct loop;
struct config;
struct vrrp;

enum vrrp_state {
	VRRP_INIT,
	VRRP_BACKUP,
	VRRP_MASTER,
	VRRP_FAULT,
	VRRP_NSTATES
};

/* Side effects, supplied by the caller (the daemon's HA glue, or a test).
 * ctx is the pointer given to vrrp_create().  Callbacks must not call back
 * into the same struct vrrp (no re-entrancy): queue instead. */
struct vrrp_ops {
	/* Send one advertisement with this priority (0 = releasing) to
	 * 224.0.0.18 or to every unicast peer.  Build it with vrrp_advert_fill().
	 * Returns 0 or -errno (counted in tx_errors; the election goes on). */
	int (*send_advert)(void *ctx, uint8_t priority);
	/* Add / remove every VIP on the HA interface.  0 or -errno.  A failed
	 * vip_add is logged and counted; the node stays MASTER (other nodes
	 * must not take over a VIP that the kernel may half-hold). */
	int (*vip_add)(void *ctx);
	int (*vip_remove)(void *ctx);
	/* Start a gratuitous ARP burst for every VIP (on becoming MASTER, and
	 * again when a split brain heals in our favour). */
	void (*garp_burst)(void *ctx);
	/* Called after every transition, once the entry action has run.
	 * reason is a short text valid only during the call.  May be NULL. */
	void (*notify)(void *ctx, enum vrrp_state from, enum vrrp_state to, const char *reason);
	/* An advert from src was dropped because src has not proven the
	 * cluster key (interop = no, vrrp_auth.h): the caller may ask the
	 * sync channel to let it prove the key (then vrrp_source_proven).
	 * Called for every such advert; rate-limit on your side.  May be
	 * NULL. */
	void (*unproven_source)(void *ctx, struct in_addr src);
};

/* Who a peer probably is, from its adverts alone (backups are silent in
 * VRRP, so a node that never was MASTER is never heard). */
enum vrrp_peer_role {
	VRRP_PEER_UNKNOWN,  /* a configured unicast peer not heard yet */
	VRRP_PEER_MASTER,   /* advertised within 3 x its interval */
	VRRP_PEER_RELEASED, /* its last advert had priority 0 (stopping) */
	VRRP_PEER_SILENT,   /* was MASTER, silent for > 3 x its interval: BACKUP or gone */
};

#define VRRP_MAX_PEERS 32

struct vrrp_peer {
	struct in_addr addr;      /* its primary address (advert source) */
	struct in6_addr addr6;    /* IPv6 family: its link-local address */
	uint8_t priority;         /* last advertised */
	uint16_t interval_cs;     /* last advertised */
	uint64_t last_seen_ms;    /* loop monotonic ms, 0 = never */
	uint64_t adverts;         /* valid adverts received from it */
	enum vrrp_peer_role role; /* computed when read */
};

struct vrrp_status {
	enum vrrp_state state;
	uint8_t vrid;
	uint8_t priority;      /* effective: base moved by the tracked items */
	uint8_t base_priority; /* [ha] priority */
	bool preempt;
	bool vip_held; /* vip_add succeeded and no vip_remove since */
	bool link_up;
	bool track_fault;                  /* a weight-0 tracked item is down */
	uint32_t adver_interval_ms;        /* ours (Advertisement_Interval) */
	uint32_t master_adver_interval_ms; /* learned from the master (6.4.2) */
	uint32_t skew_time_ms;             /* from our priority and the above */
	uint32_t master_down_interval_ms;
	struct in_addr primary;   /* ours */
	struct in_addr master;    /* last master heard, 0.0.0.0 if none (us when MASTER) */
	uint8_t family;           /* 0 (IPv4) or AF_INET6: then the two below instead */
	struct in6_addr primary6; /* our link-local address */
	struct in6_addr master6;
	uint8_t master_priority;
	uint64_t master_down_at_ms; /* absolute loop time, 0 = not armed */
	uint64_t adver_at_ms;       /* absolute loop time, 0 = not armed */
	uint64_t preempt_at_ms;     /* preemption allowed from this loop time */
	uint64_t since_ms;          /* loop time of the last transition */
	char reason[96];            /* reason of the last transition */
};

struct vrrp_stats {
	uint64_t rx_adverts;                /* valid adverts processed */
	uint64_t rx_drops[VRRP_RX_NCAUSES]; /* dropped, by cause ([VRRP_RX_OK] unused) */
	uint64_t rx_addr_mismatch;          /* VIP list differs from ours: accepted (7.1 MAY) */
	uint64_t rx_interval_mismatch;      /* interval differs from ours: accepted, learned */
	uint64_t rx_preempt_discards;       /* BACKUP discarded a lower-priority advert (6.4.2) */
	uint64_t split_brain;               /* MASTER saw a lower-priority MASTER */
	uint64_t tx_adverts;
	uint64_t tx_errors;
	uint64_t vip_errors; /* vip_add / vip_remove failures */
	uint64_t transitions;
	uint64_t entered[VRRP_NSTATES]; /* transitions into each state */
};

/* Create the state machine in INIT from cfg->ha (vrid, priority,
 * advert_interval_ms, preempt, preempt_delay_ms, vips, peers,
 * checksum_rfc5798, interop).  primary is our primary IPv4 address on the HA
 * interface (tie-breaker and own-advert filter); 0.0.0.0 when it has none
 * yet (boot order): the node then stays in FAULT until vrrp_set_primary()
 * gives it one.  ops must outlive v; cfg is copied from.  Returns 0,
 * -EINVAL (vrid 0, priority 0, interval not 10..40950 ms) or -ENOMEM. */
int vrrp_create(struct loop *loop, const struct config *cfg, struct in_addr primary,
		const struct vrrp_ops *ops, void *ctx, struct vrrp **out);
/* The IPv6 family's election (VRRPv3 over IPv6, docs/vrrp.md#ipv6): as
 * vrrp_create(), but it advertises cfg->ha.vips6, its primary is our
 * link-local address (:: while none: FAULT until vrrp_set_primary6), it
 * is multicast only (ff02::12) and takes IPv6 adverts
 * (vrrp_recv_parsed).  Its adverts count only with cfg->ha.interop: the
 * cluster key is proven over IPv4 addresses. */
int vrrp_create6(struct loop *loop, const struct config *cfg, const struct in6_addr *linklocal,
		 const struct vrrp_ops *ops, void *ctx, struct vrrp **out);
/* Our link-local address changed (:: = none left): as vrrp_set_primary. */
void vrrp_set_primary6(struct vrrp *v, const struct in6_addr *linklocal);
/* Cancel the timers and free.  Sends nothing: call vrrp_stop() first for
 * a graceful release. */
void vrrp_destroy(struct vrrp *v);

/* Startup event (6.4.1): INIT -> BACKUP, or -> MASTER at once if priority
 * is 255 (address owner; the config loader refuses it), or -> FAULT if the
 * link was reported down while in INIT or we have no address (0.0.0.0).
 * Starts the preempt_delay window.  No-op outside INIT. */
void vrrp_start(struct vrrp *v);
/* Hitless upgrade: the process we replace was MASTER, so start as MASTER
 * at once (advert now, before any backup's Master_Down_Timer can fire;
 * the VIP is already on the interface).  Without link or address: as
 * vrrp_start().  why is logged as the transition's reason. */
void vrrp_start_master(struct vrrp *v, const char *why);
/* Shutdown event (6.4.2, 6.4.3): a MASTER sends an advert with priority 0
 * (so a backup takes over after Skew_Time) and removes its VIPs; every
 * state then goes to INIT. */
void vrrp_stop(struct vrrp *v);

/* A raw IPv4 packet from the VRRP socket.  Validated (vrrp_packet_parse,
 * then own address, unicast-peer filter and, unless interop, a source
 * that proved the cluster key: vrrp_auth.h); a drop is counted by cause
 * and logged at most once per cause per minute; a valid advert goes to
 * vrrp_input_advert(). */
void vrrp_recv_packet(struct vrrp *v, const void *pkt, size_t len);
/* An advert a codec already parsed (r: its verdict; the IPv6 socket's
 * path, vrrp6_msg_parse): the checks and accounting of
 * vrrp_recv_packet() from there on.  An advert of the other family is
 * dropped as VRRP_RX_NOT_VRRP. */
void vrrp_recv_parsed(struct vrrp *v, enum vrrp_rx_result r, const struct vrrp_advert *a);
/* A validated advert (6.4.2 / 6.4.3 "ADVERTISEMENT received").  Updates
 * the peer table. */
void vrrp_input_advert(struct vrrp *v, const struct vrrp_advert *adv);
/* Master_Down_Timer fired (6.4.2): BACKUP -> MASTER. */
void vrrp_input_master_down(struct vrrp *v);
/* Adver_Timer fired (6.4.3): MASTER sends an advert and re-arms. */
void vrrp_input_adver_timer(struct vrrp *v);
/* Carrier lost on the HA interface: BACKUP/MASTER -> FAULT (stop
 * advertising, VIPs removed).  In INIT, remembered for vrrp_start(). */
void vrrp_link_down(struct vrrp *v);
/* Carrier back: FAULT -> BACKUP (as after startup, preempt_delay again),
 * unless we have no address yet (then FAULT until vrrp_set_primary). */
void vrrp_link_up(struct vrrp *v);
/* The crash detector (TCP session to the master's sync port) was reset:
 * in BACKUP, treated as a priority-0 advert, Master_Down_Timer =
 * Skew_Time.  Ignored in other states. */
void vrrp_master_lost(struct vrrp *v);
/* The crash detector fired and the MASTER had named us its successor
 * (ha/successor.h): in BACKUP, Master_Down_Timer = 0 (take over on the
 * loop's next turn, not inside the caller).  Ignored in other states. */
void vrrp_successor_takeover(struct vrrp *v);
/* The fast liveness (ha/liveness.h) found the MASTER silent, its advert
 * overdue and its kernel mute, and the MASTER had named us its
 * successor: in BACKUP, Master_Down_Timer = 0 (as above).  Ignored in
 * other states. */
void vrrp_liveness_takeover(struct vrrp *v);
/* Issue 16: the MASTER of this instance (not the first) is gone, its
 * kernel said so, and we know no other live node that could take it
 * (ha.c, successor_inst_now()): in BACKUP, Master_Down_Timer = 0.
 * Ignored in other states. */
void vrrp_alone_takeover(struct vrrp *v);

/* src proved the cluster key just now (ha/sync*.c): its adverts count
 * for VRRP_AUTH_FRESH_MS from now.  If an advert of src was dropped as
 * unauthenticated within its last three intervals, it is fed to
 * vrrp_input_advert() now, so a MASTER may step down inside this call
 * (never a move to MASTER: only timers make one). */
void vrrp_source_proven(struct vrrp *v, struct in_addr src);

/* A sync message from src failed our MAC (ha/sync.c): a balancer with
 * another key_file.  While it advertises, a BACKUP neither follows it nor
 * takes over from it (whatever its priority); a held advert of src is
 * applied so now.  Never changes the state. */
void vrrp_source_key_differs(struct vrrp *v, struct in_addr src);

/* The effective priority (track.h) changed.  A MASTER advertises it at
 * once (a BACKUP with a higher one and preempt then takes over after its
 * Master_Down_Interval); a BACKUP's Skew_Time follows from its next
 * advert on.  priority 1..254. */
void vrrp_set_priority(struct vrrp *v, uint8_t priority, const char *why);
/* A weight-0 tracked item went down (on) or back up (off): like a link
 * down, BACKUP/MASTER -> FAULT, except that the HA link works, so a
 * MASTER first releases with a priority-0 advert (the best backup takes
 * over after its Skew_Time).  FAULT is left when the link, an address
 * and every tracked item are there.  In INIT, remembered for
 * vrrp_start(). */
void vrrp_track_fault(struct vrrp *v, bool on, const char *why);

/* Our primary address changed (the tie-breaker and own-advert filter).
 * 0.0.0.0 (the last address went): BACKUP/MASTER -> FAULT.  An address
 * after none, with the link up: FAULT -> BACKUP (as vrrp_link_up). */
void vrrp_set_primary(struct vrrp *v, struct in_addr primary);
/* Do not preempt a live MASTER before until_ms (loop time; 0 releases):
 * a restarted better node first takes the MASTER's state (ha/sync.c),
 * then takes over, instead of serving an empty pool. */
void vrrp_hold_preempt(struct vrrp *v, uint64_t until_ms);

/* Our MASTER restarts (its sync BYE "restart", systemctl restart): as a
 * BACKUP, do not take over for hold_ms, whatever arms Master_Down_Timer
 * (silence, the crash detector, the successor, liveness), except its
 * priority-0 advert; its next advert ends the hold. */
void vrrp_hold_restart(struct vrrp *v, uint32_t hold_ms);

/* Fill *adv for sending: our vrid, this priority, our interval, our VIPs,
 * our checksum variant.  src and dst are left 0.0.0.0 for the sender. */
void vrrp_advert_fill(const struct vrrp *v, uint8_t priority, struct vrrp_advert *adv);

enum vrrp_state vrrp_get_state(const struct vrrp *v);
void vrrp_get_status(const struct vrrp *v, struct vrrp_status *out);
const struct vrrp_stats *vrrp_get_stats(const struct vrrp *v);
/* Copy up to max peers (each with its role computed now) into out;
 * returns how many were copied. */
size_t vrrp_get_peers(const struct vrrp *v, struct vrrp_peer *out, size_t max);

/* "INIT", "BACKUP", "MASTER", "FAULT" (the names in andromedactl status). */
const char *vrrp_state_name(enum vrrp_state s);
/* "unknown", "MASTER", "released", "silent". */
const char *vrrp_peer_role_name(enum vrrp_peer_role r);

/* RFC 5798 6.1 timer arithmetic, in milliseconds.  The RFC counts in
 * centiseconds and truncates Skew_Time to whole centiseconds; we keep
 * millisecond precision: Skew_Time = ((256 - priority) * interval_ms) / 256
 * truncated to ms.  Master_Down_Interval = 3 * interval_ms + Skew_Time. */
uint32_t vrrp_skew_time_ms(uint8_t priority, uint32_t master_adver_interval_ms);
uint32_t vrrp_master_down_interval_ms(uint8_t priority, uint32_t master_adver_interval_ms);

#endif
