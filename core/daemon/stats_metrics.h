/* stats_metrics.h - GET /metrics: every counter of the daemon in the
 * Prometheus text format, families and labels after HAProxy's exporter
 * (andromeda_frontend_*, andromeda_backend_*, andromeda_server_*{server=})
 * plus andromeda_vrrp_*{instance=}, andromeda_sync_*, andromeda_process_*.
 * docs/observability.md lists each family.  It reads the rooms' plain
 * getters, as the ctl_*.c do for status. */
#ifndef ANDROMEDA_STATS_METRICS_H
#define ANDROMEDA_STATS_METRICS_H

#include "metrics.h"

struct config;
struct pool;
struct workers;
struct ha;
struct sync;
struct registry;
struct alog;

/* What a scrape reads.  Only cfg and pool are required; a NULL room
 * (standalone node, no registration, a unit test) leaves its families
 * out. */
struct stats_sources {
	const struct config *cfg;
	struct pool *pool;
	struct workers *workers;
	struct ha *ha;
	struct sync *sync;
	struct registry *registry;
	struct alog *const *alog; /* the daemon's, opened after the listener; *alog NULL = off */
	uint64_t last_scrape_us;  /* how long the previous scrape took to render */
};

/* Append the whole exposition to m (main thread: it walks the pool and
 * asks each proxy thread for its counters). */
void stats_metrics_render(const struct stats_sources *src, struct mtext *m);

#endif
