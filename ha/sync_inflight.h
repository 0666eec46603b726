/* sync_inflight.h - the requests in flight on the MASTER, by request id
 * and server, replicated to the BACKUPs (MSG_INFLIGHT), so that the node
 * that takes over after a crash can journal which requests the dead node
 * had at which servers (issue 15, the seed's bitacora; docs/journal.md
 * "In flight at a takeover").  An operator matches those ids against the
 * backends' logs (X-Request-Id).
 *
 * Cheap by construction: the daemon lists the routing table every
 * SYNC_INFLIGHT_PERIOD_MS (one walk of each proxy thread's table); the
 * MASTER multicasts the list only when it changed, or every
 * SYNC_INFLIGHT_REPEAT_MS, in one datagram: at most SYNC_INFLIGHT_MAX
 * requests and what fits in MSG_MAX_PAYLOAD, with the total so that what
 * did not fit is counted.  Requests shorter than the period may not be
 * listed at all: the list is for the slow ones, which are the ones a
 * crash leaves in doubt.
 *
 * Payload (network byte order):
 *   0  8  wall-clock time of the list, unix ms
 *   8  4  requests in flight at a server, listed or not
 *   12 2  n listed
 *   then n times: 1 server name length, name, 1 id length, id */
#ifndef ANDROMEDA_SYNC_INFLIGHT_H
#define ANDROMEDA_SYNC_INFLIGHT_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define SYNC_INFLIGHT_PERIOD_MS 100
#define SYNC_INFLIGHT_REPEAT_MS 1000
#define SYNC_INFLIGHT_MAX       64
#define SYNC_INFLIGHT_ID_MAX    64 /* X-Request-Id: 1..64 visible characters */

struct sync;
struct msg;

struct sync_inflight_req {
	char server[CFG_NAME_MAX];
	char id[SYNC_INFLIGHT_ID_MAX + 1];
};

struct sync_inflight {
	uint64_t at_ms; /* wall clock, when listed */
	uint32_t total; /* in flight at a server, listed or not */
	unsigned n;     /* listed in req[] */
	struct sync_inflight_req req[SYNC_INFLIGHT_MAX];
};

/* Codec (pure).  Encode as many of l's requests as fit in cap (the count
 * written says how many): the length, or -ENOSPC if not even the header
 * fits.  Decode: 0, or -EBADMSG (truncated, too many, a name or id empty,
 * too long or not printable). */
int sync_inflight_encode(const struct sync_inflight *l, uint8_t *out, size_t cap);
int sync_inflight_decode(const uint8_t *in, size_t len, struct sync_inflight *out);

/* MASTER: the routing table's requests at a server now (the daemon's
 * list); sent when it differs from the last one sent, or every
 * SYNC_INFLIGHT_REPEAT_MS.  A no-op on a node that is not MASTER. */
void sync_inflight_publish(struct sync *s, const struct sync_inflight *l);

/* The new MASTER, at takeover: the last list received from another node
 * (its sender in *from, its age in *age_ms by our clock), which is then
 * forgotten.  0, or -ENOENT if there is none. */
int sync_inflight_take(struct sync *s, struct sync_inflight *out, struct in_addr *from,
		       uint64_t *age_ms);

/* sync.c: a MSG_INFLIGHT received (verified, fresh). */
void sync_inflight_rx(struct sync *s, const struct msg *m);
void sync_inflight_free(struct sync *s);

#endif
