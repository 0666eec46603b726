/* sync_int.h - what ha/sync.c and ha/sync_session.c share, and nothing
 * else includes: the replication object and the calls from the sessions
 * into the state side.  sync.c owns the object (state, UDP channel,
 * message intake); sync_session.c owns the fields marked "sessions".
 * Single-threaded: everything runs on the daemon's event loop. */
#ifndef ANDROMEDA_SYNC_INT_H
#define ANDROMEDA_SYNC_INT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "acceptor.h"
#include "list.h"
#include "log.h"
#include "loop.h"
#include "msg.h"
#include "sync.h"

#define SYNC_MAX_SESSIONS SYNC_MAX_NODES /* accepted sessions, and nodes remembered */
#define SYNC_MAX_PROBES   4              /* probe sessions open at a time (sync_probe) */
#define SYNC_PROBE_MEMORY 16             /* addresses whose last probe time is kept */

struct session;  /* sync_session.c */
struct liveness; /* liveness_io.c */
struct snap_asm; /* sync.c: reassembly of one snapshot */
struct sync_inflight_state;

struct sync_counters {
	uint64_t tx_snapshots, tx_deltas, rx_snapshots, rx_deltas;
	uint64_t gaps, requests_served;
	uint64_t master_lost, bad_payload;
	uint64_t byes_sent, byes_received;
	uint64_t drops[MSG_DROP_NCAUSES];
};

struct sync {
	uint8_t bye_reason; /* sent to the accepted sessions on close (0: shutdown) */
	struct loop *loop;
	const struct config *cfg;
	struct pool *pool;
	struct vrrp *vrrp;
	const struct msg_key *key;
	struct in_addr self;
	struct sync_hooks hooks;
	int udp_fd, tcp_fd;           /* tcp_fd: sessions' listener */
	struct acceptor tcp_acceptor; /* sessions: on tcp_fd, the out-of-fd policy */
	struct sockaddr_in group;
	uint64_t tx_seq;
	struct msg_replay replay_udp, replay_tcp;
	uint64_t state_seq;
	uint32_t applied_from; /* sender whose state we follow */
	uint32_t snap_id;
	bool applying; /* our own pool changes are not deltas */
	struct snap_asm *asm_;
	struct session *up; /* sessions: BACKUP -> MASTER */
	uint64_t up_attempt_ms;
	uint64_t alive_ms;    /* sessions: BACKUP, last MSG_ALIVE or request sent on up */
	struct list accepted; /* sessions: incoming, from BACKUPs */
	unsigned naccepted;
	struct list probes; /* sessions: outgoing, to prove an advert's source */
	unsigned nprobes;
	struct {
		struct in_addr addr;
		uint64_t at_ms;
	} probed[SYNC_PROBE_MEMORY]; /* sessions: when each address was last probed */
	struct loop_timer snap_timer, poll_timer;
	uint64_t last_snapshot_ms; /* monotonic, sent (MASTER) or applied */
	struct sync_counters c;
	struct log_limit drop_limit[MSG_DROP_NCAUSES];
	struct log_limit send_limit;
	struct in_addr successor;   /* sessions: MASTER, the BACKUP named (successor.h) */
	struct peer_check *confirm; /* the named successor's check of a lost MASTER */
	struct sync_node nodes[SYNC_MAX_SESSIONS];
	unsigned nnodes;
	uint64_t tls_udp_gen, tls_udp_ms;     /* sync_tls.c: the ring last multicast */
	struct sync_inflight_state *inflight; /* sync_inflight.c; NULL until used */
	struct liveness *live;                /* liveness_io.c, NULL when off */
};

/* The envelope of every message we send: our sender id, the next
 * sequence.  Returns its length or -errno (msg_encode). */
int sync_envelope(struct sync *s, uint8_t type, const uint8_t *payload, size_t len, uint8_t *out,
		  size_t cap);
/* One datagram (ss NULL) or one framed session message: verify, check
 * for replay (HELLO excepted: its echo is its proof), dispatch.  May mark
 * ss dead, never frees it. */
void sync_rx_message(struct sync *s, struct session *ss, const uint8_t *buf, size_t len,
		     struct in_addr from);
/* src proved the cluster key (vrrp_source_proven, for every VRRP
 * instance); no preemption before until_ms (vrrp_hold_preempt, 0
 * releases), likewise. */
void sync_source_proven(struct sync *s, struct in_addr src);
void sync_hold_preempt(struct sync *s, uint64_t until_ms);
/* Our MASTER's BYE "restart": hold every instance's takeover. */
void sync_hold_restart(struct sync *s);
/* One datagram to the group (or each unicast peer). */
void sync_udp_send(struct sync *s, const uint8_t *buf, size_t len);
/* Count a dropped message (and say so, once a minute per cause). */
void sync_count_drop(struct sync *s, enum msg_drop why, struct in_addr from);
/* BACKUP: ask the MASTER for a snapshot on our session, once it is
 * proven (a no-op before). */
void sync_request_snapshot(struct sync *s);
/* BACKUP: tell the MASTER we are alive (MSG_ALIVE) on our proven
 * session, so it can show when it last heard us (backups send no VRRP
 * adverts).  true if queued. */
bool sync_say_alive(struct sync *s);
/* A BACKUP's session to us ended: it is no longer "connected" in
 * `andromedactl peers`. */
void sync_node_gone(struct sync *s, struct in_addr peer);

/* sync_tls.c: the ticket key ring (s->hooks.tls_keys).  The MASTER's
 * MSG_TLS_KEYS envelope into out (rotating first when due): its length,
 * or 0 when there is nothing to send (no ring; over UDP, ss NULL, the
 * ring is sent when it changed and every SYNC_TLS_REPEAT_MS), or -errno.
 * On a session, always (it answers a snapshot request). */
int sync_tls_build(struct sync *s, const struct session *ss, uint8_t *out, size_t cap);
/* A MSG_TLS_KEYS received (verified, fresh): a BACKUP takes the ring. */
void sync_tls_rx(struct sync *s, const struct msg *m);
/* The role moved: a MASTER makes keys, a BACKUP follows. */
void sync_tls_role(struct sync *s, bool master);

#endif
