/* vrrp_auth.h - which advertisement sources count in the election
 * (issue 20).
 *
 * VRRPv3 has no authentication (RFC 5798 section 9): any host on the link
 * can advertise priority 254 for our VRID and take the VIP away.  The
 * balancers already share a key (the sync channel's HMAC), so with
 * `[ha] interop = no` (the default) an advert counts only when its source
 * address belongs to a balancer that proved the key on the sync channel
 * within the last fresh_ms (VRRP_AUTH_FRESH_MS):
 *
 *   - a sync session whose HELLO echoed our nonce, sent under its own
 *     address as sender id (ha/sync_session.c), every message on such a
 *     session afterwards, and a BACKUP's such session to its MASTER while
 *     it is up;
 *   - a sync datagram that passed the MAC and replay checks and whose
 *     source address is its sender id (ha/sync.c).
 *
 * The wire stays standard VRRPv3.  Checking an advert is a look-up in
 * this table, never a round trip, so a takeover loses no time to it.
 *
 * An advert from a source not (or no longer) proven is dropped; the
 * latest one of each such source (a few sources) is kept aside, and when
 * that source proves the key it is handed back: a joining balancer whose
 * first adverts arrive before its HELLO is counted as soon as the HELLO
 * lands, not one advert interval later.
 *
 * A source whose sync messages fail our MAC is a balancer with another
 * key_file (or a forger that speaks our sync protocol).  It is remembered
 * apart (it cannot push a proven balancer out of the table): its adverts
 * never count, and a BACKUP does not take over from it while it
 * advertises (ha/vrrp.c, key_differs_advert).
 *
 * Pure: no clock (callers pass the loop time), no I/O, no allocation. */
#ifndef ANDROMEDA_VRRP_AUTH_H
#define ANDROMEDA_VRRP_AUTH_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vrrp_packet.h"

#define VRRP_AUTH_MAX_SOURCES   32 /* balancers remembered; the least recently proven goes */
#define VRRP_AUTH_MAX_HELD      4  /* unproven sources whose latest advert is kept */
#define VRRP_AUTH_MAX_DIFFERS   8  /* sources seen with another key; the stalest goes */
/* A proof counts this long.  The MASTER refreshes its BACKUPs from their
 * MSG_ALIVE (every advert interval), a BACKUP its MASTER from the
 * snapshots it multicasts (every second): five periods of margin.  A
 * source that lapses proves itself again on its next advert. */
#define VRRP_AUTH_FRESH_MS      5000
/* Adverts of one unproven source closer than this belong to one streak
 * (vrrp_auth_hold). */
#define VRRP_AUTH_STREAK_GAP_MS 1000

struct vrrp_auth_source {
	struct in_addr addr;
	uint64_t proven_ms; /* loop time of the last proof */
};

struct vrrp_auth_held {
	uint64_t at_ms;    /* loop time it arrived; 0 = slot empty */
	uint64_t first_ms; /* its source's first advert held (gaps under 1 s) */
	struct vrrp_advert adv;
};

struct vrrp_auth {
	uint32_t fresh_ms;
	struct vrrp_auth_source src[VRRP_AUTH_MAX_SOURCES];
	size_t nsrc;
	struct vrrp_auth_source differs[VRRP_AUTH_MAX_DIFFERS]; /* proven_ms: last bad MAC */
	size_t ndiffers;
	struct vrrp_auth_held held[VRRP_AUTH_MAX_HELD];
};

/* An empty table whose proofs last fresh_ms. */
void vrrp_auth_init(struct vrrp_auth *a, uint32_t fresh_ms);
/* addr proved the key at now_ms (adds or refreshes it; it no longer
 * differs). */
void vrrp_auth_prove(struct vrrp_auth *a, struct in_addr addr, uint64_t now_ms);
/* A sync message from addr failed our MAC at now_ms. */
void vrrp_auth_key_differs(struct vrrp_auth *a, struct in_addr addr, uint64_t now_ms);
/* addr sent a message that failed our MAC within fresh_ms before now_ms
 * and has not proven the key since. */
bool vrrp_auth_differs(const struct vrrp_auth *a, struct in_addr addr, uint64_t now_ms);
/* addr proved the key within fresh_ms before now_ms. */
bool vrrp_auth_ok(const struct vrrp_auth *a, struct in_addr addr, uint64_t now_ms);
/* Keep adv (from an unproven source) aside, replacing an older one from
 * the same source, else an empty slot, else the oldest held.  Returns how
 * long that source has been held without proving the key (0 for its
 * first advert; a gap of over VRRP_AUTH_STREAK_GAP_MS starts afresh): a
 * balancer with the key proves it within a round trip, a forger never. */
uint64_t vrrp_auth_hold(struct vrrp_auth *a, const struct vrrp_advert *adv, uint64_t now_ms);
/* The advert held for addr, if it arrived within three of its own
 * intervals (a live sender would have sent a newer one since): copied to
 * *out and released.  false if none (or too old: released too). */
bool vrrp_auth_take(struct vrrp_auth *a, struct in_addr addr, uint64_t now_ms,
		    struct vrrp_advert *out);

#endif
