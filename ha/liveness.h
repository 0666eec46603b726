/* liveness.h - fast liveness between balancers over the sync channel
 * (issue 15, `[ha] liveness_interval`): the pure rules, no I/O.
 *
 * BFD (RFC 5880) is the model.  Every liveness_interval the MASTER sends a
 * small authenticated MSG_LIVENESS datagram on the sync port (the group,
 * or each unicast peer), and each BACKUP whose session to it is proven
 * sends one back to it.  A path is DOWN until LIVENESS_UP_MIN packets came
 * in a row, each within the detection time of the one before; it is UP
 * then, and DOWN again after LIVENESS_DETECT_MULT intervals of silence
 * (the detection time: 60 ms at the default 20 ms).
 *
 * A silent MASTER path is only a suspicion: liveness_judge() says what a
 * BACKUP may do.  Only the MASTER's named successor (successor.h) moves
 * early, and only when its own link works, the path was UP before the
 * silence, the MASTER's VRRP advert is overdue too, and (the caller's
 * last step, liveness_io.c) the MASTER's kernel does not answer a TCP SYN
 * to its sync port: a loaded or lossy but powered MASTER answers that from
 * its kernel; a power cut, a hung kernel or a dead cable does not.
 * docs/vrrp.md "Fast liveness" says why this gives no false takeover. */
#ifndef ANDROMEDA_LIVENESS_H
#define ANDROMEDA_LIVENESS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LIVENESS_DETECT_MULT 3  /* BFD's Detect Mult: intervals of silence */
#define LIVENESS_UP_MIN      10 /* packets in a row before a path is UP */

enum liveness_state {
	LIVE_OFF,  /* liveness_interval = 0, or nothing to watch (no MASTER) */
	LIVE_DOWN, /* never heard, or silent for the detection time */
	LIVE_INIT, /* hearing it, not yet LIVENESS_UP_MIN packets in a row */
	LIVE_UP,   /* healthy: its silence means something */
	LIVE_NSTATES
};

/* One peer's packets as seen here. */
struct liveness_path {
	enum liveness_state state;
	uint32_t interval_ms; /* the sender's, from its packets */
	uint64_t last_rx_ms;  /* loop time of its last packet, 0 = never */
	uint32_t run;         /* packets in a row, no gap over the detection time */
	uint64_t rx;          /* packets accepted */
	uint64_t downs;       /* UP -> DOWN: silences detected */
};

/* Detection time of a path: LIVENESS_DETECT_MULT x its sender's interval. */
uint32_t liveness_detect_ms(const struct liveness_path *p);
/* A packet from the path's peer at now, announcing its interval (ms, >0). */
void liveness_path_rx(struct liveness_path *p, uint64_t now_ms, uint32_t interval_ms);
/* Silence check at now: an UP or INIT path silent for its detection time
 * goes DOWN.  Returns true when an UP path just went DOWN (a silence
 * detected; counted in downs). */
bool liveness_path_expire(struct liveness_path *p, uint64_t now_ms);
/* Loop time at which the path goes DOWN if nothing comes; 0 when DOWN. */
uint64_t liveness_path_deadline(const struct liveness_path *p);

/* What a BACKUP knows when its MASTER's path falls silent. */
struct liveness_gate {
	bool backup;            /* our VRRP state is BACKUP */
	bool link_up;           /* carrier and an address, no weight-0 track down */
	bool successor;         /* our MASTER named us its successor */
	bool have_state;        /* we applied our MASTER's snapshot */
	bool was_up;            /* its path was UP when it fell silent */
	uint64_t silent_ms;     /* since its last liveness packet */
	uint32_t detect_ms;     /* its detection time */
	uint64_t advert_age_ms; /* since its last VRRP advert that counted (UINT64_MAX: never) */
	uint32_t master_adver_interval_ms; /* Master_Adver_Interval (status, logs) */
	uint32_t liveness_interval_ms;     /* ours */
};

enum liveness_verdict {
	LIVE_KEEP,        /* not silent: nothing to do */
	LIVE_NOT_OURS,    /* silent, but we do not move early: RFC timers */
	LIVE_WAIT_ADVERT, /* silent, the advert not overdue yet: ask again at
			   * liveness_advert_due_ms() */
	LIVE_CONFIRM,     /* check the MASTER's kernel; take over if it is silent too */
	LIVE_NVERDICTS
};

/* The advert age from which the MASTER's adverts count as missed too:
 * the path's detection time (no advert came while the liveness packets
 * were missing: 60 % of a 100 ms interval at the defaults; a MASTER that
 * still advertises is not dead, whatever liveness says). */
uint64_t liveness_advert_due_ms(const struct liveness_gate *g);
/* The rule.  A node without a link never moves on liveness; neither does
 * one that is not the named successor, has not the MASTER's state, or
 * never saw the path UP (a MASTER without liveness, a path that never
 * worked). */
enum liveness_verdict liveness_judge(const struct liveness_gate *g);

/* What the outcome of one kernel-check SYN (its SO_ERROR) says.  A
 * SYN-ACK (0) or a reset, before the connection (ECONNREFUSED) or after
 * it (ECONNRESET: accepted from the backlog by a listener whose process
 * then died), is the MASTER's kernel answering; the resets also say its
 * process is gone.  Anything else (a route or host error) is no answer. */
enum liveness_syn {
	LIVE_SYN_NO_ANSWER,
	LIVE_SYN_ALIVE, /* its kernel and a listener answer */
	LIVE_SYN_GONE,  /* its kernel answers, nobody listens any more */
};
enum liveness_syn liveness_syn_outcome(int so_error);

/* MSG_LIVENESS's payload (8 bytes, big-endian): u32 interval_ms, u8 role
 * of the sender (1 MASTER, 2 BACKUP), u8 the sender's state of its path to
 * the receiver (enum liveness_state; BFD's three-way word, for status),
 * u16 reserved (0).  Encode returns the length or -ENOSPC, decode 0 or
 * -EINVAL (length, interval 0, unknown role). */
#define LIVENESS_PAYLOAD_LEN 8
#define LIVENESS_ROLE_MASTER 1
#define LIVENESS_ROLE_BACKUP 2
struct liveness_msg {
	uint32_t interval_ms;
	uint8_t role;
	uint8_t heard; /* enum liveness_state */
};
int liveness_encode(const struct liveness_msg *m, uint8_t *out, size_t cap);
int liveness_decode(const uint8_t *buf, size_t len, struct liveness_msg *m);

/* What `andromedactl status` shows (sync.liveness): the path that
 * matters here - a BACKUP's to its MASTER, a MASTER's to its named
 * successor - and the counters. */
struct liveness_status {
	uint32_t interval_ms;      /* ours; 0 = off */
	uint32_t detect_ms;        /* the watched path's detection time */
	enum liveness_state state; /* of the watched path (LIVE_OFF: none) */
	struct in_addr peer;       /* the watched peer, 0.0.0.0 if none */
	int64_t last_seen_ms;      /* since its last packet; -1: never */
	unsigned paths_up;         /* peers whose path is UP */
	uint64_t sent, received;
	uint64_t silences;  /* an UP path from our MASTER fell silent */
	uint64_t confirms;  /* ... and we checked its kernel (we are its successor) */
	uint64_t vetoed;    /* ... which answered: no early takeover */
	uint64_t takeovers; /* ... which did not: we took over early */
};

/* "off", "down", "init", "up". */
const char *liveness_state_name(enum liveness_state s);

#endif
