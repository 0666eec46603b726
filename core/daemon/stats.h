/* stats.h - the [stats] listener's routes (docs/observability.md):
 *
 *   GET /metrics      Prometheus text format 0.0.4 (stats_metrics.c)
 *   GET /status.json  exactly `andromedactl status --json` (the control
 *                     socket's "status" command, control_call())
 *   GET /             the HTML status page (stats_page.c)
 *
 * served by stats_http.c on the main loop; off unless [stats] listen is
 * set.  The auth file is read once, at start-up (before privileges are
 * dropped). */
#ifndef ANDROMEDA_STATS_H
#define ANDROMEDA_STATS_H

#include "stats_metrics.h"

struct loop;
struct control;
struct stats;

/* Start the listener of src->cfg->stats (src and ctl must outlive it).
 * Returns 0 or -errno (logged: the address, or the auth file, is bad). */
int stats_open(struct stats **out, struct loop *loop, const struct stats_sources *src,
	       struct control *ctl);
void stats_close(struct stats *s);

/* Read "user:password" from the first line of path into the expected
 * Authorization value (stats_http_auth_value).  0 or -errno, with why. */
int stats_load_auth(const char *path, char *out, size_t cap, char *why, size_t whylen);

#endif
