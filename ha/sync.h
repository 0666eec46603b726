/* sync.h - state replication between balancers (SPEC "HA module").
 *
 * The MASTER multicasts (or sends to the unicast peers) a full snapshot of
 * its pool every sync interval, and a delta for each change in between,
 * over UDP on the sync port.  BACKUPs apply them in sequence; a gap makes
 * them ask for a snapshot.
 *
 * Each BACKUP also holds a TCP session to the MASTER's sync port (address
 * from the MASTER's adverts): snapshot requests and answers go over it, and
 * it is a crash detector - when the MASTER's process dies its kernel closes
 * the session at once, and the BACKUP reacts as to a priority-0 advert
 * (vrrp_master_lost: take over after Skew_Time), or, when the MASTER named
 * a successor on the session (successor.h), that one takes over at once
 * and the others keep the RFC timer.  A stopped-but-alive
 * MASTER or a pulled cable still goes the RFC way (Master_Down_Interval).
 *
 * Every message is authenticated (msg.h); forged, replayed or malformed
 * ones are dropped and counted per cause.  A balancer that proves the key
 * here is what makes its VRRP adverts count (vrrp_source_proven,
 * ha/vrrp_auth.h). */
#ifndef ANDROMEDA_SYNC_H
#define ANDROMEDA_SYNC_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "liveness.h"
#include "msg.h"

struct loop;
struct config;
struct pool;
struct vrrp;
struct sync;
struct tls_keys;

struct sync_hooks {
	/* A snapshot or delta was applied on a BACKUP (journal it): a delta
	 * always, a snapshot only when it moved the state (another MASTER or
	 * another state sequence), never for the periodic repeat. */
	void (*applied)(void *arg, uint64_t state_seq, bool snapshot, const char *from);
	void *arg;
	/* The TLS ticket key ring to replicate (NULL: none): a MASTER sends
	 * it (sessions, and UDP when it changed), a BACKUP takes the MASTER's
	 * (sync_tls.c). */
	struct tls_keys *tls_keys;
	/* What sync tells the election (the vrrp of sync_open) also concerns
	 * the other VRRP instances (ha.h "Instances"): vrrp_source_proven,
	 * vrrp_source_key_differs and vrrp_hold_preempt for them, and
	 * peer_lost when our session to the MASTER peer was reset by its
	 * kernel (its crash).  Each may be NULL. */
	void (*proven)(void *arg, struct in_addr src);
	void (*key_differs)(void *arg, struct in_addr src);
	void (*hold_preempt)(void *arg, uint64_t until_ms);
	void (*peer_lost)(void *arg, struct in_addr peer);
	/* Our MASTER's BYE "restart": the other instances hold their
	 * takeover for hold_ms too (vrrp_hold_restart). */
	void (*hold_restart)(void *arg, uint32_t hold_ms);
	/* A BACKUP's session to us (it proved the key under its own
	 * address and was served our snapshot) was ended by its kernel
	 * without a BYE: its crash, or a close on purpose (it follows
	 * another MASTER); the caller may check (ha/peer_check.h).  May be
	 * NULL. */
	void (*peer_closed)(void *arg, struct in_addr peer);
};

/* How long a BACKUP waits for a MASTER that said BYE "restart" (a
 * systemctl restart: the stop, ExecStopPost, ExecStartPre and the start
 * of the next process; an upgrade's next process advertises at once). */
#define SYNC_RESTART_HOLD_MS 5000

/* Open the UDP channel and the TCP listener on cfg->ha.sync_port.  self:
 * our primary address (the envelope's sender id).  Returns 0 or -errno. */
int sync_open(struct sync **out, struct loop *loop, const struct config *cfg, struct pool *pool,
	      struct vrrp *vrrp, const struct msg_key *key, struct in_addr self,
	      const struct sync_hooks *hooks);
void sync_close(struct sync *s);
/* The same for a hitless upgrade: the BYE says "restart", which the
 * peers' crash detector does not read as this node leaving (the next
 * process serves the sessions again).  NULL is a no-op. */
void sync_close_restart(struct sync *s);
/* Our primary address changed (boot order: it came after sync_open): the
 * envelope's sender id from now on. */
void sync_set_self(struct sync *s, struct in_addr self);

/* The election moved: MASTER starts sending, BACKUP follows a master. */
void sync_role_changed(struct sync *s);

/* An advert came from addr, which has not proven the cluster key (issue
 * 20, vrrp_auth.h): open a short session to its sync port so it can (the
 * HELLO exchange; then vrrp_source_proven and the session closes).  At
 * most one attempt per address every SYNC_PROBE_RETRY_MS and
 * SYNC_MAX_PROBES at a time; a probe not proven within
 * SYNC_PROBE_TIMEOUT_MS is closed. */
void sync_probe(struct sync *s, struct in_addr addr);

/* A balancer known from sync: the MASTER we follow (from its snapshots)
 * or a BACKUP that holds a session to us (from its requests). */
struct sync_node {
	struct in_addr addr;
	char name[64];
	uint8_t priority;    /* 0 when unknown */
	bool backup_session; /* a BACKUP connected to us right now */
	uint64_t last_ms;    /* loop time it was last heard (a BACKUP: every
			      * advert interval, MSG_ALIVE) */
};
#define SYNC_MAX_NODES 32 /* sync_nodes() never returns more */
size_t sync_nodes(const struct sync *s, struct sync_node *out, size_t max);

/* What `andromedactl status` shows of replication ("sync", rendered by
 * core/daemon/ctl_ha.c). */
struct sync_stats {
	uint64_t state_seq;
	int64_t last_snapshot_age_ms; /* since the last snapshot sent (MASTER) or applied; -1: none
				       */
	bool has_session; /* BACKUP: a session to the MASTER exists (perhaps connecting) */
	struct in_addr session_peer; /* its address, when has_session */
	bool session_up;             /* that session is connected */
	struct in_addr successor;    /* named by us (MASTER) or our MASTER; 0.0.0.0: none */
	unsigned sessions_served;    /* BACKUPs holding a session to us */
	uint64_t snapshots_sent, deltas_sent, snapshots_applied, deltas_applied;
	uint64_t gaps;            /* deltas missed: a snapshot was asked for */
	uint64_t master_lost;     /* the MASTER's session closed: taken as its crash */
	uint64_t bad_payload;     /* authenticated, but not a valid payload */
	uint64_t requests_served; /* snapshot requests answered */
	uint64_t byes_sent, byes_received;
	uint64_t drops[MSG_DROP_NCAUSES]; /* dropped by the envelope, by cause ([0] unused) */
	struct liveness_status liveness;  /* issue 15: the fast liveness exchange */
};
void sync_get_stats(const struct sync *s, struct sync_stats *out);

#endif
