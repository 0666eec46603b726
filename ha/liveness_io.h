/* liveness_io.h - the fast liveness exchange on the sync port (issue 15),
 * for ha/sync.c only: the timers, MSG_LIVENESS out and in, and the last
 * check of a silent MASTER (liveness.h has the rules, docs/vrrp.md "Fast
 * liveness" the design).
 *
 * Single-threaded (the daemon's event loop).  Sends through the sync
 * module's UDP socket, so the datagrams are authenticated and
 * anti-replay checked like every sync message. */
#ifndef ANDROMEDA_LIVENESS_IO_H
#define ANDROMEDA_LIVENESS_IO_H

#include <netinet/in.h>

#include "liveness.h"
#include "msg.h"
#include "sync_int.h"

/* Start the exchange (s->cfg->ha.liveness_interval_ms; 0: off, nothing
 * runs).  Sets s->live.  0 or -ENOMEM. */
int liveness_open(struct sync *s);
/* Stop it and free s->live (NULL is a no-op). */
void liveness_close(struct sync *s);
/* The election moved (sync_role_changed): send at once in the new role. */
void liveness_role_changed(struct sync *s);
/* A MSG_LIVENESS datagram (verified, fresh) from its sender. */
void liveness_rx(struct sync *s, const struct msg *m);
/* The status; all zero (interval 0) when off. */
void liveness_get_status(const struct sync *s, struct liveness_status *out);

#endif
