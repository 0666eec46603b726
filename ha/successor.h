/* successor.h - the MASTER's named successor (issue 15): pure rules, no I/O.
 *
 * The MASTER knows its BACKUPs through their sync sessions (priority from
 * their requests, whether they took its snapshot).  It names one of them,
 * the successor, on every session (MSG_SUCCESSOR).  When the crash detector
 * fires (the MASTER's kernel closed our session: its process died), the
 * named successor takes over at once, without Skew_Time; every other BACKUP
 * that was told of a successor leaves its Master_Down_Timer alone (RFC
 * timing, Master_Down_Interval after the last advert), so only one node
 * moves early.  docs/vrrp.md "Named successor" says why this is safe. */
#ifndef ANDROMEDA_SUCCESSOR_H
#define ANDROMEDA_SUCCESSOR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A BACKUP the MASTER could name. */
struct successor_cand {
	struct in_addr addr;
	uint8_t priority; /* from its requests; 0 = unknown: never named */
	bool ready;       /* proved the key and was served our snapshot */
};

/* The best ready candidate: highest priority, then (RFC 5798 6.4.3 tie
 * break) highest address.  0.0.0.0 when none is ready. */
struct in_addr successor_choose(const struct successor_cand *c, size_t n);

/* MSG_SUCCESSOR's payload: the successor's address (4 bytes, network
 * order; 0.0.0.0 = none).  Encode returns the length or -ENOSPC, decode 0
 * or -EINVAL. */
#define SUCCESSOR_PAYLOAD_LEN 4
int successor_encode(struct in_addr succ, uint8_t *out, size_t cap);
int successor_decode(const uint8_t *buf, size_t len, struct in_addr *succ);

/* What a BACKUP does when the crash detector fires. */
enum successor_action {
	SUCC_RFC_SKEW, /* no successor named: as a priority-0 advert (Skew_Time) */
	SUCC_TAKE_NOW, /* we are the named successor: take over at once */
	SUCC_RFC_WAIT, /* another node is named: keep Master_Down_Interval */
};

/* What the BACKUP knows at the crash signal. */
struct successor_view {
	bool named;          /* the MASTER sent MSG_SUCCESSOR on this session */
	struct in_addr succ; /* its last one (0.0.0.0 = none) */
	struct in_addr self; /* our primary address */
	bool have_state;     /* we applied a snapshot from this MASTER */
	bool peer_closed;    /* EOF or reset without a BYE: its kernel answered
			      * (a timeout or a BYE "shutdown" is not that) */
};
enum successor_action successor_on_crash(const struct successor_view *v);

/* Issue 16: an instance other than the first ([vrrp NAME]) names no
 * successor, and a BACKUP does not know the other BACKUPs' priorities in
 * it.  Its MASTER's death may still be acted on at once when no other
 * node could act on it: ha.c asks this when peer_check.c's verdict on
 * that MASTER came. */
struct successor_inst_view {
	bool gone;         /* the MASTER's kernel refused its sync port (or reset
			    * before a word): its process is gone */
	bool first_master; /* we are MASTER of the first instance: every BACKUP
			    * that has our state holds a sync session to us */
	size_t others;     /* other live balancers we know (a session to us, or
			    * heard lately), the dead one not counted */
};
/* True: Master_Down_Timer = 0 (vrrp_alone_takeover); false: Skew_Time as
 * after priority 0 (gone) or the RFC timers (not gone). */
bool successor_inst_now(const struct successor_inst_view *v);

#endif
