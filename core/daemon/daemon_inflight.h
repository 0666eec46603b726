/* daemon_inflight.h - the seed's bitacora at a takeover (issue 15): while
 * MASTER, list the routing table's requests at a server every
 * SYNC_INFLIGHT_PERIOD_MS and hand the list to sync (ha/sync_inflight.h),
 * which replicates it; on becoming MASTER, journal the last list the dead
 * node sent, per server (JR_INFLIGHT, `andromedactl journal`).
 * docs/journal.md "In flight at a takeover". */
#ifndef ANDROMEDA_DAEMON_INFLIGHT_H
#define ANDROMEDA_DAEMON_INFLIGHT_H

struct loop;
struct ha;
struct sync;
struct workers;
struct djournal;
struct dinflight;

/* Start listing (the timer lists only while ha is MASTER).  Returns 0
 * or -ENOMEM. */
int dinflight_open(struct dinflight **out, struct loop *loop, struct workers *ws, struct ha *ha,
		   struct sync *sync);
/* Stop (NULL: no-op).  Before ha_destroy and sync_close. */
void dinflight_close(struct dinflight *di);
/* This node became MASTER: journal what the previous MASTER had in
 * flight, as last replicated (nothing if no list, or one older than a
 * few seconds). */
void dinflight_takeover(struct dinflight *di, struct djournal *dj);

#endif
